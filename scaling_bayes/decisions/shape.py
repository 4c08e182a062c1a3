"""Architecture shape decisions: what a fitted shape law says about width vs depth.

Kaplan et al. (2020, §3.1) found that the loss depends on the parameter count and only weakly
on the aspect ratio ``d_model / n_layers``; Tay et al. (2021) found that depth and width matter.
The shape laws (``chinchilla_shape``, ``kaplan_shape``; see :func:`scaling_bayes.laws.with_shape`)
multiply the reducible loss by ``exp(shape_slope * u + shape_curv * u^2)``, ``u = log2(aspect /
64)``, with priors centred on "no effect". This module turns such a fit into what users ask:

* :func:`shape_effect`: loss penalty against the best aspect ratio, and per doubling of the
  aspect ratio, at a given (N, D), with credible intervals;
* :func:`best_aspect`: the posterior of the best aspect ratio (within the data's range);
* :func:`at_aspect`: the fit as a fit of the base law for models of one aspect ratio (so that
  :func:`~scaling_bayes.compute_optimal`, :func:`~scaling_bayes.predict` apply);
* :func:`shape_range`: aspect ratios within a loss tolerance of the best at the compute-optimal
  model size for a budget, with the widths and depths they mean (:class:`ParamCount`).

Fitting the law with and without the shape term and comparing them is the study in
:mod:`scaling_bayes.evaluation.shape_study`; the figure is :func:`scaling_bayes.plots.plot_shape`.

Given N, the aspect ratio fixes the shape (``N ≈ a * depth * width^2 + b * width``), so one
covariate describes width vs depth. Effects are measured over the data's aspect-ratio range;
outside it they are extrapolations and are not reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from scaling_bayes._core.env import enable_x64_on_cpu, load_jax
from scaling_bayes.decisions.allocation import compute_optimal
from scaling_bayes.laws import SHAPE_REF_ASPECT
from scaling_bayes.posterior.draws import law_on_draws

__all__ = [
    "ParamCount",
    "at_aspect",
    "best_aspect",
    "check_shape_fit",
    "default_aspects",
    "shape_draws",
    "shape_effect",
    "shape_range",
]


def _jax():
    enable_x64_on_cpu()
    return load_jax()


def check_shape_fit(fit) -> None:
    """Raise ``ValueError`` unless ``fit`` is a fit of a shape law."""
    if getattr(getattr(fit, "law", None), "reference_view", None) is None:
        name = getattr(getattr(fit, "law", None), "name", type(fit).__name__)
        raise ValueError(
            f"fit of law {name!r} has no shape term: fit a shape law ('chinchilla_shape', "
            "'kaplan_shape') or run scaling_bayes.shape_analysis"
        )


def _positive(name: str, value) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(value, dtype=float)).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number or numbers, got {value!r}") from None
    if a.size == 0 or not np.all(np.isfinite(a) & (a > 0)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return a


def _check_level(level) -> float:
    try:
        p = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0 < p < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return p


def _data_aspect_range(fit) -> tuple[float, float]:
    r = fit.data.get("aspect")
    return float(r.min()), float(r.max())


def shape_draws(fit) -> tuple[np.ndarray, np.ndarray]:
    """Flat posterior draws of ``shape_slope`` and ``shape_curv`` of a shape-law fit."""
    return (
        np.asarray(fit.posterior["shape_slope"], float).reshape(-1),
        np.asarray(fit.posterior["shape_curv"], float).reshape(-1),
    )


def _loss(fit, N, D, aspect) -> np.ndarray:
    """Mean loss per draw at broadcastable (N, D, aspect) arrays: shape (S, *broadcast)."""
    inp = {"N": N, "D": D, "aspect": aspect}
    return np.exp(law_on_draws(fit.law, fit.textbook_draws(), inp))


def _best_u(slope, curv, u_lo, u_hi) -> np.ndarray:
    """Per draw, the log2(aspect/64) minimising the shape factor on [u_lo, u_hi]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        u_star = np.where(curv > 0, -slope / (2 * curv), np.nan)
    inside = np.isfinite(u_star) & (u_star >= u_lo) & (u_star <= u_hi)
    s = lambda u: slope * u + curv * u * u  # noqa: E731
    edge = np.where(s(np.full_like(slope, u_lo)) <= s(np.full_like(slope, u_hi)), u_lo, u_hi)
    return np.where(inside, u_star, edge)


