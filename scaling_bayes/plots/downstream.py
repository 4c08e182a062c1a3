"""Figure of a downstream fit: the metric against compute with bands, and the step-2 curve.

:func:`plot_downstream` draws two panels:

* left: the metric against training compute ``C = 6ND`` (log axis), one curve per model size
  (the sizes fitted, plus those of ``held_out``): the posterior median of the chained law, its
  90% credible band (dark) and the 90% predictive band of a new run (light); observed runs as
  points with error bars of +-2 seed-noise sd (the noise floor from the reruns), held-out runs
  as open markers; the random-guess floor as a dashed line;
* right: the step-2 curve, metric against task loss: the sigmoid's median and 90% band, the
  observed (task loss, metric) pairs, the floor (not for a ``direct`` fit, which has no task
  loss).

matplotlib is imported only when the function is called.
"""

from __future__ import annotations

import numpy as np

from scaling_bayes.plots.style import OKABE_ITO, pyplot

__all__ = ["plot_downstream"]


def _fmt_n(n: float) -> str:
    return f"{n / 1e9:.3g}B" if n >= 1e9 else f"{n / 1e6:.3g}M"


def plot_downstream(fit, held_out=None, *, title: str | None = None, seed: int = 0):
    """Two-panel figure of ``fit`` (a :class:`~scaling_bayes.posterior.downstream.DownstreamFit`).

    ``held_out``: optional DataFrame of runs not fitted (columns ``N``, ``D`` and the fit's
    metric and task-loss columns), drawn as open markers with their model sizes' bands.
    Returns the matplotlib Figure.
    """
    plt = pyplot()
    d = fit.data
    direct = fit.mode == "direct"
    fig, axes = plt.subplots(1, 1 if direct else 2, figsize=(5.2 if direct else 10.0, 4.0),
                             squeeze=False)
    ax = axes[0, 0]
    sizes = sorted(set(np.round(d.N, -3)))
    ho = None
    if held_out is not None and len(held_out):
        ho = held_out
        sizes = sorted(set(sizes) | set(np.round(np.asarray(ho["N"], float), -3)))
    sd_seed = fit.noise_floor["metric"]
    for i, n in enumerate(sizes):
        col = OKABE_ITO[i % (len(OKABE_ITO) - 1)]
        own = np.isclose(d.N, n, rtol=1e-3)
        own_ho = (np.isclose(np.asarray(ho["N"], float), n, rtol=1e-3)
                  if ho is not None else None)
        ds = np.concatenate([d.D[own], np.asarray(ho["D"], float)[own_ho]]) \
            if ho is not None else d.D[own]
        Dg = np.geomspace(ds.min() / 1.5, ds.max() * 1.5, 50)
        p = fit.predict(N=n, D=Dg, seed=seed)
        C = p["C"]
        ax.fill_between(C, p["metric_pred_q5"], p["metric_pred_q95"], color=col, alpha=0.15,
                        lw=0)
        ax.fill_between(C, p["metric_mean_q5"], p["metric_mean_q95"], color=col, alpha=0.35,
                        lw=0)
        ax.plot(C, p["metric_mean_q50"], color=col, lw=1.2, label=f"N = {_fmt_n(n)}")
        if own.any():
            ax.errorbar(6 * d.N[own] * d.D[own], d.metric[own], yerr=2 * sd_seed, fmt="o",
                        ms=4, color=col, mec="white", mew=0.5, elinewidth=0.8, capsize=0)
        if ho is not None and own_ho.any():
            h = ho[own_ho]
            ax.errorbar(6 * h["N"] * h["D"], h[d.metric_name], yerr=2 * sd_seed, fmt="o",
                        ms=5, mfc="white", color=col, elinewidth=0.8, capsize=0)
    ax.axhline(fit.floor, color="0.4", ls="--", lw=0.8, label=f"chance {fit.floor:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("training compute C = 6ND (FLOPs)")
    ax.set_ylabel(f"{d.metric_name} (fraction)")
    note = (f"bands: 90% credible (dark), predictive (light); bars: ±2 seed sd "
            f"({100 * sd_seed:.2g} pts, {fit.noise_floor['pairs']} rerun pairs)")
    ax.set_title(note, fontsize=7, loc="left")
    ax.legend(loc="upper left", fontsize=7)
    if not direct:
        ax2 = axes[0, 1]
        losses = [d.loss] + ([np.asarray(ho[d.task_loss], float)] if ho is not None else [])
        lo, hi = min(x.min() for x in losses), max(x.max() for x in losses)
        grid = np.linspace(lo / 1.15, hi * 1.05, 80)
        c = fit.curve(grid)
        ax2.fill_between(grid, c["metric_q5"], c["metric_q95"], color=OKABE_ITO[0], alpha=0.3,
                         lw=0, label="step 2: 90% credible band")
        ax2.plot(grid, c["metric_q50"], color=OKABE_ITO[0], lw=1.4, label="step 2: median")
        ax2.errorbar(d.loss, d.metric, yerr=2 * sd_seed, fmt="o", ms=4, color="0.2",
                     elinewidth=0.8, capsize=0, label="fitted runs")
        if ho is not None:
            ax2.plot(ho[d.task_loss], ho[d.metric_name], "o", ms=5, mfc="white",
                     color=OKABE_ITO[1], label="held-out runs")
        ax2.axhline(fit.floor, color="0.4", ls="--", lw=0.8, label="chance (floor)")
        ax2.invert_xaxis()
        ax2.set_xlabel(f"task loss {d.task_loss} (bits per byte; axis reversed)")
        ax2.set_ylabel(f"{d.metric_name} (fraction)")
        ax2.legend(loc="upper left", fontsize=7)
    fig.suptitle(title or f"{d.metric_name}: {fit.mode} fit", fontsize=10)
    fig.tight_layout()
    return fig
