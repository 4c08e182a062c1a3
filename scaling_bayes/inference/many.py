"""Many independent fits in one compiled, vmapped program: ``fit_many``.

Data sets (a list, a dict, or a DataFrame grouped by columns) are padded to one size and stacked;
the mode search, the Laplace start and NUTS run for all of them at once (``jax.vmap`` over data
sets and chains), each data set with its own pivots, step size and mass matrix. Diagnostics are
computed per fit, vectorized.

Scaling out: every program here is a pure function of arrays stacked over data sets. With
several devices (GPUs; on CPU, host devices from
``XLA_FLAGS=--xla_force_host_platform_device_count=K``) each program runs under
``jax.shard_map`` over a one-axis mesh of all devices, so every device runs its slice of the data
sets on its own (``inference._spmd``); no scheduler of ours is involved. Across hosts, call
``jax.distributed.initialize()`` in every process first: ``jax.devices()`` then spans all hosts,
the same mesh covers them, and each process supplies the data sets of its local devices (the
padding to a multiple of the device count applies to the global count).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes._core.progress import ProgressBar
from scaling_bayes.data.observations import DataError, ScalingData, load_data
from scaling_bayes.inference import distributed as _dist
from scaling_bayes.inference.engine import bucket_size, model_args, run_batch
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import resolve_priors
from scaling_bayes.model.settings import (
    ModelSettings,
    NUTSSettings,
    SamplerConfig,
    sampler_config,
)
from scaling_bayes.posterior.many import ManyFits

#: NUTS defaults of :func:`fit_many` (shorter chains and fewer mode-search starts than
#: :func:`scaling_bayes.fit`; see its ``n_starts``).
MANY_DEFAULTS = NUTSSettings(warmup=500, draws=500, n_starts=16)


def _split(datasets, by, columns) -> tuple[list[str], list[ScalingData]]:
    if isinstance(datasets, pd.DataFrame):
        if by is None:
            raise ValueError("fit_many: with one DataFrame, say which columns define the fits "
                             "(by='group' or by=['dataset', 'setting'])")
        keys = [by] if isinstance(by, str) else list(by)
        missing = [k for k in keys if k not in datasets.columns]
        if missing:
            raise DataError(f"fit_many: by column {missing[0]!r} is not in the data; columns "
                            f"are: {', '.join(map(str, datasets.columns))}")
        items = [(str(k if len(keys) > 1 else k[0]), g.reset_index(drop=True))
                 for k, g in datasets.groupby(keys, sort=True, dropna=False)]
    elif isinstance(datasets, Mapping):
        items = [(str(k), v) for k, v in datasets.items()]
    elif isinstance(datasets, Sequence) and not isinstance(datasets, (str, bytes)):
        items = [(str(i), v) for i, v in enumerate(datasets)]
    else:
        raise TypeError("fit_many: datasets must be a list or dict of data sets, or a DataFrame "
                        "with by=...")
    if not items:
        raise ValueError("fit_many: no data sets given")
    names, datas = [], []
    for name, d in items:
        try:
            data = load_data(d, columns=dict(columns) if columns else None)
        except DataError as e:
            raise type(e)(f"data set {name!r}: {e}") from None
        names.append(name)
        datas.append(data)
    return names, datas


def fit_many(
    datasets,
    law: str | Law = "chinchilla",
    *,
    by: str | Sequence[str] | None = None,
    sampler: NUTSSettings | SamplerConfig | None = None,
    model: ModelSettings | None = None,
    seed: int | None = None,
    chains: int | None = None,
    warmup: int | None = None,
    draws: int | None = None,
    likelihood: str | None = None,
    nu: float | None = None,
    priors: Mapping[str, Any] | None = None,
    target_accept: float | None = None,
    max_tree_depth: int | None = None,
    dense_mass: bool | None = None,
    columns: Mapping[str, str] | None = None,
    ref: Mapping[str, float] | None = None,
    log_likelihood: bool = False,
    n_starts: int | None = None,
    progress=False,
    distributed: bool | None = None,
) -> ManyFits:
    """Fit one law to many data sets at once (one compiled program, vmapped).

    Parameters
    ----------
    datasets
        A list or dict of data sets (CSV paths, DataFrames or ScalingData), or one DataFrame with
        ``by`` naming the grouping column(s) (data sets, bootstrap replicates, tasks, seeds).
    law, sampler, model, seed, chains, warmup, draws, likelihood, nu, priors, target_accept,
    max_tree_depth, dense_mass, columns
        As in :func:`scaling_bayes.fit`; the same settings apply to every data set. Without
        ``sampler``, ``warmup`` and ``draws`` default to 500 here and ``n_starts`` to 16
        (:data:`MANY_DEFAULTS`).
    ref
        Fix the pivot scales of every fit (default: chosen per data set). Simulation-based
        calibration fixes them, so that the prior does not depend on the simulated data.
    log_likelihood
        Keep pointwise log-likelihoods for every fit (memory: fits x chains x draws x rows);
        without it, ``many[i]`` recomputes them for fit ``i`` on demand.
    n_starts
        Prior draws per data set that start the posterior-mode search (32 in
        :func:`scaling_bayes.fit`; 16 here, as the search is a large part of a batch's cost: on
        40 Chinchilla resamples of 50 rows 99% of the starts reach the same best mode).

    distributed
        Split the data sets across the processes connected by ``jax.distributed`` (see
        :func:`scaling_bayes.inference.distributed.initialize`): each fits a contiguous block
        on its local devices and every process gets all fits back. Default: whenever there are
        several processes. The draws are the same as with one process.

    Scaling out: with several devices (GPUs, or CPU host devices from
    ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` set before JAX starts) the data sets
    are split across them by ``jax.shard_map`` (padded to a multiple of the device count);
    across processes and hosts by ``jax.distributed`` (``distributed`` above).
    Every data set's random choices come from ``fold_in(seed, its position)``: its draws do
    not depend on how the batch is split.

    Returns
    -------
    ManyFits
        Posterior draws shaped ``(fit, chain, draw)``, a per-fit summary table and diagnostics;
        ``many[i]`` or ``many["name"]`` is a full :class:`~scaling_bayes.posterior.fit.Fit`
        (:class:`~scaling_bayes.posterior.many.ManyFits`).
    """
    law = get_law(law)
    config = sampler_config(sampler, model, defaults=MANY_DEFAULTS, seed=seed, chains=chains,
                            warmup=warmup, draws=draws, likelihood=likelihood, nu=nu,
                            target_accept=target_accept, max_tree_depth=max_tree_depth,
                            dense_mass=dense_mass, n_starts=n_starts)
    # no error-growth term for batches yet (fit() learns it per data set): recorded as such
    config = dataclasses.replace(config, extrapolation="none")
    names, datas = _split(datasets, by, columns)
    for name, data in zip(names, datas, strict=True):
        try:
            data.check_for_law(law)
        except DataError as e:
            raise type(e)(f"data set {name!r}: {e}") from None
    priors = resolve_priors(law, priors)
    reporter = None
    if progress:
        reporter = progress if callable(progress) else ProgressBar(
            config.warmup + config.draws, config.chains * len(datas))
    B = len(datas)
    n_pad = bucket_size(max(d.n for d in datas))
    split = _dist.is_distributed() if distributed is None else bool(distributed)
    lo, hi = _dist.process_share(B) if split else (0, B)
    # a process whose block is empty (fewer data sets than processes) fits the last one and
    # contributes no rows
    part = slice(lo, hi) if hi > lo else slice(B - 1, B)
    try:
        run, ll = run_batch(law, datas[part], priors, config, names=names[part], ref=ref,
                            progress=reporter, log_likelihood=log_likelihood,
                            index=np.arange(B)[part], n_pad=n_pad, batch=B)
    finally:
        if reporter is not None and not callable(progress):
            reporter.close()
    if split:
        run, ll = _gather(law, run, ll, datas, n_pad, hi - lo)
    return ManyFits(law=law, names=names, datas=datas, posterior=run.posterior,
                    sample_stats=run.sample_stats, priors=priors, config=config, refs=run.refs,
                    modes=run.modes, timings=run.timings, _run=run, _ll=ll)


def _gather(law: Law, run, ll, datas, n_pad: int, n_local: int):
    """The whole batch's run from every process's block (``jax.distributed``)."""
    B = len(datas)
    keys = sorted(run.modes[0]) if run.modes else []
    block = {
        "posterior": run.posterior, "sample_stats": run.sample_stats,
        "flat_draws": run.flat_draws,
        "refs": np.array([[r[v] for v in law.inputs] for r in run.refs], dtype=float),
        "modes": {k: np.array([np.asarray(m[k], dtype=float) for m in run.modes]) for k in keys},
        "timings": np.array([[run.timings[k] for k in sorted(run.timings)]], dtype=float),
    }
    if ll is not None:
        block["ll"] = ll
    block = {k: _rows(v, n_local) for k, v in block.items() if k != "timings"} | {
        "timings": block["timings"]}
    t = block.pop("timings")
    allrows = _dist.allgather_rows(block, B)
    import jax
    from jax.experimental import multihost_utils

    times = np.asarray(multihost_utils.process_allgather(t, tiled=True))  # (processes, k)
    refs = [{v: float(r[j]) for j, v in enumerate(law.inputs)} for r in allrows["refs"]]
    modes = [{k: _scalar_or_list(allrows["modes"][k][b]) for k in keys} for b in range(B)]
    timings = dict(zip(sorted(run.timings), times.max(axis=0).tolist(), strict=True))
    timings["processes"] = float(jax.process_count())
    full = dataclasses.replace(
        run, args=model_args(law, datas, refs, n_pad), refs=refs,
        posterior=allrows["posterior"], sample_stats=allrows["sample_stats"],
        flat_draws=allrows["flat_draws"], modes=modes, timings=timings)
    return full, allrows.get("ll")


def _rows(tree, n: int):
    import jax

    return jax.tree_util.tree_map(lambda a: np.asarray(a)[:n], tree)


def _scalar_or_list(a: np.ndarray):
    return float(a) if a.ndim == 0 else a.astype(float).tolist()
