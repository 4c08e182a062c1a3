"""The result of a fit: posterior draws as labelled arrays, settings, provenance; save/load.

A :class:`Fit` is immutable. ``fit.idata`` builds an ``arviz.InferenceData`` on first use (the
fit path itself does not import ArviZ); ``fit.summary()`` is a DataFrame indexed by parameter;
``fit.save(path)`` writes one netCDF file atomically, and
:func:`~scaling_bayes.posterior.formats.load_fit` restores the fit exactly
(every array bit-for-bit). The file holds a ``posterior_predictive`` group (replicated log-loss at
the data's rows, :attr:`Fit.posterior_predictive`), so ``arviz.plot_ppc(arviz.from_netcdf(path))``
works; files written before it existed load too (the group is then drawn again, identically).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import ScalingData
from scaling_bayes.laws.base import Law
from scaling_bayes.model.priors import SIGMA, Prior
from scaling_bayes.model.settings import SamplerConfig
from scaling_bayes.posterior import diagnostics
from scaling_bayes.posterior.base import (
    FORMATS,
    FitFileError,
    RowsPosterior,
    provenance,
)
from scaling_bayes.posterior.diagnostics import summarize
from scaling_bayes.posterior.draws import law_on_draws
from scaling_bayes.posterior.extrapolation import Extrapolation, of_fit

__all__ = ["Fit", "FitFileError"]


@FORMATS.register("fit")
@dataclass(frozen=True, eq=False)
class Fit(RowsPosterior):
    """Posterior of one law on one data set.

    Attributes
    ----------
    law
        The :class:`~scaling_bayes.laws.base.Law`.
    data
        The validated observations.
    posterior
        ``{name: array (chain, draw)}`` for the sampler parameters, the textbook parameters
        (e.g. ``E, A, B, alpha, beta``) and ``sigma``.
    sample_stats
        NUTS statistics per draw: ``diverging``, ``n_steps``, ``tree_depth``,
        ``acceptance_rate``, ``lp``, ``energy``, ``step_size``.
    log_likelihood
        Pointwise log-likelihood of the observed log-loss, ``(chain, draw, n)``.
    priors, config, ref
        Priors used, sampler settings, pivot scales of the sampler parameterization.
    meta
        Provenance: data hash, package versions, creation time, timings, posterior mode.
    """

    what = "a single fit"

    law: Law
    data: ScalingData
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    log_likelihood: np.ndarray
    priors: dict[str, Prior]
    config: SamplerConfig
    ref: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_sampler(cls, *, law, data, posterior, sample_stats, log_likelihood, priors, config,
                     ref, mode, timings, extrapolation=None) -> Fit:
        meta = provenance(data.hash(), timings, mode)
        if extrapolation is not None:
            meta["extrapolation"] = extrapolation
        return cls(law=law, data=data, posterior=posterior, sample_stats=sample_stats,
                   log_likelihood=log_likelihood, priors=dict(priors), config=config,
                   ref={k: float(v) for k, v in ref.items()}, meta=meta)

    # ------------------------------------------------------------------ access
    @property
    def reported(self) -> tuple[str, ...]:
        """Names of the parameters users read: the textbook ones and ``sigma``."""
        return (*self.law.param_names, SIGMA.name)

    @property
    def sampled(self) -> tuple[str, ...]:
        """Names of the sampler parameters."""
        return (*self.law.site_names, SIGMA.name)

    @functools.cached_property
    def extrapolation(self) -> Extrapolation | None:
        """The structural error-growth term of forecasts beyond the data
        (:class:`~scaling_bayes.posterior.extrapolation.Extrapolation`), or ``None`` for a fit
        made with ``extrapolation="none"``."""
        return of_fit(self)

    def textbook_draws(self) -> dict[str, np.ndarray]:
        """Textbook parameters as flat arrays over all draws (chains concatenated)."""
        return {k: self.posterior[k].reshape(-1) for k in self.law.param_names}

    # ------------------------------------------------------------------ summaries
    def summary(self, params: str | list[str] | None = None,
                quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Posterior table indexed by parameter.

        Columns: mean, sd, the requested quantiles (``q5``, ``q50``, ``q95``: the 90% central
        interval by default), mcse_mean, ess_bulk, ess_tail and rank-normalized r_hat.
        ``params``: ``None`` for the reported (textbook) parameters, ``"sampled"`` for the sampler
        parameters, ``"all"`` for both, or a list of names.
        """
        if params is None:
            names = list(self.reported)
        elif params == "sampled":
            names = list(self.sampled)
        elif params == "all":
            names = list(dict.fromkeys((*self.reported, *self.sampled)))
        else:
            names = [params] if isinstance(params, str) else list(params)
        return summarize({k: self.draws(k) for k in names}, quantiles=quantiles)

    def check(self, warn: bool = False):
        """Diagnostic problems (an empty list if clean): one line per kind of problem (R-hat >
        1.01 or NaN, bulk or tail ESS < 400 or NaN, divergences, tree-depth hits) naming the
        parameters and their values; the advice is in ``.advice`` (a
        :class:`~scaling_bayes.posterior.diagnostics.Problems`).
        ``print(fit.check().block())`` shows the block.

        R-hat and ESS are checked for the reported and the sampled parameters. With
        ``warn=True`` the block is also issued as one ``DiagnosticWarning``.
        """
        depth = self.sample_stats["tree_depth"]
        msgs = diagnostics.check(
            self.summary("all"),
            divergences=self.divergences,
            n_draws_total=self.n_chains * self.n_draws,
            tree_depth_hits=int(np.sum(depth >= self.config.max_tree_depth)),
            max_tree_depth=self.config.max_tree_depth,
        )
        if warn and msgs:
            diagnostics.warn(msgs, title=f"diagnostics of the {self.law.name} fit:")
        return msgs

    def __repr__(self) -> str:
        return (f"<Fit law={self.law.name} n={self.data.n} chains={self.n_chains} "
                f"draws={self.n_draws} divergences={self.divergences}>")

    # ------------------------------------------------------------------ files
    def _law_mean(self) -> np.ndarray:
        return law_on_draws(self.law, self.posterior, self.data)

    @classmethod
    def _from_file(cls, idata, info, path, error) -> Fit:
        fields = cls._read(idata, info, path, error)
        # files written before the extrapolation setting existed: their fits had none
        fit = cls(**fields, config=SamplerConfig(**{"extrapolation": "none", **info["config"]}))
        fit._restore(idata, path, error)
        return fit

