"""Structural (model) uncertainty of forecasts beyond the data: the error-growth term.

With iid noise the posterior of a law narrows as runs are added, even when the law is
misspecified, so its intervals say nothing about how wrong the *law* becomes as a forecast moves
away from the data. Measured on held-out larger runs of real sweeps this matters more than
parameter uncertainty (see ``benchmarks/calibration``).

The term added here has two parts, both zero inside the range of the training data. With
``e_v(x)`` the signed distance of ``x``'s input ``v`` outside that range, in decades
(``log10(v / max_v)`` above it, ``log10(v / min_v)`` below it, 0 inside; for a law of ``N`` and
``D`` the product ``N*D``, compute, is one more such dimension, so a run whose N and D each lie
inside the data but whose compute is beyond it, the large-N, large-D corner of an IsoFLOP grid,
counts as an extrapolation) and ``d(x) = ||e(x)||``, posterior draw ``s`` gets::

    delta_s(x) = kappa_s * sum_v z_sv * e_v(x)  +  tau_s * min(1, d(x)/0.1) * w_s(x)

* a **drift** (``z_sv`` standard Normal, or Student-t with the fit's ``nu`` when the likelihood
  is Student-t: the error model the backtests fitted; one per draw and dimension, shared by all
  points): scale
  ``kappa * d``, growing linearly with the distance like an exponent that drifts by ``kappa``
  beyond the data; forecast fans are coherent curves;
* an **edge misfit** (``w_s(x)`` of the same kind, per draw and point): a run beyond the data is
  off the law by ``tau`` (scale) even just past the edge (a new size has its own misfit, and the law's
  curvature at the edge is not its curvature inside), ramping in over the first 0.1 decade.

``tau`` and ``kappa`` (log-loss, and log-loss per decade) are learned from the user's own data by
within-data extrapolation backtests (:mod:`scaling_bayes.inference.extrapolation`): fit the
smaller runs, predict the larger ones, and see how much the errors exceed the fit's own
uncertainty as the distance grows. Their joint posterior lives on a grid
(:class:`Extrapolation`), under half-normal priors (scales :data:`TAU_PRIOR_SCALE`,
:data:`KAPPA_PRIOR_SCALE`) that dominate when the data have too few sizes for such backtests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["KAPPA_PRIOR_SCALE", "TAU_PRIOR_SCALE", "Extrapolation", "growth_posterior",
           "kappa_posterior", "range_excess"]

#: Half-normal prior scale of ``kappa`` (log-loss per decade of extrapolation): ~2% per decade.
KAPPA_PRIOR_SCALE = 0.02
#: Grid of ``kappa`` values of the posterior (log-loss per decade).
KAPPA_GRID = np.linspace(0.0, 0.3, 151)
#: Half-normal prior scale of ``tau``, the misfit of a run just beyond the data (log-loss).
TAU_PRIOR_SCALE = 0.01
#: Grid of ``tau`` values of the posterior.
TAU_GRID = np.linspace(0.0, 0.1, 101)
#: Distance (decades) over which the edge misfit ``tau`` ramps up from 0 at the data's edge.
EDGE = 0.1
#: Mixed with a fit's seed to seed the drift draws (a stream of their own).
_DRIFT_STREAM = 0x4452_4946


def range_excess(values, lo: float, hi: float) -> np.ndarray:
    """Signed decades of ``values`` outside ``[lo, hi]`` (0 inside)."""
    lv = np.log10(np.asarray(values, dtype=float))
    return np.where(lv > hi, lv - hi, np.where(lv < lo, lv - lo, 0.0))


def ramp(dist) -> np.ndarray:
    """``min(1, dist / EDGE)``: how much of the edge misfit a point at ``dist`` decades gets."""
    return np.minimum(1.0, np.asarray(dist, dtype=float) / EDGE)


def growth_posterior(err, var, dist2, weight, *, nu: float | None = None,
                     prior_scale: float = KAPPA_PRIOR_SCALE,
                     tau_prior_scale: float = TAU_PRIOR_SCALE,
                     grid: np.ndarray = KAPPA_GRID,
                     tau_grid: np.ndarray = TAU_GRID) -> np.ndarray:
    """Joint grid posterior of ``(tau, kappa)`` from held-out errors, ``(len(tau_grid),
    len(grid))``.

    ``err``: log-loss errors (observed - predictive median); ``var``: the squared predictive
    scale of the fit that made them (parameter variance plus the likelihood's ``sigma^2``);
    ``dist2``: squared distance in decades; ``weight``: weight of each error in the likelihood.
    ``err_i ~ t_nu(0, sqrt(var_i + tau^2 ramp(d_i)^2 + kappa^2 d_i^2))`` (Normal for
    ``nu=None``): the fit's own likelihood, so that an outlier the fit shrugs off does not read
    as extrapolation error. Half-normal priors on both.
    """
    err, var, dist2, weight = (np.asarray(a, dtype=float) for a in (err, var, dist2, weight))
    logp = (-0.5 * (tau_grid[:, None] / tau_prior_scale) ** 2
            - 0.5 * (grid[None, :] / prior_scale) ** 2)
    if err.size:
        r2 = ramp(np.sqrt(dist2)) ** 2
        for i, t in enumerate(tau_grid):  # one row of tau at a time: memory (kappa x points)
            tot = var[None, :] + t**2 * r2[None, :] + grid[:, None] ** 2 * dist2[None, :]
            z2 = err[None, :] ** 2 / tot
            core = -0.5 * z2 if nu is None else -0.5 * (nu + 1) * np.log1p(z2 / nu)
            logp[i] += ((core - 0.5 * np.log(tot)) * weight[None, :]).sum(axis=1)
    p = np.exp(logp - logp.max())
    return p / p.sum()


def kappa_posterior(err, var, dist2, weight, **kw) -> np.ndarray:
    """Marginal grid posterior of ``kappa`` (:func:`growth_posterior` summed over ``tau``)."""
    return growth_posterior(err, var, dist2, weight, **kw).sum(axis=0)


@dataclass(frozen=True)
class Extrapolation:
    """The error-growth term of a fit (see the module docstring).

    Attributes
    ----------
    log10_range
        ``{dimension: (log10 min, log10 max)}`` of the training data.
    kappa_grid, tau_grid, prob
        Joint grid posterior of ``(tau, kappa)``, ``prob`` of shape ``(len(tau_grid),
        len(kappa_grid))``.
    info
        What the backtests saw: number of backtests and held-out points, the prior scales.
    """

    log10_range: dict[str, tuple[float, float]]
    kappa_grid: np.ndarray
    tau_grid: np.ndarray
    prob: np.ndarray
    info: dict[str, Any]

    # ------------------------------------------------------------------ summaries
    @property
    def kappa_prob(self) -> np.ndarray:
        return self.prob.sum(axis=0)

    @property
    def tau_prob(self) -> np.ndarray:
        return self.prob.sum(axis=1)

    @staticmethod
    def _q(grid, prob, q: float) -> float:
        c = np.cumsum(prob)
        return float(grid[min(np.searchsorted(c, q), len(c) - 1)])

    @property
    def kappa_median(self) -> float:
        return self._q(self.kappa_grid, self.kappa_prob, 0.5)

    def kappa_quantile(self, q: float) -> float:
        return self._q(self.kappa_grid, self.kappa_prob, q)

    @property
    def tau_median(self) -> float:
        return self._q(self.tau_grid, self.tau_prob, 0.5)

    def describe(self) -> str:
        """One line for summaries."""
        n = self.info.get("n_backtests", 0)
        src = (f"{n} within-data backtest{'s' if n != 1 else ''} "
               f"({self.info.get('n_points', 0)} held-out runs)" if n else
               "the prior only (too few distinct sizes for within-data backtests)")
        return (f"beyond the data, forecasts carry a misfit of {100 * self.tau_median:.2g}% of "
                f"the loss plus {100 * self.kappa_median:.2g}% per decade (90% "
                f"[{100 * self.kappa_quantile(0.05):.2g}, "
                f"{100 * self.kappa_quantile(0.95):.2g}]), learned from {src}")

    # ------------------------------------------------------------------ draws
    def draws(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` joint draws ``(tau, kappa)`` from the grid posterior (a cell, then uniform
        within it)."""
        rng = np.random.default_rng([int(seed), _DRIFT_STREAM])
        flat = self.prob.reshape(-1)
        cell = rng.choice(flat.size, size=n, p=flat / flat.sum())
        i, j = np.unravel_index(cell, self.prob.shape)

        def jitter(grid, k):
            h = (grid[1] - grid[0]) if len(grid) > 1 else 0.0
            return np.maximum(0.0, grid[k] + (rng.random(n) - 0.5) * h)

        return jitter(self.tau_grid, i), jitter(self.kappa_grid, j)

    def kappa_draws(self, n: int, seed: int) -> np.ndarray:
        return self.draws(n, seed)[1]

    def excess(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Signed decades outside the training range, per input (the inputs' shapes); the
        dimension ``"ND"`` is ``N * D`` (compute up to the factor 6)."""
        values = dict(inputs)
        if "ND" in self.log10_range and "N" in inputs and "D" in inputs:
            values["ND"] = np.asarray(inputs["N"], dtype=float) * np.asarray(inputs["D"],
                                                                               dtype=float)
        return {v: range_excess(values[v], *self.log10_range[v])
                for v in self.log10_range if v in values}

    def offsets(self, inputs: Mapping[str, np.ndarray], n_draws: int, seed: int, *,
                paired: bool = False) -> np.ndarray:
        """Structural error of log-loss for ``n_draws`` posterior draws at ``inputs``: the
        drift (one per draw, shared by all points) plus the edge misfit (one per draw and
        point).

        ``inputs`` maps inputs to arrays of one shape (the points); the result is
        ``(n_draws, *points)``. With ``paired=True`` the inputs are ``(n_draws, *points)``
        already (each draw at its own point, e.g. its own compute-optimal N and D).
        """
        ex = self.excess(inputs)
        shape0 = np.shape(next(iter(inputs.values())))
        shape = shape0 if paired else (n_draws, *shape0)
        tau, kappa = self.draws(n_draws, seed)
        rng = np.random.default_rng([int(seed), _DRIFT_STREAM, 1])
        nu = self.info.get("nu")
        std = (rng.standard_normal if not nu else
               (lambda size: rng.standard_t(float(nu), size)))
        z = std((len(self.log10_range), n_draws))
        col = (n_draws,) + (1,) * (len(shape) - 1)
        out = np.zeros(shape)
        d2 = np.zeros(shape)
        for j, v in enumerate(self.log10_range):
            if v not in ex:
                continue
            e = np.broadcast_to(ex[v] if paired else ex[v][None, ...], shape)
            out = out + (kappa * z[j]).reshape(col) * e
            d2 = d2 + e**2
        with np.errstate(invalid="ignore"):
            edge = ramp(np.sqrt(d2))
        w = std(shape)
        return out + tau.reshape(col) * edge * w

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        return {"log10_range": {k: [float(a), float(b)] for k, (a, b) in
                                self.log10_range.items()},
                "kappa_grid": [float(v) for v in self.kappa_grid],
                "tau_grid": [float(v) for v in self.tau_grid],
                "prob": [[float(v) for v in row] for row in self.prob],
                "info": self.info}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Extrapolation:
        return cls(log10_range={k: (float(a), float(b)) for k, (a, b) in
                                d["log10_range"].items()},
                   kappa_grid=np.asarray(d["kappa_grid"], dtype=float),
                   tau_grid=np.asarray(d["tau_grid"], dtype=float),
                   prob=np.asarray(d["prob"], dtype=float),
                   info=dict(d.get("info", {})))


def of_fit(fit) -> Extrapolation | None:
    """The fit's error-growth term, or ``None`` (fits made with ``extrapolation="none"``, and
    files written before it existed)."""
    meta = getattr(fit, "meta", None) or {}
    d = meta.get("extrapolation")
    return Extrapolation.from_dict(d) if d else None
