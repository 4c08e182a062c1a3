"""Figure of a backtest: held-out observed against predicted loss, one panel per method
(:func:`plot_backtest`, of :func:`scaling_bayes.evaluation.backtest.backtest`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scaling_bayes.plots.style import OKABE_ITO, pyplot

if TYPE_CHECKING:  # pragma: no cover
    from scaling_bayes.evaluation.backtest import BacktestResult

__all__ = ["plot_backtest"]


def plot_backtest(result: BacktestResult):
    """Figure: held-out observed vs predicted loss with 95% predictive intervals, one panel per
    method, on shared axes with the identity line."""
    plt = pyplot()
    methods = list(result.table.index)
    n = len(methods)
    fig, axes = plt.subplots(
        1,
        n,
        figsize=(3.9 * n + 0.4, 3.9),
        layout="constrained",
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    P = result.predictions
    lo_all = np.nanmin(P[["loss", "median", "pred_q2.5"]].to_numpy(float))
    hi_all = np.nanmax(P[["loss", "median", "pred_q97.5"]].to_numpy(float))
    for i, (ax, m) in enumerate(zip(axes[0], methods, strict=True)):
        d = P[P["method"] == m]
        med = d["median"].to_numpy(float)
        lo, hi = d["pred_q2.5"].to_numpy(float), d["pred_q97.5"].to_numpy(float)
        yerr = None
        if np.isfinite(lo).all():
            yerr = [np.clip(med - lo, 0, None), np.clip(hi - med, 0, None)]
        ax.errorbar(
            d["loss"],
            med,
            yerr=yerr,
            fmt="o",
            ms=4,
            color=OKABE_ITO[i % 7],
            ecolor=OKABE_ITO[i % 7],
            alpha=0.85,
            capsize=2,
            label="median, 95% predictive" if yerr is not None else "point fit",
        )
        ax.plot([lo_all, hi_all], [lo_all, hi_all], color="0.4", lw=1, ls="--", label="y = x")
        t = result.table.loc[m]
        ax.set_title(
            f"{m}: cover95 {t['cover95']:.2f}, MedARE {100 * t['median_are']:.2f}%", fontsize=9
        )
        ax.set_xlabel("observed held-out loss (nats/token)")
        if i == 0:
            ax.set_ylabel("predicted loss (nats/token)")
        ax.legend(loc="upper left")
    t = result.table
    fig.suptitle(
        f"Held-out backtest: {result.split}; train on {int(t['n_train'].iloc[0])} runs, "
        f"predict {int(t['n_holdout'].iloc[0])}",
        fontsize=10,
    )
    return fig
