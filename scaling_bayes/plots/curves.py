"""Figures of training-curve forecasts (:func:`scaling_bayes.forecast_run`), in the package's
publication style: loss against tokens (log-log) with the credible and predictive bands, the
observed checkpoints of a run when given, and the learning-rate schedule below.
"""

from __future__ import annotations

import numpy as np

from scaling_bayes.decisions.curves import CurveForecast, ScheduleComparison
from scaling_bayes.plots.style import OKABE_ITO, pyplot

__all__ = ["plot_forecast_run"]


def plot_forecast_run(forecast: CurveForecast | ScheduleComparison, observed=None, *,
                      x: str = "tokens", title: str | None = None):
    """Loss along the planned run(s) with 90% (or the forecast's level) credible and predictive
    bands, and the schedule(s) in a lower panel. ``observed``: a DataFrame of checkpoints with
    ``step``, ``loss`` (and ``D`` for ``x="tokens"``) to overlay. Returns the Figure."""
    plt = pyplot()
    items = (forecast.forecasts if isinstance(forecast, ScheduleComparison)
             else {"": forecast})
    if x not in ("tokens", "step"):
        raise ValueError(f"x must be 'tokens' or 'step', got {x!r}")
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(6.0, 5.2), sharex=True, layout="constrained",
                                    gridspec_kw={"height_ratios": [3, 1]})
    level = next(iter(items.values())).level
    for i, (name, fc) in enumerate(items.items()):
        t = fc.table
        c = OKABE_ITO[i % len(OKABE_ITO)]
        xs = t[x].to_numpy()
        lab = f"{name}: " if name else ""
        ax.fill_between(xs, t["pred_lo"], t["pred_hi"], color=c, alpha=0.15, lw=0,
                        label=f"{lab}{level:.0%} predictive")
        ax.fill_between(xs, t["mean_lo"], t["mean_hi"], color=c, alpha=0.35, lw=0,
                        label=f"{lab}{level:.0%} credible")
        ax.plot(xs, t["loss"], color=c, lw=1.4, label=f"{lab}posterior median")
        ax_lr.plot(xs, t["lr"], color=c, lw=1.2)
    if observed is not None:
        ox = observed["D"] if x == "tokens" else observed["step"]
        ax.plot(np.asarray(ox), np.asarray(observed["loss"]), "k.", ms=3, label="observed")
    ax.set(xscale="log", yscale="log", ylabel="loss (nats/token)", title=title)
    ax.legend(fontsize=7)
    ax_lr.set(xscale="log", xlabel="tokens seen" if x == "tokens" else "optimizer step",
              ylabel="learning rate")
    return fig
