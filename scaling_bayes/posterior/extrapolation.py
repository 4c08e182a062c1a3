"""Structural (model) uncertainty of forecasts beyond the data: the error-growth term.

With iid noise the posterior of a law narrows as runs are added, even when the law is
misspecified, so its intervals say nothing about how wrong the *law* becomes as a forecast moves
away from the data. Measured on held-out larger runs of real sweeps this matters more than
parameter uncertainty (see ``benchmarks/calibration``).

The term added here has two parts, both zero inside the range of the training data. With
``e_v(x)`` the signed distance of ``x``'s input ``v`` outside that range, in decades
(``log10(v / max_v)`` above it, ``log10(v / min_v)`` below it, 0 inside; for a law of ``N`` and
``D`` the product ``N*D`` (compute) and the ratio ``D/N`` (tokens per parameter) are two more
such dimensions, so a run whose N and D each lie inside the data but whose compute is beyond it,
the large-N, large-D corner of an IsoFLOP grid, or whose allocation is more under- or
over-trained than any run in the data, counts as an extrapolation) and ``d(x) = ||e(x)||``, posterior draw ``s`` gets::

    delta_s(x) = kappa_s * sum_v z_sv * e_v(x)  +  tau_s * min(1, d(x)/0.1) * w_s(x)
                 +  bias_s * d(x)

* a **drift** (``z_sv`` standard Normal, or Student-t with the fit's ``nu`` when the likelihood
  is Student-t: the error model the backtests fitted; one per draw and dimension, shared by all
  points): scale
  ``kappa * d``, growing linearly with the distance like an exponent that drifts by ``kappa``
  beyond the data; forecast fans are coherent curves;
* an **edge misfit** (``w_s(x)`` of the same kind, per draw and point): a run beyond the data is
  off the law by ``tau`` (scale) even just past the edge (a new size has its own misfit, and the law's
  curvature at the edge is not its curvature inside), ramping in over the first 0.1 decade.

* optionally a **shift** ``bias`` per decade (how much larger runs came out better or worse
  than forecast in the user's own backtests); off by default (:data:`BIAS_GRID`), because it
  measured worse.

``tau``, ``kappa`` and ``bias`` (log-loss, and log-loss per decade) are learned from the user's
own data by within-data extrapolation backtests (:mod:`scaling_bayes.inference.extrapolation`):
fit the smaller runs, predict the larger ones, and see how much the errors exceed the fit's own
uncertainty (and in which direction) as the distance grows. Their joint posterior lives on a grid
(:class:`Extrapolation`), under half-normal priors (scales :data:`TAU_PRIOR_SCALE`,
:data:`KAPPA_PRIOR_SCALE`) and a Normal one (:data:`BIAS_PRIOR_SCALE`) that dominate when the
data have too few sizes for such backtests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BIAS_PRIOR_SCALE", "KAPPA_PRIOR_SCALE", "TAU_PRIOR_SCALE", "Extrapolation",
           "excess", "growth_posterior", "kappa_posterior", "log10_range", "range_dims",
           "range_excess"]

#: Half-normal prior scale of ``kappa`` (log-loss per decade of extrapolation): 4% per decade.
#: With tau's 0.02 chosen on benchmarks/calibration from two settings tried (0.02/0.01 gave
#: pooled 90% coverage 0.84, 0.04/0.02 gave 0.86); it matters most for data with few sizes.
KAPPA_PRIOR_SCALE = 0.04
#: Grid of ``kappa`` values of the posterior (log-loss per decade).
KAPPA_GRID = np.linspace(0.0, 0.3, 121)
#: Half-normal prior scale of ``tau``, the misfit of a run just beyond the data (log-loss).
TAU_PRIOR_SCALE = 0.02
#: Grid of ``tau`` values of the posterior.
TAU_GRID = np.linspace(0.0, 0.1, 41)
#: Normal prior scale of ``bias``, the mean error per decade beyond the data (log-loss).
BIAS_PRIOR_SCALE = 0.02
#: Grid of ``bias`` values of the posterior: ``[0]``, i.e. no shift, by default. A learned shift
#: (``np.linspace(-0.15, 0.15, 61)``) was measured on benchmarks/calibration and made coverage,
#: CRPS and errors worse (pooled 90% coverage 0.84 -> 0.79): a shift learned on the smaller runs
#: does not carry to the larger ones.
BIAS_GRID = np.array([0.0])
#: Held-out points per block of the grid likelihood in :func:`growth_posterior`.
_POINTS_BLOCK = 32
#: Distance (decades) over which the edge misfit ``tau`` ramps up from 0 at the data's edge.
EDGE = 0.1
#: Mixed with a fit's seed to seed the drift draws (a stream of their own).
_DRIFT_STREAM = 0x4452_4946


def range_excess(values, lo: float, hi: float) -> np.ndarray:
    """Signed decades of ``values`` outside ``[lo, hi]`` (0 inside)."""
    lv = np.log10(np.asarray(values, dtype=float))
    return np.where(lv > hi, lv - hi, np.where(lv < lo, lv - lo, 0.0))


def range_dims(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The range dimensions of ``inputs``: the inputs themselves, and with ``N`` and ``D`` also
    ``"ND"`` (N*D, compute up to the factor 6) and ``"D/N"`` (tokens per parameter)."""
    out = {v: np.asarray(a, dtype=float) for v, a in inputs.items()}
    if "N" in out and "D" in out:
        out["ND"] = out["N"] * out["D"]
        out["D/N"] = out["D"] / out["N"]
    return out


