"""Figure of a calibration benchmark (:func:`plot_calibration`, of
:func:`scaling_bayes.evaluation.calibration.calibrate`): coverage of the central predictive
intervals against their nominal level, and the histogram of PIT values of the held-out runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scaling_bayes.plots.style import OKABE_ITO, pyplot

if TYPE_CHECKING:  # pragma: no cover
    from scaling_bayes.evaluation.calibration import CalibrationResult

__all__ = ["plot_calibration"]

_LEVELS = (0.5, 0.8, 0.9, 0.95)


def plot_calibration(result: CalibrationResult, *, bins: int = 10):
    """Two panels. Left: coverage of the 50/80/90/95% predictive intervals against the nominal
    level, one line per variant (all held-out points weighted equally) with each data set's own
    coverage as small points and the diagonal of perfect calibration. Right: histogram of the
    PIT values (predictive probability of a loss below the observed one), one per variant, with
    the uniform density a calibrated forecast gives."""
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.6, 3.8), layout="constrained")
    P = result.points
    variants = list(dict.fromkeys(P["variant"]))
    nv = len(variants)
    levels = [lev for lev in _LEVELS if f"in{int(lev * 100)}" in P]
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="nominal", zorder=1)
    for i, v in enumerate(variants):
        col = OKABE_ITO[i % len(OKABE_ITO)]
        pv = P[P["variant"] == v]
        per_ds = pv.groupby("dataset")
        off = (i - (nv - 1) / 2) * 0.008
        for lev in levels:
            c = per_ds[f"in{int(lev * 100)}"].mean().to_numpy(float)
            jitter = np.linspace(-0.006, 0.006, c.size) if c.size > 1 else np.zeros(1)
            ax.scatter(lev + off + jitter, c, s=9, color=col, alpha=0.45, lw=0, zorder=2)
        pooled = [pv[f"in{int(lev * 100)}"].mean() for lev in levels]
        ax.plot(np.array(levels) + off, pooled, "o-", color=col, ms=5, zorder=3,
                label=f"{v} (all {len(pv)} runs)")
    ax.scatter([], [], s=9, color="0.4", alpha=0.6, label="one data set")
    ax.set_xlim(0.4, 1.0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xticks(levels)
    ax.set_xlabel("nominal level of the central predictive interval")
    ax.set_ylabel("fraction of held-out runs inside")
    ax.set_title("Coverage of held-out runs")
    ax.legend(loc="upper left")

    edges = np.linspace(0, 1, bins + 1)
    for i, v in enumerate(variants):
        col = OKABE_ITO[i % len(OKABE_ITO)]
        pit = P.loc[P["variant"] == v, "pit"].to_numpy(float)
        pit = pit[np.isfinite(pit)]
        dens, _ = np.histogram(pit, bins=edges, density=True)
        if nv == 1:
            bx.bar(edges[:-1], dens, width=np.diff(edges), align="edge", color=col, alpha=0.55,
                   edgecolor="white", label=f"{v} ({pit.size} runs)")
        else:
            bx.stairs(dens, edges, color=col, lw=1.6, label=f"{v} ({pit.size} runs)")
    bx.axhline(1.0, color="0.5", lw=1, ls="--", label="calibrated (uniform)")
    bx.set_xlim(0, 1)
    bx.set_xlabel("PIT: predictive probability of a loss below the observed")
    bx.set_ylabel("density")
    bx.set_title("PIT of held-out runs")
    bx.legend(loc="upper center")
    n_sets = P["dataset"].nunique()
    fig.suptitle(f"Calibration on held-out larger runs: {n_sets} data sets, "
                 f"{P.groupby(['set', 'cutoff']).ngroups} splits", fontsize=10)
    return fig
