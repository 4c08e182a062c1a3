"""Figures: one publication style (``style``) and one module per figure family. Plots take
results (fits, allocations, checks, comparisons, backtests, shape studies) and return matplotlib
figures; they never sample or fit.

* :mod:`~scaling_bayes.plots.fits`: a fit's data and law, IsoFLOP profiles, the compute-optimal
  frontier, the forecast fan, the exponents, observed vs predicted; :func:`save_all`;
* :mod:`~scaling_bayes.plots.checks`: prior and posterior predictive checks;
* :mod:`~scaling_bayes.plots.sbc`: simulation-based calibration;
* :mod:`~scaling_bayes.plots.comparison`: law comparison and counting conventions;
* :mod:`~scaling_bayes.plots.backtest`: held-out backtests;
* :mod:`~scaling_bayes.plots.calibration`: the calibration benchmark (coverage, PIT);
* :mod:`~scaling_bayes.plots.shape`: architecture shape;
* :mod:`~scaling_bayes.plots.curves`: training-curve forecasts (:func:`plot_forecast_run`);
* :mod:`~scaling_bayes.plots.design`: the design of next runs (candidates on the (N, D) plane).
"""

from scaling_bayes.plots.backtest import plot_backtest
from scaling_bayes.plots.calibration import plot_calibration
from scaling_bayes.plots.checks import plot_predictive_check
from scaling_bayes.plots.comparison import plot_comparison, plot_conventions
from scaling_bayes.plots.design import plot_design
from scaling_bayes.plots.fits import (
    OKABE_ITO,
    figure_makers,
    plot_data_fit,
    plot_exponents,
    plot_forecast,
    plot_frontier,
    plot_isoflop,
    plot_observed_vs_predicted,
    pyplot,
    save_all,
    save_figure,
)
from scaling_bayes.plots.sbc import plot_sbc
from scaling_bayes.plots.shape import plot_shape
from scaling_bayes.plots.curves import plot_forecast_run

__all__ = [
    # style
    "OKABE_ITO", "pyplot", "save_figure",
    # fits
    "plot_data_fit", "plot_isoflop", "plot_frontier", "plot_forecast", "plot_exponents",
    "plot_observed_vs_predicted", "figure_makers", "save_all",
    # checks, calibration, comparison, backtest, shape
    "plot_predictive_check", "plot_sbc", "plot_comparison", "plot_conventions", "plot_backtest",
    "plot_calibration", "plot_shape",
    # design of next runs
    "plot_design",
    # training curves
    "plot_forecast_run",
]