def log10_range(dims: Mapping[str, np.ndarray]) -> dict[str, tuple[float, float]]:
    """``{dimension: (log10 min, log10 max)}`` of :func:`range_dims` values."""
    return {v: (float(np.log10(a).min()), float(np.log10(a).max())) for v, a in dims.items()}


def excess(dims: Mapping[str, np.ndarray], ranges: Mapping[str, tuple[float, float]]
           ) -> dict[str, np.ndarray]:
    """Signed decades of each dimension of ``dims`` outside its range in ``ranges`` (the
    dimensions both have)."""
    return {v: range_excess(dims[v], *r) for v, r in ranges.items() if v in dims}


def ramp(dist) -> np.ndarray:
    """``min(1, dist / EDGE)``: how much of the edge misfit a point at ``dist`` decades gets."""
    return np.minimum(1.0, np.asarray(dist, dtype=float) / EDGE)


def growth_posterior(err, var, dist2, weight, *, nu: float | None = None,
                     prior_scale: float = KAPPA_PRIOR_SCALE,
                     tau_prior_scale: float = TAU_PRIOR_SCALE,
                     bias_prior_scale: float = BIAS_PRIOR_SCALE,
                     grid: np.ndarray = KAPPA_GRID,
                     tau_grid: np.ndarray = TAU_GRID,
                     bias_grid: np.ndarray = BIAS_GRID) -> np.ndarray:
    """Joint grid posterior of ``(bias, tau, kappa)`` from held-out errors, of shape
    ``(len(bias_grid), len(tau_grid), len(grid))``.

    ``err``: log-loss errors (observed - predictive median); ``var``: the squared predictive
    scale of the fit that made them (parameter variance plus the likelihood's ``sigma^2``);
    ``dist2``: squared distance in decades; ``weight``: weight of each error in the likelihood.
    ``err_i ~ t_nu(bias d_i, sqrt(var_i + tau^2 ramp(d_i)^2 + kappa^2 d_i^2))`` (Normal for
    ``nu=None``): the fit's own likelihood, so that an outlier the fit shrugs off does not read
    as extrapolation error. Half-normal priors on ``tau`` and ``kappa``, a Normal prior on
    ``bias``.
    """
    err, var, dist2, weight = (np.asarray(a, dtype=float) for a in (err, var, dist2, weight))
    bias_grid = np.atleast_1d(np.asarray(bias_grid, dtype=float))
    logp = (-0.5 * (tau_grid[None, :, None] / tau_prior_scale) ** 2
            - 0.5 * (grid[None, None, :] / prior_scale) ** 2
            - 0.5 * (bias_grid[:, None, None] / bias_prior_scale) ** 2)
    if err.size:
        d = np.sqrt(dist2)
        r2 = ramp(d) ** 2
        t2, k2 = tau_grid[:, None, None] ** 2, grid[None, :, None] ** 2
        # (tau, kappa, points) in blocks of _POINTS_BLOCK points: the temporaries stay in the
        # CPU cache (3-15x faster than one pass over all points); one bias at a time
        for s in range(0, err.size, _POINTS_BLOCK):
            sl = slice(s, s + _POINTS_BLOCK)
            tot = var[sl] + t2 * r2[sl] + k2 * dist2[sl]
            log_tot = np.log(tot)
            for b, m in enumerate(bias_grid):
                z2 = (err[sl] - m * d[sl]) ** 2 / tot
                core = z2 if nu is None else (nu + 1) * np.log1p(z2 / nu)
                logp[b] -= 0.5 * ((core + log_tot) @ weight[sl])
    p = np.exp(logp - logp.max())
    p = np.where(p > 1e-12, p, 0.0)  # cells below 1e-12 of the mode: none (files store the rest)
    return p / p.sum()


def kappa_posterior(err, var, dist2, weight, **kw) -> np.ndarray:
    """Marginal grid posterior of ``kappa`` (:func:`growth_posterior` summed over the others)."""
    return growth_posterior(err, var, dist2, weight, **kw).sum(axis=(0, 1))


