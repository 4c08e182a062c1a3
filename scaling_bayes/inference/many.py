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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import DataError, ScalingData, load_data
from scaling_bayes.inference.engine import SamplerConfig, make_config, run_batch
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import SIGMA, Prior, resolve_priors


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
    seed: int = 0,
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
    likelihood: str = "student_t",
    nu: float = 4.0,
    priors: Mapping[str, Any] | None = None,
    target_accept: float = 0.9,
    max_tree_depth: int = 10,
    dense_mass: bool = True,
    columns: Mapping[str, str] | None = None,
    ref: Mapping[str, float] | None = None,
    log_likelihood: bool = False,
    n_starts: int = 16,
    progress=False,
) -> ManyFits:
    """Fit one law to many data sets at once (one compiled program, vmapped).

    Parameters
    ----------
    datasets
        A list or dict of data sets (CSV paths, DataFrames or ScalingData), or one DataFrame with
        ``by`` naming the grouping column(s) (data sets, bootstrap replicates, tasks, seeds).
    law, seed, chains, warmup, draws, likelihood, nu, priors, target_accept, max_tree_depth,
    dense_mass, columns
        As in :func:`scaling_bayes.fit`; the same settings apply to every data set.
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

    Scaling out: with several devices (GPUs, or CPU host devices from
    ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` set before JAX starts) the data sets
    are split across them by ``jax.shard_map`` (padded to a multiple of the device count).

    Returns
    -------
    ManyFits
        Posterior draws shaped ``(fit, chain, draw)``, a per-fit summary table and diagnostics;
        ``many[i]`` or ``many["name"]`` is a full :class:`~scaling_bayes.posterior.fit.Fit`.
    """
    law = get_law(law)
    config = make_config(seed=seed, chains=chains, warmup=warmup, draws=draws,
                         likelihood=likelihood, nu=nu, target_accept=target_accept,
                         max_tree_depth=max_tree_depth, dense_mass=dense_mass,
                         n_starts=n_starts)
    names, datas = _split(datasets, by, columns)
    for name, data in zip(names, datas, strict=True):
        try:
            data.check_for_law(law)
        except DataError as e:
            raise type(e)(f"data set {name!r}: {e}") from None
    priors = resolve_priors(law, priors)
    reporter = None
    if progress:
        from scaling_bayes._core.progress import ProgressBar

        reporter = progress if callable(progress) else ProgressBar(
            config.warmup + config.draws, config.chains * len(datas))
    try:
        run, ll = run_batch(law, datas, priors, config, names=names, ref=ref,
                            progress=reporter, log_likelihood=log_likelihood)
    finally:
        if reporter is not None and not callable(progress):
            reporter.close()
    return ManyFits(law=law, names=names, datas=datas, posterior=run.posterior,
                    sample_stats=run.sample_stats, priors=priors, config=config, refs=run.refs,
                    modes=run.modes, timings=run.timings, _run=run, _ll=ll)


@dataclass(frozen=True, eq=False)
class ManyFits:
    """Results of :func:`fit_many`: arrays with a leading fit axis, per-fit diagnostics."""

    law: Law
    names: list[str]
    datas: list[ScalingData]
    posterior: dict[str, np.ndarray]  # (fit, chain, draw)
    sample_stats: dict[str, np.ndarray]
    priors: dict[str, Prior]
    config: SamplerConfig
    refs: list[dict[str, float]]
    modes: list[dict[str, float]]
    timings: dict[str, float]
    _run: Any = field(repr=False, default=None)
    _ll: np.ndarray | None = field(repr=False, default=None)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return (f"<ManyFits law={self.law.name} fits={len(self)} chains={self.config.chains} "
                f"draws={self.config.draws} divergent fits={int(np.sum(self.divergences > 0))}>")

    @property
    def divergences(self) -> np.ndarray:
        """Divergent transitions per fit."""
        return self.sample_stats["diverging"].sum(axis=(1, 2))

    def summary(self, params: Sequence[str] | None = None,
                quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per-fit posterior table indexed by (fit, parameter), computed vectorized over fits."""
        from scaling_bayes.posterior import diagnostics as dg

        names = list(params) if params else [*self.law.param_names, SIGMA.name]
        frames = []
        for p in names:
            x = np.moveaxis(self.posterior[p], 0, -1)  # (chain, draw, fit)
            flat = x.reshape(-1, x.shape[-1])
            cols = {"mean": flat.mean(axis=0), "sd": flat.std(axis=0, ddof=1)}
            for q, v in zip(quantiles, np.quantile(flat, quantiles, axis=0), strict=True):
                cols[dg._quantile_label(q)] = v
            cols.update(mcse_mean=dg.mcse_mean(x), ess_bulk=dg.ess_bulk(x),
                        ess_tail=dg.ess_tail(x), r_hat=dg.rhat(x))
            frames.append(pd.DataFrame(cols, index=pd.MultiIndex.from_product(
                [self.names, [p]], names=["fit", "parameter"])))
        return pd.concat(frames).sort_index(level=0, sort_remaining=False)

    def check(self, rhat_max: float = 1.01, ess_min: float = 400) -> dict[str, list[str]]:
        """Diagnostic problems per fit (only fits with problems appear)."""
        from scaling_bayes.posterior import diagnostics as dg

        s = self.summary([*self.law.param_names, *self.law.site_names, SIGMA.name])
        out = {}
        depth = self.sample_stats["tree_depth"]
        for i, name in enumerate(self.names):
            msgs = dg.check(s.xs(name, level="fit").loc[lambda t: ~t.index.duplicated()],
                            divergences=int(self.divergences[i]),
                            n_draws_total=self.config.chains * self.config.draws,
                            tree_depth_hits=int(np.sum(depth[i] >= self.config.max_tree_depth)),
                            max_tree_depth=self.config.max_tree_depth,
                            rhat_max=rhat_max, ess_min=ess_min)
            if msgs:
                out[name] = msgs
        return out

    def __getitem__(self, key: int | str):
        """Fit ``key`` (position or name) as a full :class:`~scaling_bayes.posterior.fit.Fit`."""
        from scaling_bayes.posterior.fit import Fit

        i = self.names.index(key) if isinstance(key, str) else int(key)
        if not -len(self) <= i < len(self):
            raise IndexError(f"fit index {key} out of range for {len(self)} fits")
        i %= len(self)
        data = self.datas[i]
        if self._ll is not None:
            ll = self._ll[i, ..., : data.n]
        else:
            run = self._run
            args_i = _index_args(run.args, i)
            _, ll = run.program.postprocess(run.flat_draws[i][None], args_i)
            ll = np.asarray(ll)[0].reshape(self.config.chains, self.config.draws, -1)
            ll = ll[..., : data.n]
        return Fit.from_sampler(
            law=self.law, data=data, posterior={k: v[i] for k, v in self.posterior.items()},
            sample_stats={k: v[i] for k, v in self.sample_stats.items()}, log_likelihood=ll,
            priors=self.priors, config=self.config, ref=self.refs[i], mode=self.modes[i],
            timings=self.timings)


def _index_args(args, i: int):
    import jax

    return jax.tree_util.tree_map(lambda a: a[i : i + 1], args)