def _qcols(prefix: str, draws: np.ndarray, level: float) -> dict[str, np.ndarray]:
    lo, hi = (1 - level) / 2, (1 + level) / 2
    q = np.nanquantile(draws, [lo, 0.5, hi], axis=0)
    return {f"{prefix}_q{100 * lo:g}": q[0], f"{prefix}_q50": q[1], f"{prefix}_q{100 * hi:g}": q[2]}


def default_aspects(fit) -> np.ndarray:
    """Powers of two spanning the data's aspect ratios (ends included)."""
    lo, hi = _data_aspect_range(fit)
    k = np.arange(math.ceil(math.log2(lo)), math.floor(math.log2(hi)) + 1)
    return np.unique(np.concatenate([[lo], 2.0**k, [hi]]))


def shape_effect(
    fit,
    aspect=None,
    *,
    N: float | None = None,
    D: float | None = None,
    level: float = 0.9,
    tolerance: float = 0.01,
) -> pd.DataFrame:
    """Posterior loss penalty of each aspect ratio at one (N, D).

    Parameters
    ----------
    fit
        A fit of a shape law (``chinchilla_shape``, ``kaplan_shape``).
    aspect
        Aspect ratios d_model/n_layers to report (default: powers of two across the data).
    N, D
        Model size and tokens at which losses are compared (default: the data's geometric
        means).
    level
        Central credible level of the intervals.
    tolerance
        Relative loss excess used for the ``p_within_tol`` column (default 1%).

    Returns
    -------
    DataFrame indexed by ``aspect`` with ``penalty_pct_*`` (loss at this aspect ratio over the
    loss at the best aspect ratio within the data's range, in percent), ``per_doubling_pct_*``
    (change of the loss when the aspect ratio doubles from here, percent) and ``p_within_tol``
    (posterior probability that the penalty is at most ``tolerance``). ``attrs`` record N, D and
    the data's aspect range.
    """
    check_shape_fit(fit)
    level = _check_level(level)
    tol = float(tolerance)
    if not 0 < tol < 1:
        raise ValueError(f"tolerance must lie in (0, 1), got {tolerance!r}")
    r = default_aspects(fit) if aspect is None else _positive("aspect", aspect)
    N = (
        float(np.exp(np.mean(np.log(fit.data.get("N")))))
        if N is None
        else float(_positive("N", N)[0])
    )
    D = (
        float(np.exp(np.mean(np.log(fit.data.get("D")))))
        if D is None
        else float(_positive("D", D)[0])
    )
    lo, hi = _data_aspect_range(fit)
    slope, curv = shape_draws(fit)
    u_best = _best_u(
        slope, curv, math.log2(lo / SHAPE_REF_ASPECT), math.log2(hi / SHAPE_REF_ASPECT)
    )
    r_best = SHAPE_REF_ASPECT * 2.0**u_best
    L = _loss(fit, N, D, np.concatenate([r, 2 * r]))
    L_best = _loss_each(fit, N, D, r_best)
    penalty = L[:, : r.size] / L_best[:, None] - 1
    doubling = L[:, r.size :] / L[:, : r.size] - 1
    out = pd.DataFrame(
        {
            **_qcols("penalty_pct", 100 * penalty, level),
            **_qcols("per_doubling_pct", 100 * doubling, level),
            "p_within_tol": np.mean(penalty <= tol, axis=0),
        },
        index=pd.Index(r, name="aspect"),
    )
    out.attrs.update(N=N, D=D, aspect_range=(lo, hi), level=level, tolerance=tol, law=fit.law.name)
    return out


def _loss_each(fit, N, D, aspect_per_draw) -> np.ndarray:
    """Loss of draw s at (N, D, aspect_per_draw[s]): shape (S,)."""
    a = np.asarray(aspect_per_draw, dtype=float)
    inp = {"N": np.full_like(a, N), "D": np.full_like(a, D), "aspect": a}
    return np.exp(law_on_draws(fit.law, fit.textbook_draws(), inp, paired=True))


