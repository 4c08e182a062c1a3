"""The design of next runs on the (N, D) plane: candidates coloured by value per FLOP, the chosen
batch, the current runs, the target and IsoFLOP lines (:func:`plot_design`)."""

from __future__ import annotations

import math

import numpy as np

from scaling_bayes.decisions.design import DesignResult
from scaling_bayes.plots.style import OKABE_ITO, pyplot

__all__ = ["plot_design"]


def plot_design(result: DesignResult, ax=None, *, isoflops: int = 6):
    """Candidates of ``result`` (:func:`scaling_bayes.design.next_runs`) on log N vs log D,
    coloured by ``reduction_per_flop`` (the expected drop of the target's posterior sd per
    FLOP, log colour scale), with the chosen batch numbered in order, the current runs, the
    target's runs (planned runs or the median compute-optimal point at C*) and dotted IsoFLOP
    lines ``6 N D = C`` at whole decades of C. Returns the figure."""
    plt = pyplot()
    from matplotlib.colors import LogNorm

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
    else:
        fig = ax.figure
    t, b, d, tr = result.table, result.batch, result.data, result.target_runs
    v = t["reduction_per_flop"].to_numpy(float)
    pos = v > 0
    Ns = np.concatenate([t.N, d.N, tr.N]) if len(tr) else np.concatenate([t.N, d.N])
    Ds = np.concatenate([t.D, d.D, tr.D]) if len(tr) else np.concatenate([t.D, d.D])
    lo_n, hi_n = Ns.min() / 1.6, Ns.max() * 1.6
    lo_d, hi_d = Ds.min() / 1.6, Ds.max() * 1.6
    ax.set_xscale("log")
    ax.set_yscale("log")
    # IsoFLOP lines at whole decades spanning the plotted corners
    c_lo, c_hi = 6 * lo_n * lo_d, 6 * hi_n * hi_d
    decades = np.arange(math.ceil(math.log10(c_lo)), math.floor(math.log10(c_hi)) + 1)
    step = max(1, int(math.ceil(len(decades) / max(isoflops, 1))))
    n_line = np.geomspace(lo_n, hi_n, 50)
    for k in decades[::step]:
        c = 10.0 ** k
        dl = c / (6 * n_line)
        m = (dl >= lo_d) & (dl <= hi_d)
        if m.sum() < 2:
            continue
        ax.plot(n_line[m], dl[m], ls=":", lw=0.8, color="0.55", zorder=1)
        i = int(np.flatnonzero(m)[len(np.flatnonzero(m)) // 2])
        ax.annotate(f"$10^{{{k}}}$ FLOPs", (n_line[i], dl[i]), fontsize=7, color="0.4",
                    rotation=-35, ha="center", va="bottom")
    if pos.any():
        sc = ax.scatter(t.N[pos], t.D[pos], c=v[pos], s=26, cmap="viridis", zorder=2,
                        norm=LogNorm(vmin=v[pos].min(), vmax=v[pos].max()), marker="s",
                        linewidths=0)
        fig.colorbar(sc, ax=ax, label="expected sd reduction per FLOP (log target, 1/FLOP)")
    if (~pos).any():
        ax.scatter(t.N[~pos], t.D[~pos], s=14, color="0.85", marker="s", zorder=2,
                   label="candidate (no expected gain)")
    ax.scatter(d.N, d.D, marker="x", color="black", s=30, zorder=4, label="current runs")
    if len(b):
        ax.scatter(b.N, b.D, facecolors="none", edgecolors=OKABE_ITO[1], s=110, lw=1.6,
                   zorder=5, label=f"chosen batch ({len(b)} runs)")
        for order, (n, dd) in zip(b.index, zip(b.N, b.D, strict=True), strict=True):
            if order <= 12:
                ax.annotate(str(order), (n, dd), xytext=(5, 4), textcoords="offset points",
                            fontsize=7, color=OKABE_ITO[1], zorder=6)
    if len(tr):
        lab = ("planned run" if result.target.quantity == "loss"
               else f"median compute-optimal run at C* = {result.target.compute:.2g}")
        ax.scatter(tr.N, tr.D, marker="*", s=140, color=OKABE_ITO[3], zorder=5, label=lab)
        if result.target.compute is not None:
            dl = result.target.compute / (6 * n_line)
            m = (dl >= lo_d) & (dl <= hi_d)
            if m.sum() >= 2:
                ax.plot(n_line[m], dl[m], ls="--", lw=1.0, color=OKABE_ITO[3], zorder=1)
    ax.set_xlim(lo_n, hi_n)
    ax.set_ylim(lo_d, hi_d)
    ax.set_xlabel("model size N (parameters)")
    ax.set_ylabel("training tokens D")
    ax.set_title(f"next runs for {result.target.describe()}\nsd {result.sd_now:.3g} -> "
                 f"{result.sd_batch:.3g} with {float(b['cost'].sum()) if len(b) else 0:.2g} "
                 "FLOPs", fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    return fig
