"""Figures: one publication style (``style``) and one module per figure family. Plots take
results (fits, allocations, backtests) and return matplotlib figures; they never sample."""

from scaling_bayes.plots.fits import (
    OKABE_ITO,
    figure_makers,
    plot_data_fit,
    plot_exponents,
    plot_forecast,
    plot_frontier,
    plot_isoflop,
    pyplot,
    save_all,
    save_figure,
)

__all__ = ["OKABE_ITO", "plot_data_fit", "plot_isoflop", "plot_frontier", "plot_forecast",
           "plot_exponents", "figure_makers", "save_all", "save_figure", "pyplot"]
