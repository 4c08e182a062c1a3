"""Fit a schedule-aware law to whole training curves: :func:`fit_curves`.

``fit_curves(data, law="lr_annealing", run="run", seed=0)`` reads long-format checkpoints
(:func:`scaling_bayes.data.curves.load_curves`: run id, N, step, lr, loss; the schedule
features S1, S2 computed per run; warmup checkpoints dropped by the documented rule), and
samples the law with the correlated curve likelihood of :mod:`scaling_bayes.model.curves`
(AR(1) residuals in log-step) by NUTS on the engine of
:func:`scaling_bayes.fit` (mode search from prior draws, Laplace-whitened NUTS, chunked
sampling, one compiled program per padded size, reused across fits and stored on disk).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes._core.env import load_jax as _jax
from scaling_bayes._core.progress import ProgressBar
from scaling_bayes.data.curves import CurveData, load_curves
from scaling_bayes.data.observations import DataError
from scaling_bayes.data.schedules import DEFAULT_MOMENTUM
from scaling_bayes.inference.engine import (
    _Program,
    bucket_size,
    posterior_modes,
    sample_program,
)
from scaling_bayes.laws.base import Law, get_law, is_builtin
from scaling_bayes.model.curves import CURVE_NOISE, curve_model, curve_priors
from scaling_bayes.model.priors import Prior
from scaling_bayes.model.settings import (
    ModelSettings,
    NUTSSettings,
    SamplerConfig,
    SettingsError,
    sampler_config,
)
from scaling_bayes.posterior.base import provenance
from scaling_bayes.posterior.curves import CurveFit

__all__ = ["CURVE_DEFAULTS", "CURVE_LAWS", "fit_curves"]

#: NUTS defaults of :func:`fit_curves`: 8 starts of the mode search (not 32). Its damped-Newton
#: runs cost rows x starts: with 32 starts the search took 18-22 s of a 51 s fit of the OLMo
#: curves (1,444 rows; load 12 on 2 cores); the curve posteriors met so far have one mode
#: (benchmarks/curves: R-hat 1.000 on every OLMo fit).
CURVE_DEFAULTS = NUTSSettings(n_starts=8)

#: Laws :func:`fit_curves` can fit: their inputs are N and the schedule features.
CURVE_LAWS = ("lr_annealing",)
_CURVE_INPUTS = {"N", "S1", "S2"}


@functools.lru_cache(maxsize=16)
def _program(law: Law, priors_key: str, noise: str, n_runs: int, n_pad: int) -> _Program:
    priors = {k: Prior.parse(v) for k, v in json.loads(priors_key).items()}
    model = functools.partial(curve_model, law=law, priors=priors, noise=noise, n_runs=n_runs)
    key = (json.dumps(["curves", law.name, priors_key, noise, n_runs, n_pad])
           if is_builtin(law) else None)
    return _Program(law, priors, "normal", 4.0, n_pad, model=model,
                    shapes={"z": (n_runs,)} if noise == "ar1_run" else {},
                    mean=lambda p, x: law.sampler_log_loss(p, x), cache_key=key)


def _args(data: CurveData, ref: Mapping[str, float], n_pad: int):
    """Model arguments ``(x, ref, y, mask)`` with a leading batch axis of 1."""
    import jax.numpy as jnp

    k = data.kept
    n = len(k)
    runs = list(data.runs.index)
    run_idx = np.searchsorted(np.asarray(runs), k["run"].to_numpy())
    prev = np.arange(n_pad)
    first = np.ones(n_pad, dtype=bool)
    dt = np.ones(n_pad)
    t = np.log(k["step"].to_numpy())
    same = np.zeros(n, dtype=bool)
    same[1:] = run_idx[1:] == run_idx[:-1]
    prev[1:n][same[1:]] = np.arange(n - 1)[same[1:]]
    first[:n] = ~same
    dt[1:n] = np.where(same[1:], t[1:] - t[:-1], 1.0)

    def pad(a, fill=0.0):
        out = np.full(n_pad, fill, dtype=float)
        out[:n] = a
        return out

    x = {
        "N": pad(np.log(k["N"].to_numpy() / ref["N"])),
        "S1": pad(np.log(k["S1"].to_numpy() / ref["S1"])),
        "S2": pad(np.log(np.maximum(k["S2"].to_numpy(), 1e-12 * ref["S2"]) / ref["S2"])),
    }
    x = {v: jnp.asarray(a[None]) for v, a in x.items()}
    ri = np.zeros(n_pad, dtype=np.int32)
    ri[:n] = run_idx
    x["_run"] = jnp.asarray(ri[None])
    x["_prev"] = jnp.asarray(prev[None].astype(np.int32))
    x["_first"] = jnp.asarray(first[None])
    x["_dt"] = jnp.asarray(dt[None])
    y = jnp.asarray(pad(np.log(k["loss"].to_numpy()))[None])
    mask = np.zeros(n_pad, dtype=bool)
    mask[:n] = True
    r = {v: jnp.asarray([float(ref[v])]) for v in ("N", "S1", "S2")}
    return x, r, y, jnp.asarray(mask[None])


def curve_ref(data: CurveData) -> dict[str, float]:
    """Pivots of a curve fit: geometric means of N (over runs) and of S1 (over kept
    checkpoints), and the largest S2 (so ``lnC0`` is the log of the full annealing drop)."""
    k = data.kept
    s2 = float(k["S2"].max())
    return {"N": float(np.exp(np.mean(np.log(data.runs["N"])))),
            "S1": float(np.exp(np.mean(np.log(k["S1"])))),
            "S2": s2 if s2 > 0 else 1.0}


def fit_curves(
    data,
    law: str | Law = "lr_annealing",
    *,
    run: str = "run",
    noise: str = "ar1",
    seed: int | None = None,
    chains: int | None = None,
    warmup: int | None = None,
    draws: int | None = None,
    target_accept: float | None = None,
    max_tree_depth: int | None = None,
    sampler: NUTSSettings | SamplerConfig | None = None,
    priors: Mapping[str, Any] | None = None,
    lam: float = DEFAULT_MOMENTUM,
    assume_warmup: bool = True,
    warmup_factor: float = 2.0,
    min_fraction: float = 0.0,
    thin: int = 1,
    columns: Mapping[str, str] | None = None,
    progress: bool | Callable[[int, int], None] = False,
    warn: bool = True,
) -> CurveFit:
    """Fit a schedule-aware law to the training curves of a ladder of runs.

    Parameters
    ----------
    data
        DataFrame or CSV path, one row per checkpoint, with columns ``run`` (see ``run``),
        ``N``, ``step``, ``lr`` (learning rate at that step), ``loss`` (nats/token) and
        optionally ``D`` (tokens seen) or ``batch_tokens``; or a
        :class:`~scaling_bayes.data.curves.CurveData` from
        :func:`~scaling_bayes.data.curves.load_curves`.
    law
        ``"lr_annealing"`` (:mod:`scaling_bayes.laws.schedule`; default) or another law of
        ``N``, ``S1`` and ``S2``.
    run
        The run-id column.
    noise
        ``"ar1"`` (default: AR(1) residuals in log-step, :mod:`scaling_bayes.model.curves`),
        ``"ar1_run"`` (plus a run random effect) or ``"iid"`` (independent residuals: the
        naive model whose intervals shrink with the number of checkpoints).
    seed, chains, warmup, draws, target_accept, max_tree_depth, sampler
        NUTS settings as in :func:`scaling_bayes.fit` (4 chains, 1000 warmup, 1000 draws;
        8 starts of the mode search, :data:`CURVE_DEFAULTS`).
    priors
        Overrides by name: the law's sampler sites, ``sigma``, ``tau``, ``ell``.
    lam, assume_warmup, warmup_factor, min_fraction, thin
        Schedule features and the checkpoint rule (:func:`~scaling_bayes.data.curves.load_curves`).
    columns
        Renames ``{standard: yours}`` for ``loss``, ``step``, ``lr``, ``N``, ``D``.
    """
    t_start = time.perf_counter()
    law = get_law(law)
    if set(law.inputs) != _CURVE_INPUTS:
        raise SettingsError(
            f"law {law.name!r} has inputs {', '.join(law.inputs)}; fit_curves fits laws of N, "
            f"S1 and S2 (the schedule features): {', '.join(CURVE_LAWS)}")
    if noise not in CURVE_NOISE:
        raise SettingsError(f"noise must be one of {', '.join(CURVE_NOISE)}, got {noise!r}")
    config = sampler_config(sampler, ModelSettings(likelihood="normal"),
                            defaults=CURVE_DEFAULTS, seed=seed,
                            chains=chains, warmup=warmup, draws=draws,
                            target_accept=target_accept, max_tree_depth=max_tree_depth)
    cols = {"loss": "loss", "step": "step", "lr": "lr", "N": "N", "D": "D",
            **dict(columns or {})}
    curves = load_curves(data, run=run, loss=cols["loss"], step=cols["step"], lr=cols["lr"],
                         N=cols["N"], tokens=cols["D"], lam=lam, assume_warmup=assume_warmup,
                         warmup_factor=warmup_factor,
                         min_fraction=min_fraction, thin=thin)
    if curves.n < law.n_params + 3:
        raise DataError(f"only {curves.n} checkpoints pass the warmup rule; the law and the "
                        f"noise model have {law.n_params + 3} parameters")
    if curves.runs["N"].nunique() < 2:
        raise DataError("the runs have a single model size N; the law's model-size term needs "
                        "runs of at least 2 sizes (3 or more to extrapolate in N)")
    n_runs = len(curves.runs)
    all_priors = curve_priors(law, noise, n_runs, priors)
    ref = curve_ref(curves)

    enable_x64_on_cpu()
    jax = _jax()
    n_pad = bucket_size(curves.n)
    key = json.dumps({k: str(v) for k, v in sorted(all_priors.items())})
    prog = _program(law, key, noise, n_runs, n_pad)
    k_start, k_init, k_nuts = jax.random.split(jax.random.PRNGKey(config.seed), 3)
    args = _args(curves, ref, n_pad)
    names = [f"{law.name} curves"]
    modes, covs = posterior_modes(prog, args, k_start[None], config.n_starts, names)
    reporter = None
    if progress:
        reporter = progress if callable(progress) else ProgressBar(
            config.warmup + config.draws, config.chains)
    try:
        out, _ = sample_program(prog, args, [ref], modes, covs, config, k_init, k_nuts,
                                progress=reporter, log_likelihood=False, t_start=t_start)
    finally:
        if reporter is not None and not callable(progress):
            reporter.close()
    post = {k: v[0] for k, v in out.posterior.items()}
    if noise == "ar1_run":
        post["run_effect"] = post["tau"][..., None] * post["z"]
    meta = provenance(curves.hash(), {**out.timings, "total_s": time.perf_counter() - t_start},
                      out.modes[0])
    result = CurveFit(law=law, data=curves, noise=noise, posterior=post,
                      sample_stats={k: v[0] for k, v in out.sample_stats.items()},
                      priors=all_priors, config=config, ref=ref, meta=meta)
    if warn:
        result.check(warn=True)
    return result
