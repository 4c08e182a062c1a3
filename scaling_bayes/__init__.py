"""scaling_bayes: Bayesian inference of neural scaling laws with NumPyro NUTS.

Public API (imported lazily, so ``import scaling_bayes`` is cheap)::

    import scaling_bayes as sb
    df = sb.load_dataset("chinchilla", drop_excluded=True)
    fit = sb.fit(df, law="chinchilla", seed=0)
    fit.summary()
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING

from scaling_bayes._core.version import __version__

_EXPORTS = {
    "fit": "scaling_bayes.inference.fit",
    "fit_many": "scaling_bayes.inference.many",
    "ManyFits": "scaling_bayes.posterior.many",
    "fit_hierarchical": "scaling_bayes.inference.hierarchical",
    "HierarchicalFit": "scaling_bayes.posterior.hierarchical",
    "load_hierarchical": "scaling_bayes.posterior.hierarchical",
    "compare_pooling": "scaling_bayes.evaluation.pooling",
    "SamplerConfig": "scaling_bayes.model.settings",
    "NUTSSettings": "scaling_bayes.model.settings",
    "ModelSettings": "scaling_bayes.model.settings",
    "SettingsError": "scaling_bayes.model.settings",
    "Fit": "scaling_bayes.posterior.fit",
    "load_fit": "scaling_bayes.posterior.formats",
    "load_data": "scaling_bayes.data.observations",
    "ScalingData": "scaling_bayes.data.observations",
    "ScalingBayesError": "scaling_bayes._core.errors",
    "DataError": "scaling_bayes.data.observations",
    "load_dataset": "scaling_bayes.data.datasets",
    "list_datasets": "scaling_bayes.data.datasets",
    "list_laws": "scaling_bayes.laws.base",
    "get_law": "scaling_bayes.laws.base",
    "Law": "scaling_bayes.laws.base",
    "custom_law": "scaling_bayes.model.custom",
    "Prior": "scaling_bayes.model.priors",
    "default_priors": "scaling_bayes.model.priors",
    "compute_optimal": "scaling_bayes.decisions.allocation",
    "compute_optimal_by_group": "scaling_bayes.decisions.allocation",
    "exponents_by_group": "scaling_bayes.decisions.allocation",
    "target_loss": "scaling_bayes.decisions.allocation",
    "inference_optimal": "scaling_bayes.decisions.allocation",
    "compute_waste": "scaling_bayes.decisions.allocation",
    "predict": "scaling_bayes.decisions.forecast",
    "compare": "scaling_bayes.evaluation.comparison",
    "compare_conventions": "scaling_bayes.evaluation.comparison",
    "backtest": "scaling_bayes.evaluation.backtest",
    "calibrate": "scaling_bayes.evaluation.calibration",
    "shape_analysis": "scaling_bayes.evaluation.shape_study",
    "enable_cache": "scaling_bayes.inference.aot",
    "prior_sensitivity": "scaling_bayes.evaluation.prior_sensitivity",
    "fit_curves": "scaling_bayes.inference.curves",
    "forecast_run": "scaling_bayes.decisions.curves",
    "CurveFit": "scaling_bayes.posterior.curves",
    "load_curves": "scaling_bayes.data.curves",
    "fit_downstream": "scaling_bayes.inference.downstream",
    "DownstreamFit": "scaling_bayes.posterior.downstream",
    "load_downstream": "scaling_bayes.posterior.downstream",
}

#: Modules reachable as attributes (``sb.allocation.compute_optimal``), imported on first use:
#: the names of the v0.1 API, each mapped to the module of the layered package that holds it,
#: or to several modules where the v0.1 module's names now live in more than one layer (a
#: read-only view that looks each name up in those modules, in order).
_SUBMODULES = {
    "allocation": "scaling_bayes.decisions.allocation",
    "forecast": "scaling_bayes.decisions.forecast",
    "checks": "scaling_bayes.evaluation.checks",
    "validate": "scaling_bayes.evaluation.sbc",
    "baselines": "scaling_bayes.evaluation.baselines",
    "comparison": "scaling_bayes.evaluation.comparison",
    "backtesting": "scaling_bayes.evaluation.backtest",
    "shape": "scaling_bayes.decisions.shape",
    "shape_study": "scaling_bayes.evaluation.shape_study",
    "datasets": "scaling_bayes.data.datasets",
    "diagnostics": "scaling_bayes.posterior.diagnostics",
    "results": "scaling_bayes.posterior.fit",
    "priors": (
        "scaling_bayes.model.priors",  # Prior, default_priors, ...
        "scaling_bayes.model.literature",  # literature, LiteraturePriors, SWEEPS (issue 20)
    ),
    "many": "scaling_bayes.inference.many",
    "hierarchical": (
        "scaling_bayes.inference.hierarchical",  # fit_hierarchical
        "scaling_bayes.posterior.hierarchical",  # HierarchicalFit, load_hierarchical
        "scaling_bayes.model.hierarchical",  # default_pool, hierarchical_priors, ...
        "scaling_bayes.evaluation.pooling",  # compare_pooling, pooling_fits, pooling_loo
    ),
    "laws": "scaling_bayes.laws",
    "plots": "scaling_bayes.plots",
    "design": "scaling_bayes.decisions.design",
    "schedules": "scaling_bayes.data.schedules",
}

__all__ = ["__version__", *_EXPORTS]


class _Namespace(types.ModuleType):
    """A v0.1 module whose names now live in several modules: ``sb.hierarchical.compare_pooling``
    is looked up in each of ``modules`` in turn (each imported on first use)."""

    def __init__(self, name: str, modules: tuple[str, ...]):
        super().__init__(f"scaling_bayes.{name}")
        self.__modules = modules

    def __getattr__(self, attr: str):
        if not attr.startswith("__"):
            for mod in self.__modules:
                value = getattr(importlib.import_module(mod), attr, _MISSING)
                if value is not _MISSING:
                    return value
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")

    def __dir__(self):
        return sorted({n for m in self.__modules for n in dir(importlib.import_module(m))
                       if not n.startswith("_")})


_MISSING = object()
_NAMESPACES: dict[str, _Namespace] = {}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        target = _SUBMODULES[name]
        if isinstance(target, str):
            return importlib.import_module(target)
        if name not in _NAMESPACES:
            _NAMESPACES[name] = _Namespace(name, target)
        return _NAMESPACES[name]
    raise AttributeError(f"module 'scaling_bayes' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from scaling_bayes._core.errors import ScalingBayesError
    from scaling_bayes.data.datasets import list_datasets, load_dataset
    from scaling_bayes.data.observations import DataError, ScalingData, load_data
    from scaling_bayes.decisions.allocation import (
        compute_optimal,
        compute_optimal_by_group,
        compute_waste,
        exponents_by_group,
        inference_optimal,
        target_loss,
    )
    from scaling_bayes.decisions.forecast import predict
    from scaling_bayes.evaluation.backtest import backtest
    from scaling_bayes.evaluation.comparison import compare, compare_conventions
    from scaling_bayes.evaluation.pooling import compare_pooling
    from scaling_bayes.evaluation.prior_sensitivity import prior_sensitivity
    from scaling_bayes.evaluation.shape_study import shape_analysis
    from scaling_bayes.inference.aot import enable_cache
    from scaling_bayes.inference.fit import fit
    from scaling_bayes.inference.hierarchical import fit_hierarchical
    from scaling_bayes.inference.many import fit_many
    from scaling_bayes.laws.base import Law, get_law, list_laws
    from scaling_bayes.model.custom import custom_law
    from scaling_bayes.model.priors import Prior, default_priors
    from scaling_bayes.model.settings import (
        ModelSettings,
        NUTSSettings,
        SamplerConfig,
        SettingsError,
    )
    from scaling_bayes.posterior.fit import Fit
    from scaling_bayes.posterior.formats import load_fit
    from scaling_bayes.posterior.hierarchical import HierarchicalFit, load_hierarchical
    from scaling_bayes.posterior.many import ManyFits
    from scaling_bayes.data.curves import load_curves
    from scaling_bayes.decisions.curves import forecast_run
    from scaling_bayes.inference.curves import fit_curves
    from scaling_bayes.posterior.curves import CurveFit
