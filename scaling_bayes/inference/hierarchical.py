"""Hierarchical pooling for any law: groups share or partially pool parameters.

``fit_hierarchical(data, law, group="COLUMN", pool={"alpha": "partial", "beta": "partial"})``
fits one law to several groups of runs at once (data mixes, data sets, seeds, learning rates,
architectures, tasks). Each of the law's sampler sites is, per ``pool``:

* ``"partial"``: partially pooled. A population location ``{site}_loc`` and scale
  ``{site}_scale`` on the site's natural unconstrained scale (log for positive sites such as
  exponents, identity for real ones), and per group ``site_g = T(u_g)`` with
  ``u_g ~ Normal(loc, scale)``: sampled as ``u_g = loc + scale * z_g``, ``{site}_z ~
  Normal(0, 1)`` (non-centred, the default) or as ``{site}_u`` (``centered=True``).
  ``{site}_pop = T(loc)`` is the population value (for a
  log-scale site, the median of the population distribution). The prior of ``{site}_loc`` is the
  law's prior of the site, moved to the unconstrained scale (``LogNormal(m, s)`` -> ``Normal(m,
  s)``; other priors by moment matching); ``{site}_scale ~ HalfNormal(s / 2)`` (e.g. exponents:
  HalfNormal(0.3) on log alpha, group exponents within about +-35% of each other a priori).
* ``"shared"``: one value for all groups (complete pooling of that site), the law's prior.
* ``"none"`` (every site not named): one value per group, each with the law's prior (no pooling).

Power-law amplitudes are sampled at pivots that are common to all groups (the pooled data's
reference scales, moved to decorrelate amplitudes from exponents as in :func:`scaling_bayes.fit`),
so per-group amplitudes are comparable. The noise scale ``sigma`` is shared by all groups.

``size_effect=True`` adds one offset on log-loss per distinct model size N, shared across groups:
``size_offset = size_tau * P u``, ``u_k ~ Normal(0, 1)``, ``size_tau ~ HalfNormal(0.02)``
(methods.md §0 item 6: structured misfit shared by all runs of one model size). ``P``
(:func:`size_projection`) removes the offsets' mean and linear trend in log N: free per-size
offsets could otherwise take over the level (E, amplitudes) and the model-size power law itself,
which then loses its identification (on marin2026 unconstrained offsets drove alpha to ~1).
Per-group predictions (:meth:`HierarchicalFit.group`) use the law alone, i.e. the offsets' mean
of zero.

The fit runs on the engine of :func:`scaling_bayes.fit` (mode search from prior draws, Laplace
start, chunked NUTS with a dense mass matrix) with this model in place of the single-law one.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes._core.env import load_jax as _jax
from scaling_bayes._core.progress import ProgressBar
from scaling_bayes.data.observations import DataError, ScalingData, load_data, warn_design
from scaling_bayes.inference.engine import (
    _Program,
    bucket_size,
    initial_ref,
    mvn_draws,
    posterior_modes,
    sample_program,
)
from scaling_bayes.inference.fit import check_ref
from scaling_bayes.laws.base import Law, get_law, is_builtin
from scaling_bayes.model.hierarchical import (
    POOL_MODES,
    default_pool,
    hierarchical_mean,
    hierarchical_model,
    hierarchical_priors,
    latent_shapes,
    size_projection,
)
from scaling_bayes.model.priors import Prior
from scaling_bayes.model.settings import (
    ModelSettings,
    NUTSSettings,
    SamplerConfig,
    SettingsError,
    sampler_config,
)
from scaling_bayes.posterior.base import provenance
from scaling_bayes.posterior.hierarchical import HierarchicalFit


# ----------------------------------------------------------------------------- specification
def _check_pool(law: Law, pool) -> dict[str, str]:
    if pool is None:
        return default_pool(law)
    if isinstance(pool, str):
        pool = [p.strip() for p in pool.split(",") if p.strip()]
    if not isinstance(pool, Mapping):
        pool = {p: "partial" for p in pool}
    out = {}
    for k, v in pool.items():
        if k not in law.site_names:
            raise SettingsError(
                f"pool: {k!r} is not a sampler parameter of law {law.name!r}; choose from "
                f"{', '.join(law.site_names)}"
            )
        if v not in POOL_MODES:
            raise SettingsError(f"pool[{k!r}] must be one of {', '.join(POOL_MODES)}, got {v!r}")
        if v != "none":
            out[k] = v
    return out


# ----------------------------------------------------------------------------- model
@functools.lru_cache(maxsize=16)
def _program(
    law: Law,
    priors_key: str,
    pool_key: str,
    n_groups: int,
    n_sizes: int,
    centered: bool,
    likelihood: str,
    nu: float,
    n_pad: int,
) -> _Program:
    priors = {k: Prior.parse(v) for k, v in json.loads(priors_key).items()}
    pool = json.loads(pool_key)
    model = functools.partial(
        hierarchical_model,
        law=law,
        priors=priors,
        pool=pool,
        n_groups=n_groups,
        n_sizes=n_sizes,
        likelihood=likelihood,
        nu=nu,
        centered=centered,
    )
    mean = functools.partial(hierarchical_mean, law=law, size_effect=bool(n_sizes))
    return _Program(
        law,
        priors,
        likelihood,
        nu,
        n_pad,
        model=model,
        shapes=latent_shapes(law, pool, n_groups, n_sizes, centered),
        mean=mean,
        cache_key=json.dumps(["hierarchical", law.name, priors_key, pool_key, n_groups, n_sizes,
                              centered, likelihood, nu, n_pad]) if is_builtin(law) else None,
    )


def get_program(law, priors, pool, n_groups, n_sizes, centered, likelihood, nu, n_pad) -> _Program:
    key = json.dumps({k: str(v) for k, v in sorted(priors.items())})
    return _program(
        law,
        key,
        json.dumps(dict(sorted(pool.items()))),
        int(n_groups),
        int(n_sizes),
        bool(centered),
        likelihood,
        float(nu),
        int(n_pad),
    )


def _args(law: Law, data: ScalingData, group_idx, size_idx, ref, n_pad: int, sizes=()):
    """Model arguments ``(x, ref, y, mask)`` with a leading batch axis of 1."""
    import jax.numpy as jnp

    n = data.n
    x = {}
    if len(sizes):
        x["_size_proj"] = jnp.asarray(size_projection(np.asarray(sizes, dtype=float))[None])
    for v in law.inputs:
        a = np.zeros((1, n_pad))
        a[0, :n] = np.log(data.get(v)) - np.log(ref[v])
        x[v] = jnp.asarray(a)
    for k, idx in (("_group", group_idx), ("_size", size_idx)):
        a = np.zeros((1, n_pad), dtype=np.int32)
        a[0, :n] = idx
        x[k] = jnp.asarray(a)
    y = np.zeros((1, n_pad))
    y[0, :n] = np.log(data.loss)
    mask = np.zeros((1, n_pad), dtype=bool)
    mask[0, :n] = True
    r = {v: jnp.asarray([float(ref[v])]) for v in law.inputs}
    return x, r, jnp.asarray(y), jnp.asarray(mask)


def _choose_common_pivots(law, data, prog, args, ref, modes, covs, key) -> dict[str, float]:
    """One pivot per input for all groups: the median over groups of each group's
    decorrelating shift, clipped to the pooled data's range."""
    if not law.pivots:
        return dict(ref)
    draws = prog.constrain(mvn_draws(key, modes, covs, 2000), args)
    new = dict(ref)
    for p in law.pivots:
        a = np.asarray(draws[p.amp])[0]  # (M, G) or (M,)
        e = np.asarray(draws[p.exponent])[0]
        a = a.reshape(a.shape[0], -1)
        e = e.reshape(e.shape[0], -1)
        ac, ec = a - a.mean(axis=0), e - e.mean(axis=0)
        var = np.mean(ec * ec, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.mean(ac * ec, axis=0) / var
        delta = delta[np.isfinite(delta) & (np.broadcast_to(var, delta.shape) > 0)]
        if delta.size:
            values = data.get(p.input)
            moved = ref[p.input] * np.exp(float(np.clip(np.median(delta), -700, 700)))
            new[p.input] = float(np.clip(moved, np.min(values), np.max(values)))
    return new


# ----------------------------------------------------------------------------- fitting
def _prepare(data, group, columns) -> tuple[ScalingData, str]:
    cols = [group] if isinstance(group, str) else list(group)
    if not cols:
        raise SettingsError("group: name at least one column")
    if isinstance(data, pd.DataFrame):
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise DataError(
                f"group column {missing[0]!r} is not in the data; columns are: "
                f"{', '.join(map(str, data.columns))}"
            )
        if len(cols) > 1:
            name = "/".join(cols)
            data = data.copy()
            data[name] = data[cols].astype(str).agg("/".join, axis=1)
            cols = [name]
    sd = load_data(data, columns=dict(columns) if columns else None)
    if cols[0] not in sd.extra.columns:
        raise DataError(
            f"group column {cols[0]!r} is not in the data; extra columns are: "
            f"{', '.join(map(str, sd.extra.columns))}"
        )
    return sd, cols[0]


#: NUTS defaults of :func:`fit_hierarchical` (see its ``target_accept``).
HIERARCHICAL_DEFAULTS = NUTSSettings(target_accept=0.99, max_tree_depth=12)


def fit_hierarchical(
    data,
    law: str | Law = "chinchilla",
    *,
    group: str | Sequence[str],
    pool: Mapping[str, str] | Sequence[str] | str | None = None,
    size_effect: bool = False,
    centered: bool = False,
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
    ref: Mapping[str, float] | None = None,
    columns: Mapping[str, str] | None = None,
    progress: bool | Callable[[int, int], None] = False,
    warn: bool = True,
) -> HierarchicalFit:
    """Fit ``law`` to groups of runs with pooled, shared and per-group parameters.

    Parameters
    ----------
    data
        CSV path or DataFrame with the law's inputs, ``loss`` and the ``group`` column(s).
    group
        Column (or columns, combined as ``"a/b"``) that defines the groups.
    pool
        ``{site: "partial" | "shared" | "none"}`` over the law's sampler sites, or a list of
        sites to pool partially (default: the law's exponents, partially). Sites not named vary
        freely by group. See the module docstring for the model.
    size_effect
        Add a per-model-size offset on log-loss shared across groups (structured misfit).
    centered
        Parameterization of partially pooled sites: non-centred (default, ``u_g = loc + scale *
        z_g``: robust when the groups' values are close, i.e. the scale may be near zero, as on
        marin2026) or centred (``u_g ~ Normal(loc, scale)``: several times faster when the
        groups differ clearly and each group's data pin its own value).
    priors
        Overrides by name: the law's sites and ``sigma`` (per-group or shared priors; for a
        partially pooled site, the prior its population location is derived from),
        ``{site}_loc``, ``{site}_scale`` and ``size_tau``.
    sampler, model, seed, chains, warmup, draws, likelihood, nu, target_accept, max_tree_depth,
    dense_mass, ref, columns, progress, warn
        As in :func:`scaling_bayes.fit`, but without ``sampler`` ``target_accept`` defaults to
        0.99 and ``max_tree_depth`` to 12 here (:data:`HIERARCHICAL_DEFAULTS`): hierarchical
        posteriors have more curvature (on marin2026, 0.95 and 10 left a few divergences and
        tree-depth hits).
    """
    t_start = time.perf_counter()
    law = get_law(law)
    config = sampler_config(
        sampler,
        model,
        defaults=HIERARCHICAL_DEFAULTS,
        seed=seed,
        chains=chains,
        warmup=warmup,
        draws=draws,
        likelihood=likelihood,
        nu=nu,
        target_accept=target_accept,
        max_tree_depth=max_tree_depth,
        dense_mass=dense_mass,
    )
    # the error-growth term is learned by single fits only: recorded as absent here
    config = dataclasses.replace(config, extrapolation="none")
    pool = _check_pool(law, pool)
    sd, gcol = _prepare(data, group, columns)
    labels = sd.extra[gcol].astype(str).to_numpy()
    groups = sorted(set(labels))
    if len(groups) < 2:
        raise DataError(
            f"group column {gcol!r} has a single value {groups[0]!r}; hierarchical "
            "pooling needs at least 2 groups (use scaling_bayes.fit for one)"
        )
    group_idx = np.searchsorted(np.asarray(groups), labels)
    sd.check_for_law(law)
    warn_design(sd, law)  # DataWarning, once: loss not in nats/token, collinear log N/log D
    sizes = np.unique(sd.get("N")) if size_effect else np.zeros(0)
    if size_effect and sizes.size < 4:
        raise DataError(
            f"size_effect needs at least 4 distinct model sizes N, the data have {sizes.size}"
        )
    size_idx = np.searchsorted(sizes, sd.get("N")) if size_effect else np.zeros(sd.n, int)
    all_priors = hierarchical_priors(law, pool, size_effect, priors, centered)
    check_ref(law, ref)

    enable_x64_on_cpu()
    jax = _jax()
    n_pad = bucket_size(sd.n)
    G, S = len(groups), int(sizes.size)
    prog = get_program(law, all_priors, pool, G, S, centered, config.likelihood, config.nu, n_pad)
    k_start, k_pivot, k_start2, k_init, k_nuts = jax.random.split(
        jax.random.PRNGKey(config.seed), 5
    )
    ref0 = {**initial_ref(law, sd), **(dict(ref) if ref else {})}
    args = _args(law, sd, group_idx, size_idx, ref0, n_pad, sizes)
    names = [f"hierarchical {law.name} by {gcol}"]
    modes, covs = posterior_modes(prog, args, k_start[None], config.n_starts, names)
    refs = ref0 if ref else _choose_common_pivots(law, sd, prog, args, ref0, modes, covs, k_pivot)
    if refs != ref0:
        args = _args(law, sd, group_idx, size_idx, refs, n_pad, sizes)
        modes, covs = posterior_modes(prog, args, k_start2[None], config.n_starts, names)
    reporter = None
    if progress:
        reporter = (
            progress
            if callable(progress)
            else ProgressBar(config.warmup + config.draws, config.chains)
        )
    try:
        run, ll = sample_program(
            prog,
            args,
            [refs],
            modes,
            covs,
            config,
            k_init,
            k_nuts,
            progress=reporter,
            log_likelihood=True,
            t_start=t_start,
        )
    finally:
        if reporter is not None and not callable(progress):
            reporter.close()
    meta = provenance(sd.hash(), {**run.timings, "total_s": time.perf_counter() - t_start},
                      run.modes[0])
    result = HierarchicalFit(
        law=law,
        data=sd,
        group_column=gcol,
        groups=groups,
        pool=pool,
        size_effect=size_effect,
        sizes=sizes,
        centered=centered,
        posterior={k: v[0] for k, v in run.posterior.items()},
        sample_stats={k: v[0] for k, v in run.sample_stats.items()},
        log_likelihood=ll[0, ..., : sd.n],
        priors=all_priors,
        config=config,
        ref={k: float(v) for k, v in refs.items()},
        meta=meta,
    )
    if warn:
        result.check(warn=True)
    return result
