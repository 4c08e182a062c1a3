"""The public entry point for one fit: :func:`fit` (NUTS on the engine of
:mod:`scaling_bayes.inference.engine`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes._core.progress import ProgressBar
from scaling_bayes.data.observations import load_data, warn_design
from scaling_bayes.inference.engine import run_batch
from scaling_bayes.inference.extrapolation import calibrate_extrapolation
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.literature import LiteraturePriors, literature
from scaling_bayes.model.priors import PriorError, is_proper, resolve_priors
from scaling_bayes.model.settings import (
    ModelSettings,
    NUTSSettings,
    SamplerConfig,
    SettingsError,
    sampler_config,
)
from scaling_bayes.posterior.contraction import warn_prior_dominated
from scaling_bayes.posterior.fit import Fit


def check_ref(law: Law, ref: Mapping[str, float] | None) -> None:
    """Raise :class:`SettingsError` unless every fixed pivot ``ref`` names one of ``law``'s
    inputs with a positive finite scale."""
    if ref is None:
        return
    bad = [k for k in ref if k not in law.inputs or not (np.isfinite(ref[k]) and ref[k] > 0)]
    if bad:
        raise SettingsError(
            f"ref: {bad[0]!r} must be one of the law's inputs ({', '.join(law.inputs)}) "
            "with a positive finite scale")


class _Background:
    """``fn(*args)`` running in a daemon thread; :meth:`result` waits and returns it (or
    raises what it raised). ``seconds``: how long it ran."""

    def __init__(self, fn, *args):
        self._out: tuple = ()
        self.seconds = 0.0

        def run():
            t = time.perf_counter()
            try:
                self._out = (True, fn(*args))
            except BaseException as e:  # re-raised in the caller's thread
                self._out = (False, e)
            self.seconds = time.perf_counter() - t

        self._thread = threading.Thread(target=run, name="scaling_bayes-background",
                                        daemon=True)
        self._thread.start()

    def result(self):
        self._thread.join()
        ok, value = self._out
        if not ok:
            raise value
        return value


def fit(
    data,
    law: str | Law = "chinchilla",
    *,
    sampler: NUTSSettings | SamplerConfig | None = None,
    model: ModelSettings | None = None,
    seed: int | None = None,
    chains: int | None = None,
    warmup: int | None = None,
    draws: int | None = None,
    likelihood: str | None = None,
    nu: float | None = None,
    extrapolation: str | None = None,
    priors: Mapping[str, Any] | str | None = None,
    target_accept: float | None = None,
    max_tree_depth: int | None = None,
    dense_mass: bool | None = None,
    ref: Mapping[str, float] | None = None,
    columns: Mapping[str, str] | None = None,
    progress: bool | Callable[[int, int], None] = False,
    warn: bool = True,
) -> Fit:
    """Fit a scaling law by NUTS and return a :class:`~scaling_bayes.posterior.fit.Fit`.

    Parameters
    ----------
    data
        CSV path, pandas DataFrame (e.g. from :func:`scaling_bayes.load_dataset`) or
        :class:`~scaling_bayes.data.observations.ScalingData`. See :func:`~scaling_bayes.data.observations.load_data`.
    law
        Registered law name (:func:`scaling_bayes.list_laws`) or a :class:`~scaling_bayes.laws.base.Law`.
    sampler, model
        The NUTS settings (:class:`~scaling_bayes.model.settings.NUTSSettings`, default
        ``NUTSSettings()``; a fit's ``config`` also works) and model choices
        (:class:`~scaling_bayes.model.settings.ModelSettings`) as objects. The keywords below
        are a convenience: each fills in its setting when the object is not given, and must
        agree with the object when it is (else ``SettingsError``).
    seed
        Seed of every random choice (starts, chain inits, NUTS), default 0; same seed, same data
        and same platform give an identical posterior.
    chains, warmup, draws
        NUTS chains (default 4; >= 4 recommended for R-hat), warmup iterations per chain
        (1000), kept draws per chain (1000).
    likelihood, nu
        ``"student_t"`` (default, robust, ``nu`` = 4 degrees of freedom) or ``"normal"`` on
        log-loss.
    extrapolation
        ``"calibrated"`` (default): forecasts beyond the range of the data carry a structural
        error term that grows with the distance from the data, learned from within-data
        extrapolation backtests (fit the smaller runs, predict the larger ones; see
        :mod:`scaling_bayes.posterior.extrapolation`; ``fit.extrapolation`` holds it).
        ``"none"``: parameter and noise uncertainty only (the v0.1 intervals).
    priors
        Overrides by sampler-parameter name, e.g. ``{"alpha": "LogNormal(loc=-1, scale=0.3)"}``;
        see :func:`scaling_bayes.model.priors.default_priors`. ``"literature"`` (or a
        :class:`~scaling_bayes.model.literature.LiteraturePriors` from
        ``sb.priors.literature(...)``, e.g. with ``exclude=``): priors learned from the bundled
        published sweeps, moved to the scales of ``data``, with the pivots ``ref`` they are
        stated at (see :mod:`scaling_bayes.model.literature`). With proper priors (always, unless
        a custom law's default is improper) fewer runs than free parameters are allowed; the
        fit then issues one :class:`~scaling_bayes.posterior.contraction.PriorDominatedWarning`
        line with posterior sd / prior sd per parameter.
    target_accept, max_tree_depth, dense_mass
        NUTS settings (0.9, 10, and a dense mass matrix by default: the laws have few
        parameters).
    ref
        Fix the pivot scales, e.g. ``{"N": 1e8, "D": 2e9}`` (default: chosen from the data).
    progress
        ``True`` for a progress bar on stderr, or a callable ``(done, total)``.
    warn
        Emit :class:`~scaling_bayes.posterior.diagnostics.DiagnosticWarning` for divergences,
        R-hat > 1.01 or ESS < 400.
    """
    t_start = time.perf_counter()
    law = get_law(law)
    config = sampler_config(sampler, model, seed=seed, chains=chains, warmup=warmup,
                            draws=draws, likelihood=likelihood, nu=nu, extrapolation=extrapolation,
                            target_accept=target_accept, max_tree_depth=max_tree_depth,
                            dense_mass=dense_mass)
    data = load_data(data, columns=dict(columns) if columns else None)
    lit = None
    if isinstance(priors, str):
        if priors != "literature":
            raise PriorError(f"priors={priors!r}: give a mapping of overrides by parameter "
                             "name, 'literature', or sb.priors.literature(...)")
        lit = literature(law)
    elif isinstance(priors, LiteraturePriors):
        lit = priors
    if lit is not None:
        if lit.law != law.name:
            raise PriorError(f"the literature prior is for law {lit.law!r}, not {law.name!r}")
        priors, lit_ref = lit.for_data(data)
        ref = lit_ref if ref is None else ref
    priors = resolve_priors(law, priors)
    data.check_for_law(law, allow_few=all(is_proper(p) for p in priors.values()))
    warn_design(data, law)  # DataWarning, once: loss not in nats/token, collinear log N/log D
    check_ref(law, ref)

    # The within-data backtests of the error-growth term do not depend on the NUTS run: they
    # run in a second thread meanwhile (XLA releases the GIL, so on two or more cores they
    # cost no wall time); their result is the same as when run after it.
    enable_x64_on_cpu()  # before either thread builds an array
    ext_job = (_Background(calibrate_extrapolation, law, data, priors, config)
               if config.extrapolation == "calibrated" else None)
    reporter = None
    if progress:
        reporter = progress if callable(progress) else ProgressBar(
            config.warmup + config.draws, config.chains)
    try:
        run, ll = run_batch(law, [data], priors, config, names=[data.source], ref=ref,
                            progress=reporter)
    finally:
        if reporter is not None and not callable(progress):
            reporter.close()
    t_wait = time.perf_counter()
    ext = None if ext_job is None else ext_job.result()
    timings = {**run.timings,
               "extrapolation_s": 0.0 if ext_job is None else ext_job.seconds,
               "extrapolation_wait_s": time.perf_counter() - t_wait,
               "total_s": time.perf_counter() - t_start}
    result = Fit.from_sampler(
        law=law, data=data, posterior={k: v[0] for k, v in run.posterior.items()},
        sample_stats={k: v[0] for k, v in run.sample_stats.items()},
        log_likelihood=ll[0, ..., : data.n], priors=priors, config=config, ref=run.refs[0],
        mode=run.modes[0], timings=timings,
        extrapolation=None if ext is None else ext.to_dict())
    if lit is not None:
        result.meta["prior_source"] = lit.describe()
    if warn:
        result.check(warn=True)
        warn_prior_dominated(result)
    return result
