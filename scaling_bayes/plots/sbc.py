"""Figure of simulation-based calibration: the ECDF of each parameter's fractional ranks minus
the uniform CDF, with a 99% band (:func:`plot_sbc`). The simulations are
:mod:`scaling_bayes.evaluation.sbc`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scaling_bayes.plots.style import OKABE_ITO, pyplot, save_figure

if TYPE_CHECKING:  # pragma: no cover
    from scaling_bayes.evaluation.sbc import SBCResult

__all__ = ["plot_sbc"]


def plot_sbc(result: SBCResult, path=None):
    """ECDF-difference plot per parameter with a pointwise 99% binomial band (grey). Returns the
    Figure; writes it atomically to ``path`` if given (format from the suffix; no suffix: PDF and
    PNG)."""
    plt = pyplot()
    names = list(result.ranks.columns)
    fig, axes = plt.subplots(
        1, len(names), figsize=(2.6 * len(names), 2.6), sharey=True, layout="constrained"
    )
    axes = np.atleast_1d(axes)
    n = len(result.ranks)
    z = np.linspace(0, 1, 101)
    band = 2.576 * np.sqrt(z * (1 - z) / n)  # pointwise 99% binomial band
    for ax, k in zip(axes, names, strict=True):
        u = (result.ranks[k].to_numpy() + 0.5) / (result.n_ranks + 1)
        ecdf = np.searchsorted(np.sort(u), z, side="right") / n
        ax.fill_between(z, -band, band, color="0.85", label="99% band")
        ax.plot(z, ecdf - z, color=OKABE_ITO[0])
        p = result.tests.loc[k, "p_value"]
        ax.set_title(f"{k}\np = {p:.2g}", fontsize=9)
        ax.set_xlabel("fractional rank")
    axes[0].set_ylabel("ECDF − uniform CDF")
    fig.suptitle(f"SBC of law {result.law}: {n} simulations", fontsize=10)
    if path is not None:
        save_figure(fig, path)
    return fig
