"""Does architecture shape matter? A law fitted with and without a shape term, compared.

:func:`shape_analysis` fits the law and its shape variant (``chinchilla`` and
``chinchilla_shape``, see :func:`scaling_bayes.laws.with_shape`) to the same data, compares them
by PSIS-LOO and collects the shape decisions of :mod:`scaling_bayes.decisions.shape` (effect
table, best aspect ratio) in a :class:`ShapeAnalysis`; :func:`shape_cv` holds out each shape in
turn. The residual figure is :func:`scaling_bayes.plots.plot_shape`
(``plot_shape(res.without, res.with_shape)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import load_data
from scaling_bayes.decisions.shape import best_aspect, shape_effect
from scaling_bayes.evaluation.comparison import _loo_table
from scaling_bayes.inference.fit import fit
from scaling_bayes.inference.many import fit_many
from scaling_bayes.laws import shape_pair
from scaling_bayes.model.likelihoods import LIKELIHOODS
from scaling_bayes.posterior.draws import law_on_draws

__all__ = ["ShapeAnalysis", "shape_analysis", "shape_cv"]


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


def shape_analysis(
    data, law: str = "chinchilla", *, columns=None, seed: int = 0, level: float = 0.9, **fit_kwargs
) -> ShapeAnalysis:
    """Fit ``law`` and ``law + shape`` to the same data and compare them.

    ``data`` needs N, D (or C), loss and the aspect ratio (an ``aspect`` column, or width and
    depth columns such as ``d_model`` and ``n_layers``). Extra keyword arguments go to
    :func:`scaling_bayes.fit` for both fits (``chains``, ``warmup``, ``draws``, ``likelihood``,
    ``priors`` ...).
    """
    base, shaped = shape_pair(law)
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

    mu = law_on_draws(fit.law, fit.textbook_draws(), test)
    sigma = np.asarray(fit.posterior["sigma"], float).reshape(-1)[:, None]
    lp = LIKELIHOODS[fit.config.likelihood].logpdf(np.log(test.loss)[None, :], mu, sigma,
                                                   fit.config.nu)
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
    base, shaped = shape_pair(law)
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
