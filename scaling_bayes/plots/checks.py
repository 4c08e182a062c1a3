"""Figures of predictive checks: residuals against each input with the predictive band, and
the PIT histogram (:func:`plot_predictive_check`). The check itself (simulation) is
:mod:`scaling_bayes.evaluation.checks`; the figure never samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scaling_bayes.plots.style import OKABE_ITO, light_log_ticks, pyplot, save_figure

if TYPE_CHECKING:  # pragma: no cover
    from scaling_bayes.evaluation.checks import PredictiveCheck

__all__ = ["plot_predictive_check"]


def plot_predictive_check(check: PredictiveCheck, path=None):
    """Residuals of log-loss against log N, log D, log C (with the 90% predictive band), and the
    PIT histogram. Returns the Figure; writes it atomically to ``path`` if given (the format
    from its suffix; no suffix: PDF and PNG; see :func:`scaling_bayes.plots.style.save_figure`)."""
    plt = pyplot()
    res = check.residuals()
    xs = [
        (k, lbl)
        for k, lbl in (
            ("N", "model size N (parameters)"),
            ("D", "training data D (tokens)"),
            ("C", "training compute C (FLOPs)"),
        )
        if k in res
    ]
    fig, axes = plt.subplots(
        1, len(xs) + 1, figsize=(3.6 * (len(xs) + 1), 3.3), layout="constrained"
    )
    axes = np.atleast_1d(axes)  # one panel only (PIT) for laws of L_train alone
    blue, orange = OKABE_ITO[0], OKABE_ITO[1]
    for ax, (k, label) in zip(axes, xs, strict=False):
        order = np.argsort(res[k].to_numpy())
        x = res[k].to_numpy()[order]
        ax.fill_between(
            x,
            res["band_lo"].to_numpy()[order],
            res["band_hi"].to_numpy()[order],
            color=blue,
            alpha=0.15,
            step="mid",
            lw=0,
            label=f"90% {check.kind} predictive",
        )
        outside = (res["residual"] < res["band_lo"]) | (res["residual"] > res["band_hi"])
        ax.scatter(res[k][~outside], res["residual"][~outside], s=9, color=blue)
        ax.scatter(
            res[k][outside], res["residual"][outside], s=12, color=orange, label="outside the band"
        )
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
    axes[0].set_ylabel("log-loss residual\nlog L(observed) − log L(predicted)")
    for ax in axes[1 : len(xs)]:  # one residual scale, labelled once
        ax.sharey(axes[0])
        ax.tick_params(labelleft=False)
    axes[0].legend(fontsize=7, loc="best")
    ax = axes[-1]
    ax.hist(res["pit"], bins=10, range=(0, 1), color=blue, alpha=0.8, edgecolor="white")
    ax.axhline(len(res) / 10, color="0.3", ls="--", lw=0.8, label="uniform")
    ax.set_xlabel("PIT: P(replicated < observed)")
    ax.set_ylabel("number of runs")
    ax.legend(fontsize=7)
    fig.suptitle(
        f"{check.kind.capitalize()} predictive check, law {check.law} ({check.data.n} runs)",
        fontsize=10,
    )
    light_log_ticks(fig)
    if path is not None:
        save_figure(fig, path)
    return fig
