"""Architecture shape: does width vs depth matter at a fixed parameter count, and how sure are we?

Kaplan et al. (2020, §3.1) found that the loss depends on the parameter count and only weakly
on the aspect ratio ``d_model / n_layers``; Tay et al. (2021) found that depth and width matter.
The shape laws (``chinchilla_shape``, ``kaplan_shape``; see :func:`scaling_bayes.laws.base.with_shape`)
multiply the reducible loss by ``exp(shape_slope * u + shape_curv * u^2)``, ``u = log2(aspect /
64)``, with priors centred on "no effect". This module turns such a fit into what users ask:

* :func:`shape_effect`: loss penalty against the best aspect ratio, and per doubling of the
  aspect ratio, at a given (N, D), with credible intervals;
* :func:`best_aspect`: the posterior of the best aspect ratio (within the data's range);
* :func:`at_aspect`: the fit as a fit of the base law for models of one aspect ratio (so that
  :func:`~scaling_bayes.compute_optimal`, :func:`~scaling_bayes.predict` apply);
* :func:`shape_range`: aspect ratios within a loss tolerance of the best at the compute-optimal
  model size for a budget, with the widths and depths they mean (:class:`ParamCount`);
* :func:`shape_analysis`: fit the law with and without the shape term, compare them by PSIS-LOO,
  and collect all of the above; :meth:`ShapeAnalysis.plot` draws the residual figure.

Given N, the aspect ratio fixes the shape (``N ≈ a * depth * width^2 + b * width``), so one
covariate describes width vs depth. Effects are measured over the data's aspect-ratio range;
outside it they are extrapolations and are not reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.laws.base import SHAPE_REF_ASPECT, _shape_absorb_sites

__all__ = [
    "ParamCount",
    "ShapeAnalysis",
    "at_aspect",
    "best_aspect",
    "shape_analysis",
    "shape_cv",
    "shape_effect",
    "shape_range",
]


def _jnp():
    from scaling_bayes.decisions.allocation import _jax

    return _jax().numpy


def _check_shape_fit(fit) -> None:
    if "aspect" not in getattr(getattr(fit, "law", None), "inputs", ()):
        name = getattr(getattr(fit, "law", None), "name", type(fit).__name__)
        raise ValueError(
            f"fit of law {name!r} has no shape term: fit a shape law ('chinchilla_shape', "
            "'kaplan_shape') or run scaling_bayes.evaluation.shape.shape_analysis"
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


def _shape_draws(fit) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.asarray(fit.posterior["shape_slope"], float).reshape(-1),
        np.asarray(fit.posterior["shape_curv"], float).reshape(-1),
    )


def _loss(fit, N, D, aspect) -> np.ndarray:
    """Mean loss per draw at broadcastable (N, D, aspect) arrays: shape (S, *broadcast)."""
    jnp = _jnp()
    N, D, aspect = np.broadcast_arrays(*(np.asarray(a, float) for a in (N, D, aspect)))
    th = {k: jnp.asarray(v).reshape((-1,) + (1,) * N.ndim) for k, v in fit.textbook_draws().items()}
    inp = {
        "N": jnp.asarray(N)[None],
        "D": jnp.asarray(D)[None],
        "aspect": jnp.asarray(aspect)[None],
    }
    return np.exp(np.asarray(fit.law.log_loss(th, inp)))


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
    _check_shape_fit(fit)
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
    slope, curv = _shape_draws(fit)
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
    jnp = _jnp()
    th = {k: jnp.asarray(v) for k, v in fit.textbook_draws().items()}
    a = jnp.asarray(aspect_per_draw)
    inp = {"N": jnp.full_like(a, N), "D": jnp.full_like(a, D), "aspect": a}
    return np.exp(np.asarray(fit.law.log_loss(th, inp)))


def best_aspect(fit, *, level: float = 0.9) -> pd.Series:
    """Posterior of the aspect ratio with the lowest loss, searched within the data's range.

    Returns a Series: ``median``, ``q_lo``, ``q_hi`` (central ``level`` interval),
    ``p_interior`` (share of draws whose optimum lies strictly inside the data's range rather
    than at an end: low values mean "the data do not bracket an optimum") and ``p_curved``
    (share of draws with a bowl, ``shape_curv > 0``), plus the data's range.
    """
    _check_shape_fit(fit)
    level = _check_level(level)
    lo, hi = _data_aspect_range(fit)
    slope, curv = _shape_draws(fit)
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
    _check_shape_fit(fit)
    r = float(_positive("aspect", aspect)[0])
    jnp = _jnp()
    base = fit.law.base
    absorb, _ = _shape_absorb_sites(base)
    shp = fit.posterior["shape_slope_ref"].shape
    g1 = np.asarray(fit.posterior["shape_slope_ref"], float)
    g2 = np.asarray(fit.posterior["shape_curv"], float)
    v = math.log2(r / fit.ref["aspect"])
    s = g1 * v + g2 * v * v
    phi = {k: np.asarray(fit.posterior[k], float) for k in base.site_names}
    for a in absorb:
        phi[a] = phi[a] + s
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
    from scaling_bayes.decisions.allocation import compute_optimal

    _check_shape_fit(fit)
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


# ----------------------------------------------------------------------------- the analysis
@dataclass(frozen=True, eq=False)
class ShapeAnalysis:
    """A law fitted with and without the shape term on the same data, and what it says.

    Attributes
    ----------
    without, with_shape
        The two fits (:class:`~scaling_bayes.posterior.fit.Fit`).
    comparison
        PSIS-LOO table indexed by law name: ``elpd_loo, se, p_loo, elpd_diff, dse, weight,
        max_pareto_k``; the first row is the preferred model.
    parameters
        Posterior summary of ``shape_slope`` and ``shape_curv``.
    effect
        :func:`shape_effect` at the data's geometric-mean N and D.
    best
        :func:`best_aspect`.
    """

    without: Any
    with_shape: Any
    comparison: pd.DataFrame
    parameters: pd.DataFrame
    effect: pd.DataFrame
    best: pd.Series

    @property
    def supported(self) -> bool:
        """True when LOO prefers the shape term by more than two standard errors."""
        top = self.comparison.index[0]
        other = self.comparison.index[-1]
        return top == self.with_shape.law.name and float(
            self.comparison.loc[other, "elpd_diff"]
        ) > 2 * float(self.comparison.loc[other, "dse"])

    def text(self) -> str:
        """A plain-text account: the LOO comparison, the shape parameters, the effect table."""
        c = self.comparison
        lines = [
            "PSIS-LOO (higher elpd is better; diff and its SE against the best):",
            c[["elpd_loo", "se", "elpd_diff", "dse", "weight", "p_loo", "max_pareto_k"]].to_string(
                float_format=lambda v: f"{v:.4g}"
            ),
        ]
        other = c.index[-1]
        verdict = (
            "the data support a shape term"
            if self.supported
            else "no clear support for a shape term"
        )
        lines.append(
            f"verdict: {verdict}"
            f" (elpd difference {float(c.loc[other, 'elpd_diff']):.1f} +/- "
            f"{float(c.loc[other, 'dse']):.1f} in favour of {c.index[0]})"
        )
        lines.append("shape parameters (log reducible-loss factor; u = log2(aspect/64)):")
        lines.append(self.parameters.to_string(float_format=lambda v: f"{v:.4g}"))
        b = self.best
        lines.append(
            f"best aspect ratio within the data's range [{b['data_min']:.3g}, {b['data_max']:.3g}]"
            f": {b['median']:.3g} (90% interval {b['q_lo']:.3g}-{b['q_hi']:.3g}); interior "
            f"optimum in {b['p_interior']:.0%} of draws"
        )
        e = self.effect
        lines.append(
            f"loss penalty against the best aspect ratio, percent, at N = {e.attrs['N']:.3g}, "
            f"D = {e.attrs['D']:.3g}:"
        )
        lines.append(e.to_string(float_format=lambda v: f"{v:.3g}"))
        return "\n".join(lines)

    def plot(self, axes=None):
        """The residual figure; see :func:`plot_shape`."""
        return plot_shape(self.without, self.with_shape, axes=axes)


def shape_analysis(
    data, law: str = "chinchilla", *, columns=None, seed: int = 0, level: float = 0.9, **fit_kwargs
) -> ShapeAnalysis:
    """Fit ``law`` and ``law + shape`` to the same data and compare them.

    ``data`` needs N, D (or C), loss and the aspect ratio (an ``aspect`` column, or width and
    depth columns such as ``d_model`` and ``n_layers``). Extra keyword arguments go to
    :func:`scaling_bayes.fit` for both fits (``chains``, ``warmup``, ``draws``, ``likelihood``,
    ``priors`` ...).
    """
    from scaling_bayes.evaluation.comparison import _loo_table
    from scaling_bayes.data.observations import load_data
    from scaling_bayes.inference.engine import fit
    from scaling_bayes.laws.base import get_law

    base = get_law(law)
    if "aspect" in base.inputs:
        base = base.base
    shaped = get_law(f"{base.name}_shape")
    sd = load_data(data, columns=dict(columns) if columns else None)
    sd.get("aspect")  # a clear error before any compiling
    f0 = fit(sd, base, seed=seed, **fit_kwargs)
    f1 = fit(sd, shaped, seed=seed, **fit_kwargs)
    loo, _, _ = _loo_table({base.name: f0, shaped.name: f1})
    loo = loo.sort_values("elpd_loo", ascending=False)
    params = f1.summary(
        ["shape_slope", "shape_curv"], quantiles=((1 - level) / 2, 0.5, (1 + level) / 2)
    )
    return ShapeAnalysis(
        without=f0,
        with_shape=f1,
        comparison=loo,
        parameters=params,
        effect=shape_effect(f1, level=level),
        best=best_aspect(f1, level=level),
    )


# ----------------------------------------------------------------------------- cross-validation
def _shape_groups(sd) -> tuple[np.ndarray, list[str]]:
    """Group index per row: one group per distinct (width, depth), else per aspect ratio."""
    try:
        w, d = sd.get("width"), sd.get("depth")
        keys = [f"{a:g}x{b:g}" for a, b in zip(w, d, strict=True)]
    except ValueError:
        keys = [f"aspect {a:.4g}" for a in sd.get("aspect")]
    names = list(dict.fromkeys(keys))
    return np.array([names.index(k) for k in keys]), names


def _heldout_lpd(fit, test) -> np.ndarray:
    """log mean_s p(y_i | theta_s) for each held-out row of ``test``: shape (n_test,)."""
    from scipy.special import logsumexp

    from scaling_bayes.evaluation.backtest import _logpdf

    jnp = _jnp()
    th = {k: jnp.asarray(v)[:, None] for k, v in fit.textbook_draws().items()}
    x = {k: jnp.asarray(test.get(k))[None, :] for k in fit.law.inputs}
    mu = np.asarray(fit.law.log_loss(th, x), float)
    sigma = np.asarray(fit.posterior["sigma"], float).reshape(-1)[:, None]
    lp = _logpdf(np.log(test.loss)[None, :], mu, sigma, fit.config.likelihood, fit.config.nu)
    return logsumexp(lp, axis=0) - np.log(lp.shape[0])


def shape_cv(
    data,
    law: str = "chinchilla",
    *,
    columns=None,
    seed: int = 0,
    warmup: int = 500,
    draws: int = 500,
    **fit_kwargs,
) -> pd.DataFrame:
    """Leave-one-shape-out cross-validation of ``law`` with and without the shape term.

    Every distinct shape (width x depth, else aspect ratio) is held out in turn; both laws are
    refitted to the other shapes (all folds at once with :func:`~scaling_bayes.fit_many`) and
    scored by the log predictive density of the held-out runs. This answers "does the shape
    term predict the loss of a shape we have not trained?", which row-wise PSIS-LOO cannot
    (rows of one shape share a training run).

    Returns a DataFrame indexed by law with ``elpd_cv`` (summed held-out log predictive
    density), ``se``, ``elpd_diff`` and ``dse`` (against the best, from pointwise differences),
    ``n_folds``, ``n_rows`` and ``worst_fold`` (the held-out shape where the law does worst
    relative to the other law); ``attrs["per_fold"]`` holds the per-shape table.
    """
    from scaling_bayes.data.observations import load_data
    from scaling_bayes.laws.base import get_law
    from scaling_bayes.inference.many import fit_many

    base = get_law(law)
    if "aspect" in base.inputs:
        base = base.base
    shaped = get_law(f"{base.name}_shape")
    sd = load_data(data, columns=dict(columns) if columns else None)
    sd.get("aspect")
    g, names = _shape_groups(sd)
    if len(names) < 3:
        raise ValueError(
            f"leave-one-shape-out needs at least 3 distinct shapes, found {len(names)}"
        )
    trains = {nm: sd.subset(g != k) for k, nm in enumerate(names)}
    tests = {nm: sd.subset(g == k) for k, nm in enumerate(names)}
    point = {}
    for lw in (base, shaped):
        many = fit_many(trains, lw, seed=seed, warmup=warmup, draws=draws, **fit_kwargs)
        point[lw.name] = np.concatenate([_heldout_lpd(many[nm], tests[nm]) for nm in names])
    fold = np.concatenate([np.full(tests[nm].n, k) for k, nm in enumerate(names)])
    elpd = {k: float(v.sum()) for k, v in point.items()}
    best = max(elpd, key=elpd.get)
    rows = {}
    other = {base.name: shaped.name, shaped.name: base.name}
    for k, v in point.items():
        diff = point[best] - v
        per_fold = np.bincount(fold, weights=v - point[other[k]], minlength=len(names))
        rows[k] = {
            "elpd_cv": elpd[k],
            "se": float(np.sqrt(v.size * np.var(v))),
            "elpd_diff": float(diff.sum()),
            "dse": float(np.sqrt(diff.size * np.var(diff))),
            "n_folds": len(names),
            "n_rows": int(v.size),
            "worst_fold": names[int(np.argmin(per_fold))],
        }
    out = pd.DataFrame.from_dict(rows, orient="index").sort_values("elpd_cv", ascending=False)
    out.index.name = "law"
    out.attrs["per_fold"] = pd.DataFrame(
        {k: np.bincount(fold, weights=v, minlength=len(names)) for k, v in point.items()},
        index=pd.Index(names, name="held-out shape"),
    )
    return out


# ----------------------------------------------------------------------------- figure
def plot_shape(without, with_shape, axes=None, level: float = 0.9):
    """Two panels against the aspect ratio (log2 axis).

    Left: residuals of the law *without* the shape term (observed over posterior-median
    predicted loss, percent) — a systematic trend here is what a shape term would explain.
    Right: the shape law's factor on the reducible loss relative to aspect ratio 64 (median and
    ``level`` band), with each run's implied factor ``(L_obs - E) / (L_64 - E)`` as points.
    """
    from scaling_bayes.plots.fits import _plt

    _check_shape_fit(with_shape)
    plt = _plt()
    n_panels = 1 if without is None else 2
    if axes is None:
        fig, axes = plt.subplots(
            1, n_panels, figsize=(5.0 * n_panels, 4.0), layout="constrained", squeeze=False
        )
        axes = axes[0]
    else:
        axes = np.atleast_1d(axes)
        fig = axes[0].figure
    data = with_shape.data
    r = data.get("aspect")
    N, D, L = data.get("N"), data.get("D"), data.loss
    if without is not None:
        _plot_residuals(fig, axes[0], without, data, r, N, L)
    _plot_factor(axes[-1], with_shape, data, r, N, D, L, level)
    return fig


def _plot_residuals(fig, ax, without, data, r, N, L):
    """Residuals of the law without the shape term against the aspect ratio."""
    from scaling_bayes.plots.fits import _mean_loss

    pred0 = np.median(_mean_loss(without, {k: data.get(k) for k in without.law.inputs}), axis=0)
    res = 100 * (L / pred0 - 1)
    sc = ax.scatter(r, res, c=np.log10(N), cmap="viridis", s=16, alpha=0.85, edgecolors="none")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("aspect ratio d_model / n_layers")
    ax.set_ylabel("residual, observed / predicted loss - 1 (%)")
    ax.set_title(f"{without.law.name} law without a shape term", fontsize=10)
    cb = fig.colorbar(sc, ax=ax)
    cb.set_label("log10 N (parameters)")


def _plot_factor(ax, with_shape, data, r, N, D, L, level):
    """The posterior shape factor on the reducible loss, with each run's implied factor."""
    from scaling_bayes.plots.fits import OKABE_ITO

    lo, hi = float(r.min()), float(r.max())
    grid = np.geomspace(lo, hi, 100)
    slope, curv = _shape_draws(with_shape)
    u = np.log2(grid / SHAPE_REF_ASPECT)
    factor = np.exp(slope[:, None] * u + curv[:, None] * u * u)
    qlo, qhi = (1 - level) / 2, (1 + level) / 2
    band = np.quantile(factor, [qlo, 0.5, qhi], axis=0)
    ax.fill_between(
        grid,
        band[0],
        band[2],
        color=OKABE_ITO[0],
        alpha=0.3,
        lw=0,
        label=f"{level:.0%} credible band",
    )
    ax.plot(grid, band[1], color=OKABE_ITO[0], lw=1.6, label="posterior median")
    th = with_shape.textbook_draws()
    L64 = np.median(_loss(with_shape, N, D, np.full_like(N, SHAPE_REF_ASPECT)), axis=0)
    if "E" in th:
        E = float(np.median(th["E"]))
        implied = (L - E) / (L64 - E)
        what = "reducible loss (L - E)"
    else:
        implied = L / L64
        what = "loss"
    ax.scatter(
        r,
        implied,
        color="0.35",
        s=12,
        alpha=0.6,
        edgecolors="none",
        label="runs: observed / predicted at aspect 64",
    )
    ax.axhline(1, color="0.4", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("aspect ratio d_model / n_layers")
    ax.set_ylabel(f"factor on the {what}\n(1 = aspect ratio 64)")
    ax.set_title(f"{with_shape.law.name}: shape effect", fontsize=10)
    ax.legend(loc="best", frameon=False)
