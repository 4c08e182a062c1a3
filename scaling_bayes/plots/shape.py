"""Figure of a shape study: residuals of the law without a shape term against the aspect
ratio, and the shape law's factor on the reducible loss (:func:`plot_shape`)."""

from __future__ import annotations

import numpy as np

from scaling_bayes.decisions.shape import check_shape_fit, shape_draws
from scaling_bayes.laws import SHAPE_REF_ASPECT
from scaling_bayes.plots.style import OKABE_ITO, pyplot
from scaling_bayes.posterior.draws import law_on_draws

__all__ = ["plot_shape"]


def _mean_loss(fit, inputs) -> np.ndarray:
    """The law's mean loss per draw at the given inputs, (S, P)."""
    return np.exp(law_on_draws(fit.law, fit.textbook_draws(), inputs))


def plot_shape(without, with_shape, axes=None, level: float = 0.9):
    """Two panels against the aspect ratio (log2 axis).

    Left: residuals of the law *without* the shape term (observed over posterior-median
    predicted loss, percent) — a systematic trend here is what a shape term would explain.
    Right: the shape law's factor on the reducible loss relative to aspect ratio 64 (median and
    ``level`` band), with each run's implied factor ``(L_obs - E) / (L_64 - E)`` as points.
    """
    check_shape_fit(with_shape)
    plt = pyplot()
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
    lo, hi = float(r.min()), float(r.max())
    grid = np.geomspace(lo, hi, 100)
    slope, curv = shape_draws(with_shape)
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
    at_64 = {"N": N, "D": D, "aspect": np.full_like(N, SHAPE_REF_ASPECT)}
    L64 = np.median(_mean_loss(with_shape, at_64), axis=0)
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