def best_aspect(fit, *, level: float = 0.9) -> pd.Series:
    """Posterior of the aspect ratio with the lowest loss, searched within the data's range.

    Returns a Series: ``median``, ``q_lo``, ``q_hi`` (central ``level`` interval),
    ``p_interior`` (share of draws whose optimum lies strictly inside the data's range rather
    than at an end: low values mean "the data do not bracket an optimum") and ``p_curved``
    (share of draws with a bowl, ``shape_curv > 0``), plus the data's range.
    """
    check_shape_fit(fit)
    level = _check_level(level)
    lo, hi = _data_aspect_range(fit)
    slope, curv = shape_draws(fit)
    u_lo, u_hi = math.log2(lo / SHAPE_REF_ASPECT), math.log2(hi / SHAPE_REF_ASPECT)
    u = _best_u(slope, curv, u_lo, u_hi)
    r = SHAPE_REF_ASPECT * 2.0**u
    q = np.quantile(r, [(1 - level) / 2, 0.5, (1 + level) / 2])
    return pd.Series(
        {
            "median": q[1],
            "q_lo": q[0],
            "q_hi": q[2],
            "p_interior": float(np.mean((u > u_lo) & (u < u_hi))),
            "p_curved": float(np.mean(curv > 0)),
            "data_min": lo,
            "data_max": hi,
        },
        name="best_aspect",
    )


def at_aspect(fit, aspect: float):
    """The fit as a fit of its base law for models of aspect ratio ``aspect``.

    The shape factor at ``aspect`` is folded into the base law's amplitudes draw by draw, so the
    result is an ordinary Chinchilla (or Kaplan) fit: :func:`~scaling_bayes.compute_optimal`,
    :func:`~scaling_bayes.predict` and the plots apply. The compute-optimal split of a budget
    does not depend on the aspect ratio (the factor scales the whole reducible loss); the loss
    does.
    """
    check_shape_fit(fit)
    r = float(_positive("aspect", aspect)[0])
    jnp = _jax().numpy
    base = fit.law.base_law
    shp = fit.posterior["shape_slope_ref"].shape
    phi = fit.law.reference_view(fit.posterior, fit.ref, r)
    ref = {k: fit.ref[k] for k in base.inputs}
    theta = base.to_textbook(
        {k: jnp.asarray(v_) for k, v_ in phi.items()}, {k: jnp.asarray(v_) for k, v_ in ref.items()}
    )
    posterior = {
        **phi,
        **{k: np.asarray(v_, float).reshape(shp) for k, v_ in theta.items()},
        "sigma": fit.posterior["sigma"],
    }
    priors = {k: v_ for k, v_ in fit.priors.items() if k in (*base.site_names, "sigma")}
    return replace(
        fit,
        law=base,
        posterior=posterior,
        ref=ref,
        priors=priors,
        meta={**fit.meta, "at_aspect": r, "shape_law": fit.law.name},
    )


# ----------------------------------------------------------------------------- parameter counts
@dataclass(frozen=True)
class ParamCount:
    """``N ≈ a * depth * width^2 + b * width``: parameters from a transformer's shape.

    ``a`` is the per-layer count in units of width² (12 for the textbook block with a 4x MLP;
    15 for Gemstones' gated MLP), ``b`` the embedding parameters per unit width (0 when N
    excludes embeddings; 2 x vocabulary for untied input and output embeddings).
    """

    a: float = 12.0
    b: float = 0.0
    source: str = "textbook transformer block, N without embeddings"

    @classmethod
    def from_data(cls, width, depth, N, source: str = "least squares on the data") -> ParamCount:
        """Least-squares ``a, b`` (relative errors) from observed shapes and counts."""
        w, d, n = (_positive(k, v) for k, v in (("width", width), ("depth", depth), ("N", N)))
        if not (w.size == d.size == n.size):
            raise ValueError("width, depth and N must have the same length")
        X = np.stack([d * w * w, w], axis=1) / n[:, None]
        if np.unique(np.round(w / d, 9)).size < 2 or w.size < 2:
            raise ValueError("need at least two distinct shapes to relate N to width and depth")
        coef, *_ = np.linalg.lstsq(X, np.ones_like(n), rcond=None)
        a, b = (float(c) for c in coef)
        if b < 0:  # no embeddings in the count: refit the body alone
            a, b = float(np.sum(X[:, 0]) / np.sum(X[:, 0] ** 2)), 0.0
        return cls(a=a, b=b, source=source)

    def params(self, width, depth) -> np.ndarray:
        w, d = np.asarray(width, float), np.asarray(depth, float)
        return self.a * d * w * w + self.b * w

    def shape_for(self, N, aspect) -> tuple[np.ndarray, np.ndarray]:
        """Width and depth (floats) of a model of ``N`` parameters and the given aspect ratio.

        Solves ``a * width^3 / aspect + b * width = N`` (one positive root).
        """
        N, r = np.broadcast_arrays(_positive("N", N), _positive("aspect", aspect))
        w = np.cbrt(N * r / self.a)
        for _ in range(50):  # Newton on a convex increasing cubic: converges from above
            f = self.a * w**3 / r + self.b * w - N
            w = w - f / (3 * self.a * w**2 / r + self.b)
        return w, w / r


