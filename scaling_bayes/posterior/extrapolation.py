"""Structural (model) uncertainty of forecasts beyond the data: the error-growth term.

With iid noise the posterior of a law narrows as runs are added, even when the law is
misspecified, so its intervals say nothing about how wrong the *law* becomes as a forecast moves
away from the data. Measured on held-out larger runs of real sweeps this matters more than
parameter uncertainty (see ``benchmarks/calibration``).

The term added here is a random **drift of the log-loss beyond the training range**, one per
posterior draw ``s`` and input ``v``::

    delta_s(x) = kappa_s * sum_v z_sv * e_v(x),      z_sv ~ N(0, 1)

where ``e_v(x)`` is the signed distance of ``x``'s input ``v`` outside the range of the training
data, in decades (``log10(v / max_v)`` above it, ``log10(v / min_v)`` below it, 0 inside). Its sd
is ``kappa * ||e(x)||``: zero inside the data, growing linearly with distance, like an exponent
that drifts by ``kappa`` beyond the data. One drift per draw is shared by all points, so forecast
fans are coherent curves (not independent noise at each point).

``kappa`` (log-loss per decade) is learned from the user's own data by within-data extrapolation
backtests (:mod:`scaling_bayes.inference.extrapolation`): fit the smaller runs, predict the larger
ones, and see how much the errors exceed the fit's own uncertainty as the distance grows. Its
posterior lives on a grid (:class:`Extrapolation`), under a half-normal prior (scale
:data:`KAPPA_PRIOR_SCALE`) that dominates when the data have too few sizes for such backtests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["KAPPA_PRIOR_SCALE", "Extrapolation", "kappa_posterior", "range_excess"]

#: Half-normal prior scale of ``kappa`` (log-loss per decade of extrapolation): ~2% per decade.
KAPPA_PRIOR_SCALE = 0.02
#: Grid of ``kappa`` values of the posterior (log-loss per decade).
KAPPA_GRID = np.linspace(0.0, 0.2, 201)
#: Mixed with a fit's seed to seed the drift draws (a stream of their own).
_DRIFT_STREAM = 0x4452_4946


def range_excess(values, lo: float, hi: float) -> np.ndarray:
    """Signed decades of ``values`` outside ``[lo, hi]`` (0 inside)."""
    lv = np.log10(np.asarray(values, dtype=float))
    return np.where(lv > hi, lv - hi, np.where(lv < lo, lv - lo, 0.0))


def kappa_posterior(err, var, dist2, weight, *, nu: float | None = None,
                    prior_scale: float = KAPPA_PRIOR_SCALE,
                    grid: np.ndarray = KAPPA_GRID) -> np.ndarray:
    """Grid posterior of ``kappa`` from held-out errors.

    ``err``: log-loss errors (observed - predictive median); ``var``: the squared predictive
    scale of the fit that made them (parameter variance plus the likelihood's ``sigma^2``);
    ``dist2``: squared distance in decades; ``weight``: weight of each error in the likelihood.
    ``err_i ~ t_nu(0, sqrt(var_i + kappa^2 dist2_i))`` (Normal for ``nu=None``): the fit's own
    likelihood, so that an outlier the fit shrugs off does not read as extrapolation error.
    """
    err, var, dist2, weight = (np.asarray(a, dtype=float) for a in (err, var, dist2, weight))
    logp = -0.5 * (grid / prior_scale) ** 2
    if err.size:
        tot = var[None, :] + grid[:, None] ** 2 * dist2[None, :]
        z2 = err[None, :] ** 2 / tot
        core = -0.5 * z2 if nu is None else -0.5 * (nu + 1) * np.log1p(z2 / nu)
        ll = core - 0.5 * np.log(tot)
        logp = logp + (ll * weight[None, :]).sum(axis=1)
    p = np.exp(logp - logp.max())
    return p / p.sum()


@dataclass(frozen=True)
class Extrapolation:
    """The error-growth term of a fit (see the module docstring).

    Attributes
    ----------
    log10_range
        ``{input: (log10 min, log10 max)}`` of the training data.
    kappa_grid, kappa_prob
        Grid posterior of ``kappa`` (log-loss per decade).
    info
        What the backtests saw: number of backtests and held-out points, the prior scale.
    """

    log10_range: dict[str, tuple[float, float]]
    kappa_grid: np.ndarray
    kappa_prob: np.ndarray
    info: dict[str, Any]

    # ------------------------------------------------------------------ summaries
    @property
    def kappa_median(self) -> float:
        c = np.cumsum(self.kappa_prob)
        return float(self.kappa_grid[np.searchsorted(c, 0.5)])

    def kappa_quantile(self, q: float) -> float:
        c = np.cumsum(self.kappa_prob)
        return float(self.kappa_grid[min(np.searchsorted(c, q), len(c) - 1)])

    def describe(self) -> str:
        """One line for summaries."""
        n = self.info.get("n_backtests", 0)
        src = (f"{n} within-data backtest{'s' if n != 1 else ''} "
               f"({self.info.get('n_points', 0)} held-out runs)" if n else
               "the prior only (too few distinct sizes for within-data backtests)")
        return (f"extrapolation error grows by {100 * self.kappa_median:.2g}% of the loss per "
                f"decade beyond the data (90% [{100 * self.kappa_quantile(0.05):.2g}, "
                f"{100 * self.kappa_quantile(0.95):.2g}]), learned from {src}")

    # ------------------------------------------------------------------ draws
    def kappa_draws(self, n: int, seed: int) -> np.ndarray:
        """``n`` draws of ``kappa`` (inverse CDF on the grid, linear within cells)."""
        rng = np.random.default_rng([int(seed), _DRIFT_STREAM])
        u = rng.random(n)
        c = np.concatenate([[0.0], np.cumsum(self.kappa_prob)])
        g = np.concatenate([[self.kappa_grid[0]], self.kappa_grid])
        return np.interp(u * c[-1], c, g)

    def excess(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Signed decades outside the training range, per input (the inputs' shapes)."""
        return {v: range_excess(inputs[v], *self.log10_range[v])
                for v in self.log10_range if v in inputs}

    def offsets(self, inputs: Mapping[str, np.ndarray], n_draws: int, seed: int, *,
                paired: bool = False) -> np.ndarray:
        """Drift of log-loss for ``n_draws`` posterior draws at ``inputs``.

        ``inputs`` maps inputs to arrays of one shape (the points); the result is
        ``(n_draws, *points)``. With ``paired=True`` the inputs are ``(n_draws, *points)``
        already (each draw at its own point, e.g. its own compute-optimal N and D).
        """
        ex = self.excess(inputs)
        kappa = self.kappa_draws(n_draws, seed)
        rng = np.random.default_rng([int(seed), _DRIFT_STREAM, 1])
        z = rng.standard_normal((len(self.log10_range), n_draws))
        out = None
        for j, v in enumerate(self.log10_range):
            if v not in ex:
                continue
            e = ex[v]
            if not paired:
                e = e[None, ...]
            term = (kappa * z[j]).reshape((n_draws,) + (1,) * (e.ndim - 1)) * e
            out = term if out is None else out + term
        if out is None:
            shape = next(iter(inputs.values())).shape
            return np.zeros(shape if paired else (n_draws, *shape))
        return out

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        return {"log10_range": {k: [float(a), float(b)] for k, (a, b) in
                                self.log10_range.items()},
                "kappa_grid": [float(v) for v in self.kappa_grid],
                "kappa_prob": [float(v) for v in self.kappa_prob],
                "info": self.info}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Extrapolation:
        return cls(log10_range={k: (float(a), float(b)) for k, (a, b) in
                                d["log10_range"].items()},
                   kappa_grid=np.asarray(d["kappa_grid"], dtype=float),
                   kappa_prob=np.asarray(d["kappa_prob"], dtype=float),
                   info=dict(d.get("info", {})))


def of_fit(fit) -> Extrapolation | None:
    """The fit's error-growth term, or ``None`` (fits made with ``extrapolation="none"``, and
    files written before it existed)."""
    meta = getattr(fit, "meta", None) or {}
    d = meta.get("extrapolation")
    return Extrapolation.from_dict(d) if d else None