@dataclass(frozen=True)
class Extrapolation:
    """The error-growth term of a fit (see the module docstring).

    Attributes
    ----------
    log10_range
        ``{dimension: (log10 min, log10 max)}`` of the training data.
    kappa_grid, tau_grid, bias_grid, prob
        Joint grid posterior of ``(bias, tau, kappa)``, ``prob`` of shape ``(len(bias_grid),
        len(tau_grid), len(kappa_grid))``.
    info
        What the backtests saw: number of backtests and held-out points, the prior scales.
    """

    log10_range: dict[str, tuple[float, float]]
    kappa_grid: np.ndarray
    tau_grid: np.ndarray
    bias_grid: np.ndarray
    prob: np.ndarray
    info: dict[str, Any]

    # ------------------------------------------------------------------ summaries
    @property
    def kappa_prob(self) -> np.ndarray:
        return self.prob.sum(axis=(0, 1))

    @property
    def tau_prob(self) -> np.ndarray:
        return self.prob.sum(axis=(0, 2))

    @property
    def bias_prob(self) -> np.ndarray:
        return self.prob.sum(axis=(1, 2))

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

    @property
    def bias_median(self) -> float:
        return self._q(self.bias_grid, self.bias_prob, 0.5)

    def describe(self) -> str:
        """One line for summaries."""
        n = self.info.get("n_backtests", 0)
        src = (f"{n} within-data backtest{'s' if n != 1 else ''} "
               f"({self.info.get('n_points', 0)} held-out runs)" if n else
               "the prior only (too few distinct sizes for within-data backtests)")
        shift = ("" if not np.any(self.bias_grid) else
                 f" and a shift of {100 * self.bias_median:+.2g}% per decade")
        return (f"beyond the data, forecasts carry a misfit of {100 * self.tau_median:.2g}% of "
                f"the loss plus {100 * self.kappa_median:.2g}% per decade (90% "
                f"[{100 * self.kappa_quantile(0.05):.2g}, "
                f"{100 * self.kappa_quantile(0.95):.2g}]){shift}, learned from {src}")

    # ------------------------------------------------------------------ draws
    def draws(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` joint draws ``(tau, kappa, bias)`` from the grid posterior (a cell, then
        uniform within it)."""
        rng = np.random.default_rng([int(seed), _DRIFT_STREAM])
        flat = self.prob.reshape(-1)
        cell = rng.choice(flat.size, size=n, p=flat / flat.sum())
        b, i, j = np.unravel_index(cell, self.prob.shape)

        def jitter(grid, k, floor):
            h = (grid[1] - grid[0]) if len(grid) > 1 else 0.0
            v = grid[k] + (rng.random(n) - 0.5) * h
            return np.maximum(0.0, v) if floor else v

        return (jitter(self.tau_grid, i, True), jitter(self.kappa_grid, j, True),
                jitter(self.bias_grid, b, False))

    def kappa_draws(self, n: int, seed: int) -> np.ndarray:
        return self.draws(n, seed)[1]

    def excess(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Signed decades outside the training range, per dimension (the inputs' shapes; see
        :func:`range_dims`)."""
        return excess(range_dims(inputs), self.log10_range)

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
        tau, kappa, bias = self.draws(n_draws, seed)
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
            dist = np.sqrt(d2)
        w = std(shape)
        return out + tau.reshape(col) * ramp(dist) * w + bias.reshape(col) * dist

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        flat = self.prob.reshape(-1)
        keep = np.flatnonzero(flat > 0)  # the posterior is concentrated: store its cells only
        return {"log10_range": {k: [float(a), float(b)] for k, (a, b) in
                                self.log10_range.items()},
                "kappa_grid": [float(v) for v in self.kappa_grid],
                "tau_grid": [float(v) for v in self.tau_grid],
                "bias_grid": [float(v) for v in self.bias_grid],
                "cells": [int(c) for c in keep], "p": [float(v) for v in flat[keep]],
                "info": self.info}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Extrapolation:
        kg, tg, bg = (np.asarray(d[k], dtype=float) for k in
                      ("kappa_grid", "tau_grid", "bias_grid"))
        prob = np.zeros(len(bg) * len(tg) * len(kg))
        prob[np.asarray(d["cells"], dtype=np.int64)] = np.asarray(d["p"], dtype=float)
        return cls(log10_range={k: (float(a), float(b)) for k, (a, b) in
                                d["log10_range"].items()},
                   kappa_grid=kg, tau_grid=tg, bias_grid=bg,
                   prob=prob.reshape(len(bg), len(tg), len(kg)), info=dict(d.get("info", {})))


def of_fit(fit) -> Extrapolation | None:
    """The fit's error-growth term, or ``None`` (fits made with ``extrapolation="none"``, and
    files written before it existed)."""
    meta = getattr(fit, "meta", None) or {}
    d = meta.get("extrapolation")
    return Extrapolation.from_dict(d) if d else None
