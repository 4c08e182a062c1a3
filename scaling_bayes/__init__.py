"""scaling_bayes: Bayesian inference of neural scaling laws with NumPyro NUTS.

Public API (imported lazily, so ``import scaling_bayes`` is cheap)::

    import scaling_bayes as sb
    df = sb.load_dataset("chinchilla", drop_excluded=True)
    fit = sb.fit(df, law="chinchilla", seed=0)
    fit.summary()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "fit": "scaling_bayes.inference",
    "fit_many": "scaling_bayes.many",
    "ManyFits": "scaling_bayes.many",
    "fit_hierarchical": "scaling_bayes.hierarchical",
    "HierarchicalFit": "scaling_bayes.hierarchical",
    "load_hierarchical": "scaling_bayes.hierarchical",
    "compare_pooling": "scaling_bayes.hierarchical",
    "SamplerConfig": "scaling_bayes.inference",
    "Fit": "scaling_bayes.results",
    "load_fit": "scaling_bayes.results",
    "load_data": "scaling_bayes.data",
    "ScalingData": "scaling_bayes.data",
    "DataError": "scaling_bayes.data",
    "load_dataset": "scaling_bayes.datasets",
    "list_datasets": "scaling_bayes.datasets",
    "list_laws": "scaling_bayes.laws",
    "get_law": "scaling_bayes.laws",
    "Law": "scaling_bayes.laws",
    "custom_law": "scaling_bayes.laws_more",
    "Prior": "scaling_bayes.priors",
    "default_priors": "scaling_bayes.priors",
    "compute_optimal": "scaling_bayes.allocation",
    "target_loss": "scaling_bayes.allocation",
    "inference_optimal": "scaling_bayes.allocation",
    "compute_waste": "scaling_bayes.allocation",
    "predict": "scaling_bayes.forecast",
    "compare": "scaling_bayes.comparison",
    "compare_conventions": "scaling_bayes.comparison",
    "backtest": "scaling_bayes.backtesting",
    "shape_analysis": "scaling_bayes.shape",
    "enable_cache": "scaling_bayes._aot",
}

#: Submodules reachable as attributes (``sb.allocation.compute_optimal``), imported on first use.
_SUBMODULES = ("allocation", "checks", "datasets", "diagnostics", "forecast", "laws", "many",
               "plots", "priors", "results", "validate", "baselines", "comparison",
               "backtesting", "hierarchical", "shape")

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"scaling_bayes.{name}")
    raise AttributeError(f"module 'scaling_bayes' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from scaling_bayes._aot import enable_cache
    from scaling_bayes.allocation import (
        compute_optimal,
        compute_waste,
        inference_optimal,
        target_loss,
    )
    from scaling_bayes.backtesting import backtest
    from scaling_bayes.comparison import compare, compare_conventions
    from scaling_bayes.data import DataError, ScalingData, load_data
    from scaling_bayes.datasets import list_datasets, load_dataset
    from scaling_bayes.forecast import predict
    from scaling_bayes.hierarchical import (
        HierarchicalFit,
        compare_pooling,
        fit_hierarchical,
        load_hierarchical,
    )
    from scaling_bayes.inference import SamplerConfig, fit
    from scaling_bayes.laws import Law, get_law, list_laws
    from scaling_bayes.laws_more import custom_law
    from scaling_bayes.many import ManyFits, fit_many
    from scaling_bayes.priors import Prior, default_priors
    from scaling_bayes.results import Fit, load_fit
    from scaling_bayes.shape import shape_analysis