def _param_count(data) -> ParamCount:
    try:
        w, d = data.get("width"), data.get("depth")
    except ValueError:
        return ParamCount()
    return ParamCount.from_data(
        w, d, data.get("N"), source=f"least squares on the data's {data.n} rows"
    )


def shape_range(
    fit,
    compute,
    *,
    tolerance: float = 0.01,
    prob: float = 0.5,
    level: float = 0.9,
    counts: ParamCount | None = None,
) -> pd.DataFrame:
    """Aspect ratios worth training at each budget, and the widths and depths they mean.

    At each budget the model size and tokens are the compute-optimal medians (which do not
    depend on the aspect ratio under a shape law). An aspect ratio is *recommended* when the
    posterior probability that its loss is within ``tolerance`` of the best aspect ratio's is at
    least ``prob``; the search covers the data's aspect-ratio range only.

    Returns a DataFrame indexed by budget ``C`` with ``N_opt``, ``D_opt``, ``aspect_best``
    (posterior median of the best aspect ratio), ``aspect_lo``/``aspect_hi`` (the recommended
    range; NaN when no aspect ratio qualifies), ``width_lo, depth_lo, width_hi, depth_hi`` (the
    shapes of an ``N_opt`` model at the ends of the range, from ``counts``, by default fitted to
    the data's width/depth columns) and ``at_edge`` (True when the range touches the data's
    aspect limits, i.e. the data do not bound it).
    """
    check_shape_fit(fit)
    if not 0 < float(prob) < 1:
        raise ValueError(f"prob must lie strictly between 0 and 1, got {prob!r}")
    counts = counts or _param_count(fit.data)
    base_fit = at_aspect(fit, SHAPE_REF_ASPECT)
    alloc = compute_optimal(base_fit, compute, warn=False)
    C = alloc.compute
    N_opt = np.nanmedian(alloc.draws["N_opt"], axis=0)
    D_opt = np.nanmedian(alloc.draws["D_opt"], axis=0)
    lo, hi = _data_aspect_range(fit)
    grid = np.geomspace(lo, hi, 161)
    best = best_aspect(fit, level=level)
    rows = []
    for c, n, d in zip(C, N_opt, D_opt, strict=True):
        eff = shape_effect(fit, grid, N=n, D=d, level=level, tolerance=tolerance)
        ok = eff.index[eff["p_within_tol"].to_numpy() >= prob].to_numpy()
        a_lo, a_hi = (float(ok.min()), float(ok.max())) if ok.size else (np.nan, np.nan)
        row = {
            "C": c,
            "N_opt": n,
            "D_opt": d,
            "aspect_best": best["median"],
            "aspect_lo": a_lo,
            "aspect_hi": a_hi,
        }
        for tag, a in (("lo", a_lo), ("hi", a_hi)):
            if np.isfinite(a):
                w, dep = counts.shape_for(n, a)
                row[f"width_{tag}"], row[f"depth_{tag}"] = float(w[0]), float(dep[0])
            else:
                row[f"width_{tag}"] = row[f"depth_{tag}"] = np.nan
        row["at_edge"] = bool(ok.size and (np.isclose(a_lo, lo) or np.isclose(a_hi, hi)))
        rows.append(row)
    out = pd.DataFrame(rows).set_index("C")
    out.attrs.update(
        tolerance=float(tolerance),
        prob=float(prob),
        aspect_range=(lo, hi),
        param_count=f"N = {counts.a:.4g}*depth*width^2 + {counts.b:.4g}*width ({counts.source})",
    )
    return out
