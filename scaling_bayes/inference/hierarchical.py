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

import datetime as _dt
import functools
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import DataError, ScalingData, load_data
from scaling_bayes.inference.engine import (
    SamplerConfig,
    SettingsError,
    _bucket,
    _initial_ref,
    _jax,
    _mvn,
    _posterior_modes,
    _Program,
    enable_x64_on_cpu,
    make_config,
    sample_program,
)
from scaling_bayes.laws.base import Law, get_law, is_builtin
from scaling_bayes.model.priors import SIGMA, Prior, resolve_priors

POOL_MODES = ("partial", "shared", "none")
#: Prior of the scale of the per-model-size offsets on log-loss.
SIZE_TAU_PRIOR = Prior("HalfNormal", scale=0.02)
_STD_NORMAL = Prior("Normal", loc=0.0, scale=1.0)
_GROUP_LABEL = "population"
FORMAT_VERSION = 1
_ATTR = "scaling_bayes"  # the key of single fits; info["kind"] tells them apart


class HierarchicalFileError(ValueError):
    """A file is not a scaling_bayes hierarchical fit, or is from an incompatible version."""


# ----------------------------------------------------------------------------- specification
def default_pool(law: Law) -> dict[str, str]:
    """Partial pooling of the law's exponents (the exponents of its power-law terms, else
    every positive site whose name starts with ``alpha`` or ``r_``)."""
    names = [p.exponent for p in law.pivots]
    if not names:
        names = [
            s.name
            for s in law.sites
            if s.domain == "positive" and s.name.startswith(("alpha", "r_"))
        ]
    return {n: "partial" for n in dict.fromkeys(names)}


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


def _positive(law: Law, site: str) -> bool:
    return next(s for s in law.sites if s.name == site).domain == "positive"


def _loc_prior(prior: Prior, positive: bool) -> Prior:
    """The site's prior moved to its unconstrained scale, as a Normal on the population loc."""
    if positive and prior.dist == "LogNormal":
        return Prior("Normal", loc=float(prior.params["loc"]), scale=float(prior.params["scale"]))
    if not positive and prior.dist == "Normal":
        return Prior("Normal", loc=float(prior.params["loc"]), scale=float(prior.params["scale"]))
    jax = _jax()
    draws = np.asarray(prior.to_numpyro().sample(jax.random.PRNGKey(0), (20000,)), dtype=float)
    if positive:
        draws = np.log(draws)
    draws = draws[np.isfinite(draws)]
    return Prior(
        "Normal", loc=round(float(np.mean(draws)), 6), scale=round(float(np.std(draws)), 6)
    )


def hierarchical_priors(
    law: Law,
    pool: Mapping[str, str],
    size_effect: bool,
    priors: Mapping[str, Any] | None = None,
    centered: bool = False,
) -> dict[str, Prior]:
    """Every latent site of the hierarchical model and its prior (overrides by site name:
    the law's sites and ``sigma``; ``{site}_loc``, ``{site}_scale``; ``size_tau``)."""
    user = dict(priors or {})
    hyper_names = {f"{s}_{w}" for s in pool if pool[s] == "partial" for w in ("loc", "scale")}
    if size_effect:
        hyper_names.add("size_tau")
    base_user = {k: v for k, v in user.items() if k not in hyper_names}
    base = resolve_priors(law, base_user)  # checks unknown names and domains
    out: dict[str, Prior] = {}
    for s in law.site_names:
        if pool.get(s) == "partial":
            loc = _loc_prior(base[s], _positive(law, s))
            out[f"{s}_loc"] = loc
            out[f"{s}_scale"] = Prior("HalfNormal", scale=round(0.5 * loc.params["scale"], 6))
            # centred: the group values u_g ~ Normal(loc, scale) (this entry only sets their
            # support and the mode search's starts); non-centred: z_g ~ Normal(0, 1)
            out[f"{s}_u" if centered else f"{s}_z"] = loc if centered else _STD_NORMAL
        else:
            out[s] = base[s]
    out[SIGMA.name] = base[SIGMA.name]
    if size_effect:
        out["size_tau"] = SIZE_TAU_PRIOR
        out["size_z"] = _STD_NORMAL
    for k in hyper_names:
        if k in user:
            out[k] = Prior.coerce(user[k])
    return out


# ----------------------------------------------------------------------------- model
def _row_params(law: Law, p, x):
    g = x["_group"]
    return {s: (p[s][g] if np.ndim(p[s]) else p[s]) for s in law.site_names}


def _mean(p, x, *, law: Law, size_effect: bool):
    mu = law.sampler_log_loss(_row_params(law, p, x), x)
    if size_effect:
        mu = mu + p["size_offset"][x["_size"]]
    return mu


def hierarchical_model(
    x,
    ref,
    y=None,
    mask=None,
    *,
    law: Law,
    priors,
    pool,
    n_groups: int,
    n_sizes: int,
    likelihood: str,
    nu: float,
    centered: bool = False,
):
    """Log-loss of rows in ``n_groups`` groups: pooled, shared and per-group law parameters.

    ``x`` holds the law's inputs as ``log(input / ref)`` plus integer ``_group`` (and
    ``_size``, the index of each row's model size, when ``n_sizes > 0``) per row.
    """
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    from scaling_bayes.model.likelihoods import observation_dist

    phi = {}
    for s in law.sites:
        how = pool.get(s.name, "none")
        if how == "shared":
            phi[s.name] = numpyro.sample(s.name, priors[s.name].to_numpyro())
        elif how == "partial":
            loc = numpyro.sample(f"{s.name}_loc", priors[f"{s.name}_loc"].to_numpyro())
            scale = numpyro.sample(f"{s.name}_scale", priors[f"{s.name}_scale"].to_numpyro())
            with numpyro.plate("group", n_groups):
                if centered:
                    u = numpyro.sample(f"{s.name}_u", dist.Normal(loc, scale))
                else:
                    z = numpyro.sample(f"{s.name}_z", priors[f"{s.name}_z"].to_numpyro())
                    u = loc + scale * z
            positive = s.domain == "positive"
            phi[s.name] = numpyro.deterministic(s.name, jnp.exp(u) if positive else u)
            numpyro.deterministic(f"{s.name}_pop", jnp.exp(loc) if positive else loc)
        else:
            with numpyro.plate("group", n_groups):
                phi[s.name] = numpyro.sample(s.name, priors[s.name].to_numpyro())
    sigma = numpyro.sample(SIGMA.name, priors[SIGMA.name].to_numpyro())
    per_group = {k: jnp.broadcast_to(v, (n_groups,)) for k, v in phi.items()}
    for name, value in law.to_textbook(per_group, ref).items():
        if name not in phi:
            numpyro.deterministic(name, value)
    p = dict(phi)
    if n_sizes:
        tau = numpyro.sample("size_tau", priors["size_tau"].to_numpyro())
        with numpyro.plate("size", n_sizes):
            u = numpyro.sample("size_z", priors["size_z"].to_numpyro())
        p["size_offset"] = numpyro.deterministic("size_offset", tau * (x["_size_proj"] @ u))
    mu = _mean(p, x, law=law, size_effect=bool(n_sizes))
    with (
        numpyro.plate("obs", mu.shape[0]),
        numpyro.handlers.mask(mask=True if mask is None else mask),
    ):
        numpyro.sample("log_loss", observation_dist(mu, sigma, likelihood, nu), obs=y)


def _shapes(
    law: Law, pool, n_groups: int, n_sizes: int, centered: bool
) -> dict[str, tuple[int, ...]]:
    out = {}
    for s in law.site_names:
        how = pool.get(s, "none")
        if how == "partial":
            out[f"{s}_u" if centered else f"{s}_z"] = (n_groups,)
        elif how == "none":
            out[s] = (n_groups,)
    if n_sizes:
        out["size_z"] = (n_sizes,)
    return out


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
    mean = functools.partial(_mean, law=law, size_effect=bool(n_sizes))
    return _Program(
        law,
        priors,
        likelihood,
        nu,
        n_pad,
        model=model,
        shapes=_shapes(law, pool, n_groups, n_sizes, centered),
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


def size_projection(sizes: np.ndarray) -> np.ndarray:
    """``P = I - X (X'X)^-1 X'`` with ``X = [1, log N_k]``: removes the mean and the linear
    trend in log N from per-size offsets, which E, the amplitudes and the exponents describe."""
    X = np.column_stack([np.ones(len(sizes)), np.log(sizes) - np.mean(np.log(sizes))])
    return np.eye(len(sizes)) - X @ np.linalg.solve(X.T @ X, X.T)


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
    draws = prog.constrain(_mvn(key, modes, covs, 2000), args)
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


def fit_hierarchical(
    data,
    law: str | Law = "chinchilla",
    *,
    group: str | Sequence[str],
    pool: Mapping[str, str] | Sequence[str] | str | None = None,
    size_effect: bool = False,
    centered: bool = False,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    likelihood: str = "student_t",
    nu: float = 4.0,
    priors: Mapping[str, Any] | None = None,
    target_accept: float = 0.99,
    max_tree_depth: int = 12,
    dense_mass: bool = True,
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
    seed, chains, warmup, draws, likelihood, nu, target_accept, max_tree_depth, dense_mass,
    ref, columns, progress, warn
        As in :func:`scaling_bayes.fit`, but ``target_accept`` defaults to 0.99 and
        ``max_tree_depth`` to 12 here: hierarchical posteriors have more curvature (on
        marin2026, 0.95 and 10 left a few divergences and tree-depth hits).
    """
    t_start = time.perf_counter()
    law = get_law(law)
    config = make_config(
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
    from scaling_bayes.data.observations import warn_design

    warn_design(sd, law)  # DataWarning, once: loss not in nats/token, collinear log N/log D
    sizes = np.unique(sd.get("N")) if size_effect else np.zeros(0)
    if size_effect and sizes.size < 4:
        raise DataError(
            f"size_effect needs at least 4 distinct model sizes N, the data have {sizes.size}"
        )
    size_idx = np.searchsorted(sizes, sd.get("N")) if size_effect else np.zeros(sd.n, int)
    all_priors = hierarchical_priors(law, pool, size_effect, priors, centered)
    if ref is not None:
        bad = [k for k in ref if k not in law.inputs or not (np.isfinite(ref[k]) and ref[k] > 0)]
        if bad:
            raise SettingsError(
                f"ref: {bad[0]!r} must be one of the law's inputs ({', '.join(law.inputs)}) "
                "with a positive finite scale"
            )

    enable_x64_on_cpu()
    jax = _jax()
    n_pad = _bucket(sd.n)
    G, S = len(groups), int(sizes.size)
    prog = get_program(law, all_priors, pool, G, S, centered, config.likelihood, config.nu, n_pad)
    k_start, k_pivot, k_start2, k_init, k_nuts = jax.random.split(
        jax.random.PRNGKey(config.seed), 5
    )
    ref0 = {**_initial_ref(law, sd), **(dict(ref) if ref else {})}
    args = _args(law, sd, group_idx, size_idx, ref0, n_pad, sizes)
    names = [f"hierarchical {law.name} by {gcol}"]
    modes, covs = _posterior_modes(prog, args, k_start[None], config.n_starts, names)
    refs = ref0 if ref else _choose_common_pivots(law, sd, prog, args, ref0, modes, covs, k_pivot)
    if refs != ref0:
        args = _args(law, sd, group_idx, size_idx, refs, n_pad, sizes)
        modes, covs = _posterior_modes(prog, args, k_start2[None], config.n_starts, names)
    reporter = None
    if progress:
        from scaling_bayes._core.progress import ProgressBar

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
    from scaling_bayes.posterior.fit import package_versions

    meta = {
        "format_version": FORMAT_VERSION,
        "data_hash": sd.hash(),
        "versions": package_versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "timings": {k: float(v) for k, v in run.timings.items()}
        | {"total_s": time.perf_counter() - t_start},
        "mode": run.modes[0],
    }
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


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class HierarchicalFit:
    """Posterior of a hierarchical fit (:func:`fit_hierarchical`).

    Attributes
    ----------
    law, data, group_column, groups
        The law, the pooled observations, the group column and the group names (sorted; the
        ``group`` axis of the draws follows this order).
    pool, size_effect, sizes
        Pooling of each site (sites not named vary freely by group), whether the per-size
        offsets are in the model, and the distinct model sizes (the ``size`` axis).
    posterior
        Draws: population and shared parameters ``(chain, draw)``; per-group parameters
        (the law's textbook and sampler parameters, ``{site}_u`` or ``{site}_z``)
        ``(chain, draw, group)``;
        ``size_offset``, ``size_z`` ``(chain, draw, size)``.
    sample_stats, log_likelihood, priors, config, ref, meta
        As in :class:`~scaling_bayes.posterior.fit.Fit`; ``log_likelihood`` is ``(chain, draw, n)``
        over the pooled rows, ``ref`` the pivots common to all groups.
    """

    law: Law
    data: ScalingData
    group_column: str
    groups: list[str]
    pool: dict[str, str]
    size_effect: bool
    sizes: np.ndarray
    centered: bool
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    log_likelihood: np.ndarray
    priors: dict[str, Prior]
    config: SamplerConfig
    ref: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ structure
    @property
    def group_index(self) -> np.ndarray:
        """Group position of every row of :attr:`data`."""
        labels = self.data.extra[self.group_column].astype(str).to_numpy()
        return np.searchsorted(np.asarray(self.groups), labels)

    @property
    def n_chains(self) -> int:
        return int(self.sample_stats["diverging"].shape[0])

    @property
    def n_draws(self) -> int:
        return int(self.sample_stats["diverging"].shape[1])

    @property
    def divergences(self) -> int:
        return int(np.sum(self.sample_stats["diverging"]))

    def _kind(self, name: str) -> str:
        nd = self.posterior[name].ndim
        if nd == 2:
            return "population"
        return "size" if name.startswith("size_") else "group"

    @property
    def population_params(self) -> tuple[str, ...]:
        """Reported population-level names: ``{site}_pop`` and ``{site}_scale`` of partially
        pooled sites, shared sites (and their textbook parameters), ``sigma``, ``size_tau``."""
        out = []
        for s in self.law.site_names:
            if self.pool.get(s) == "partial":
                out += [f"{s}_pop", f"{s}_scale"]
            elif self.pool.get(s) == "shared":
                out.append(s)
        out += [
            p
            for p in self.law.param_names
            if p in self.posterior and self.posterior[p].ndim == 2 and p not in out
        ]
        out.append(SIGMA.name)
        if self.size_effect:
            out.append("size_tau")
        return tuple(out)

    @property
    def group_params(self) -> tuple[str, ...]:
        """Reported per-group names: the law's textbook parameters that vary by group."""
        return tuple(p for p in self.law.param_names if self.posterior[p].ndim == 3)

    @property
    def sampled(self) -> tuple[str, ...]:
        """Every latent (sampled) site."""
        return tuple(sorted(self.priors))

    # ------------------------------------------------------------------ summaries
    def _entries(self, names) -> list[tuple[str, str, np.ndarray]]:
        out = []
        for name in names:
            a = self.posterior[name]
            kind = self._kind(name)
            if kind == "population":
                out.append((name, _GROUP_LABEL, a))
            elif kind == "group":
                out += [(name, g, a[..., i]) for i, g in enumerate(self.groups)]
            else:
                out += [(name, f"N={n:.4g}", a[..., i]) for i, n in enumerate(self.sizes)]
        return out

    def summary(
        self,
        params: str | Sequence[str] | None = None,
        quantiles: tuple[float, ...] = (0.05, 0.5, 0.95),
    ) -> pd.DataFrame:
        """Posterior table indexed by (parameter, group); population-level rows have group
        ``"population"``, per-size offsets ``"N=..."``.

        ``params``: ``None`` (population parameters, then the per-group textbook parameters),
        ``"population"``, ``"group"``, ``"all"`` (adds every sampled site and the per-group
        sampler parameters) or a list of names.
        """
        from scaling_bayes.posterior.diagnostics import summarize

        if params is None:
            names = [*self.population_params, *self.group_params]
        elif params == "population":
            names = list(self.population_params)
        elif params == "group":
            names = list(self.group_params)
        elif params == "all":
            names = list(
                dict.fromkeys(
                    (
                        *self.population_params,
                        *self.group_params,
                        *self.law.site_names,
                        *self.sampled,
                    )
                )
            )
        else:
            names = [params] if isinstance(params, str) else list(params)
        missing = [n for n in names if n not in self.posterior]
        if missing:
            raise KeyError(f"no parameter {missing[0]!r}; available: {', '.join(self.posterior)}")
        entries = self._entries(names)
        table = summarize({str(i): a for i, (_, _, a) in enumerate(entries)}, quantiles=quantiles)
        table.index = pd.MultiIndex.from_tuples(
            [(n, g) for n, g, _ in entries], names=["parameter", "group"]
        )
        return table

    def check(self, warn: bool = False) -> list[str]:
        """Diagnostic problems (empty if clean): divergences, R-hat > 1.01, ESS < 400 over
        every reported and sampled quantity, tree-depth hits."""
        from scaling_bayes.posterior import diagnostics

        s = self.summary("all")
        s.index = [n if g == _GROUP_LABEL else f"{n}[{g}]" for n, g in s.index]
        depth = self.sample_stats["tree_depth"]
        msgs = diagnostics.check(
            s,
            divergences=self.divergences,
            n_draws_total=self.n_chains * self.n_draws,
            tree_depth_hits=int(np.sum(depth >= self.config.max_tree_depth)),
            max_tree_depth=self.config.max_tree_depth,
            what_to_try=(
                f"Hierarchical fit: try centered={not self.centered} (the other "
                "parameterization of the pooled sites) and target_accept=0.99."
            ),
        )
        if warn and msgs:
            diagnostics.warn(msgs, title=f"diagnostics of the hierarchical {self.law.name} fit:")
        return msgs

    def __repr__(self) -> str:
        return (
            f"<HierarchicalFit law={self.law.name} group={self.group_column} "
            f"groups={len(self.groups)} n={self.data.n} pool={self.pool} "
            f"size_effect={self.size_effect} chains={self.n_chains} draws={self.n_draws} "
            f"divergences={self.divergences}>"
        )

    # ------------------------------------------------------------------ per group
    def loo(self):
        """PSIS-LOO over the pooled rows (ArviZ ELPDData)."""
        from scaling_bayes.posterior import idata as _arviz

        return _arviz.loo(self.idata, pointwise=True)

    def allocations(self, compute, **kwargs) -> pd.DataFrame:
        """Compute-optimal allocation per group (:func:`scaling_bayes.compute_optimal` of each
        group's fit (:meth:`group`)), stacked with a ``group`` column."""
        from scaling_bayes.decisions.allocation import compute_optimal

        frames = []
        for g in self.groups:
            t = compute_optimal(self.group(g), compute, **kwargs).table
            frames.append(t.assign(group=g))
        return pd.concat(frames, ignore_index=True)

    def exponents(self, **kwargs) -> pd.DataFrame:
        """Budget-independent allocation exponents (``a``, ``b``, ...) per group."""
        from scaling_bayes.decisions.allocation import compute_optimal

        frames = []
        for g in self.groups:
            e = compute_optimal(self.group(g), 1e21, **kwargs).exponents
            if e is not None:
                frames.append(e.assign(group=g))
        return pd.concat(frames) if frames else pd.DataFrame()

    def group(self, name: str):
        """Group ``name`` as an ordinary :class:`~scaling_bayes.posterior.fit.Fit` of the base law
        (its rows, its draws of every law parameter, the shared ``sigma``; the per-size offsets
        are left out, i.e. at their mean of zero), so allocation, forecasts and plots work."""
        from scaling_bayes.posterior.fit import Fit

        if name not in self.groups:
            raise KeyError(f"no group {name!r}; groups: {', '.join(self.groups)}")
        i = self.groups.index(name)
        rows = self.group_index == i
        keep = (*self.law.param_names, *self.law.site_names, SIGMA.name)
        post = {}
        for k in dict.fromkeys(keep):
            a = self.posterior[k]
            post[k] = a[..., i] if a.ndim == 3 else a
        priors = {k: v for k, v in self.priors.items() if k in keep}
        meta = {
            **self.meta,
            "hierarchical": {
                "group_column": self.group_column,
                "group": name,
                "groups": self.groups,
                "pool": self.pool,
                "size_effect": self.size_effect,
            },
        }
        return Fit(
            law=self.law,
            data=self.data.subset(rows),
            posterior=post,
            sample_stats=self.sample_stats,
            log_likelihood=self.log_likelihood[..., rows],
            priors=priors,
            config=self.config,
            ref=dict(self.ref),
            meta={**meta, "data_hash": self.data.subset(rows).hash(), "format_version": 1},
        )

    # ------------------------------------------------------------------ ArviZ, save / load
    def _dims(self) -> tuple[dict, dict]:
        dims = {}
        for k, a in self.posterior.items():
            if a.ndim == 3:
                dims[k] = ["size" if self._kind(k) == "size" else "group"]
        coords = {"group": list(self.groups)}
        if self.size_effect:
            coords["size"] = np.asarray(self.sizes, dtype=float)
        return dims, coords

    def _attrs(self) -> dict[str, Any]:
        from scaling_bayes.data.observations import STANDARD

        info = {
            "kind": "hierarchical",
            "law": self.law.name,
            "group": self.group_column,
            "groups": self.groups,
            "pool": self.pool,
            "size_effect": self.size_effect,
            "centered": self.centered,
            "sizes": [float(v) for v in self.sizes],
            "priors": {k: str(v) for k, v in self.priors.items()},
            "config": self.config.to_dict(),
            "ref": self.ref,
            "meta": self.meta,
            "data": {
                "source": self.data.source,
                "flop_convention": self.data.flop_convention,
                "columns_used": self.data.columns_used,
                "present": [k for k in STANDARD if getattr(self.data, k) is not None],
                "extra": {c: str(self.data.extra[c].dtype) for c in self.data.extra.columns},
            },
        }
        return {
            _ATTR: json.dumps(info),
            "law": self.law.name,
            "data_hash": self.meta.get("data_hash", ""),
        }

    def _groups(self) -> dict:
        from scaling_bayes.posterior import idata as _arviz
        from scaling_bayes.posterior.fit import Fit

        const = Fit._constant_data(self)  # same columns as a Fit: N, D, C, loss, extras
        dims, coords = self._dims()
        return _arviz.datasets(
            posterior=self.posterior,
            sample_stats=self.sample_stats,
            log_likelihood=self.log_likelihood,
            observed_log_loss=np.log(self.data.loss),
            posterior_predictive=self.posterior_predictive,
            constant_data=const,
            attrs=self._attrs(),
            dims=dims,
            coords=coords,
        )

    @cached_property
    def posterior_predictive(self) -> np.ndarray:
        """Replicated log-loss ``(chain, draw, n)``: each row's group law mean (plus its size
        offset) and likelihood noise, as :attr:`scaling_bayes.posterior.fit.Fit.posterior_predictive`."""
        from scaling_bayes.posterior.fit import law_log_loss, replicate_log_loss

        mu = np.empty(self.log_likelihood.shape)
        group_index = self.group_index
        for i in range(len(self.groups)):
            rows = group_index == i
            post = {k: self.posterior[k] for k in self.law.param_names}
            theta = {k: a[..., i] if a.ndim == 3 else a for k, a in post.items()}
            mu[..., rows] = law_log_loss(self.law, theta, self.data.subset(rows))
        if self.size_effect:
            size = np.searchsorted(self.sizes, self.data.get("N"))
            mu += self.posterior["size_offset"][..., size]
        return replicate_log_loss(mu, self.posterior[SIGMA.name], self.config)

    @cached_property
    def idata(self):
        """ArviZ InferenceData with labelled ``group`` (and ``size``) dimensions and the
        posterior predictive log-loss (:attr:`posterior_predictive`)."""
        from scaling_bayes.posterior import idata as _arviz

        return _arviz.as_inference_data(self._groups())

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit to one netCDF file (atomically)."""
        from scaling_bayes.posterior import idata as _arviz
        from scaling_bayes.posterior.fit import atomic_write

        groups = self._groups()
        return atomic_write(path, lambda tmp: _arviz.write_datasets(groups, tmp))


def load_hierarchical(path: str | os.PathLike) -> HierarchicalFit:
    """Read a fit written by :meth:`HierarchicalFit.save`; every array is restored exactly."""
    from scaling_bayes.posterior import idata as _arviz

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"fit file not found: {path}")
    try:
        idata = _arviz.read_netcdf(path)
    except Exception as e:
        raise HierarchicalFileError(
            f"{path} is not a scaling_bayes fit file ({type(e).__name__})"
        ) from None
    attrs = _arviz.group_attrs(idata, "posterior") if "posterior" in idata.groups() else {}
    if _ATTR not in attrs:
        raise HierarchicalFileError(f"{path} is a netCDF file but not a scaling_bayes fit")
    info = json.loads(attrs[_ATTR])
    if info.get("kind") != "hierarchical":
        raise HierarchicalFileError(
            f"{path} holds a single fit, not a hierarchical one: load "
            "it with scaling_bayes.load_fit"
        )
    if info["meta"].get("format_version") != FORMAT_VERSION:
        raise HierarchicalFileError(
            f"{path}: hierarchical format "
            f"{info['meta'].get('format_version')} is not "
            f"{FORMAT_VERSION}; refit"
        )
    from scaling_bayes.posterior.fit import _data_from_idata, _restore_predictive

    law = get_law(info["law"])
    data = _data_from_idata(idata, info["data"])
    fit = HierarchicalFit(
        law=law,
        data=data,
        group_column=info["group"],
        groups=list(info["groups"]),
        pool=dict(info["pool"]),
        size_effect=bool(info["size_effect"]),
        sizes=np.asarray(info["sizes"], dtype=float),
        centered=bool(info["centered"]),
        posterior=_arviz.group_to_dict(idata, "posterior"),
        sample_stats=_arviz.group_to_dict(idata, "sample_stats"),
        log_likelihood=_arviz.group_to_dict(idata, "log_likelihood")["log_loss"],
        priors={k: Prior.parse(v) for k, v in info["priors"].items()},
        config=SamplerConfig(**info["config"]),
        ref={k: float(v) for k, v in info["ref"].items()},
        meta=info["meta"],
    )
    if fit.data.hash() != info["meta"].get("data_hash"):
        raise HierarchicalFileError(f"{path}: the stored data do not match the recorded hash")
    if _restore_predictive(fit, idata, path, HierarchicalFileError):
        fit.__dict__["idata"] = idata  # else (older file) built again, with the group
    return fit


# ----------------------------------------------------------------------------- comparison
def compare_pooling(
    data,
    law: str | Law = "chinchilla",
    *,
    group: str | Sequence[str],
    pool=None,
    size_effect: bool | None = None,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    hierarchical: Mapping[str, Any] | None = None,
    **kwargs,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """PSIS-LOO of partial pooling against no pooling and complete pooling, same rows.

    Fits ``law`` three ways to the same observations (:func:`pooling_fits`): ``"no pooling"``
    (an independent fit per group, :func:`scaling_bayes.fit_many`), ``"complete pooling"`` (one
    fit to all rows, :func:`scaling_bayes.fit`) and ``"partial pooling"``
    (:func:`fit_hierarchical` with ``pool``); with ``size_effect=True`` also ``"partial pooling
    + size effect"`` instead, and with ``size_effect=None`` (default) both. ``kwargs`` go to
    every fit (e.g. ``likelihood``), ``hierarchical`` only to the hierarchical ones (e.g.
    ``{"centered": True, "target_accept": 0.99}``).

    Returns ``(table, fits)``: the ``arviz.compare`` table (elpd_loo, p_loo, elpd_diff, dse,
    stacking weight) plus ``n_pareto_k_gt_0.7`` and ``divergences`` per model
    (:func:`pooling_loo`), and the fits.
    """
    fits = pooling_fits(
        data,
        law,
        group=group,
        pool=pool,
        size_effect=size_effect,
        seed=seed,
        chains=chains,
        warmup=warmup,
        draws=draws,
        hierarchical=hierarchical,
        **kwargs,
    )
    return pooling_loo(fits), fits


def pooling_fits(
    data,
    law: str | Law = "chinchilla",
    *,
    group: str | Sequence[str],
    pool=None,
    size_effect: bool | None = None,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    hierarchical: Mapping[str, Any] | None = None,
    **kwargs,
) -> dict[str, Any]:
    """The fits of :func:`compare_pooling`, by name, without the LOO table (rows sorted by
    group, so that every fit sees the observations in the same order)."""
    from scaling_bayes.inference.engine import fit as single_fit
    from scaling_bayes.inference.many import fit_many

    if not isinstance(data, pd.DataFrame):
        data = load_data(data).to_frame()
    cols = [group] if isinstance(group, str) else list(group)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise DataError(f"group column {missing[0]!r} is not in the data")
    gcol = cols[0] if len(cols) == 1 else "/".join(cols)
    df = data.copy()
    if len(cols) > 1:
        df[gcol] = df[cols].astype(str).agg("/".join, axis=1)
    labels = df[gcol].astype(str)
    groups = sorted(set(labels))
    order = pd.Categorical(labels, categories=groups).codes
    df = df.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    labels = df[gcol].astype(str)
    common = {"seed": seed, "chains": chains, "warmup": warmup, "draws": draws, **kwargs}
    fits: dict[str, Any] = {}
    many = fit_many({g: df[labels == g] for g in groups}, law=law, log_likelihood=True, **common)
    fits["no pooling"] = many
    fits["complete pooling"] = single_fit(df, law=law, warn=False, **common)
    variants = [False, True] if size_effect is None else [bool(size_effect)]
    for se in variants:
        name = "partial pooling" + (" + size effect" if se else "")
        fits[name] = fit_hierarchical(
            df,
            law=law,
            group=gcol,
            pool=pool,
            size_effect=se,
            warn=False,
            **{**common, **dict(hierarchical or {})},
        )
    return fits


def pooling_loo(fits: Mapping[str, Any]) -> pd.DataFrame:
    """The PSIS-LOO table of :func:`compare_pooling` from its fits: ``"no pooling"`` a
    :class:`~scaling_bayes.inference.many.ManyFits` (with log-likelihoods, groups in the pooled rows'
    order), the others a Fit or a :class:`HierarchicalFit` of the same rows."""
    import warnings

    from scaling_bayes.posterior import idata as _arviz

    idatas = {}
    for k, v in fits.items():
        if hasattr(v, "datas"):  # ManyFits: one fit per group, rows concatenated in order
            ll = np.concatenate([v._ll[i, ..., : d.n] for i, d in enumerate(v.datas)], axis=-1)
            y = np.log(np.concatenate([d.loss for d in v.datas]))
            post = {
                f"{p}[{g}]": v.posterior[p][i]
                for i, g in enumerate(v.names)
                for p in v.law.param_names
            }
            idatas[k] = _arviz.from_log_likelihood(ll, y, post)
        else:
            idatas[k] = v.idata
    ys = [np.asarray(i.observed_data["log_loss"].values) for i in idatas.values()]
    if any(y.shape != ys[0].shape or not np.array_equal(y, ys[0]) for y in ys):
        raise ValueError(
            "pooling_loo: the fits do not see the same observations in the same "
            "order (LOO compares predictive densities of the same rows)"
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = _arviz.compare(idatas, ic="loo", method="stacking")
        table["n_pareto_k_gt_0.7"] = [
            int(np.sum(np.asarray(_arviz.loo(idatas[k]).pareto_k) > 0.7)) for k in table.index
        ]
    div = {k: int(np.sum(v.divergences)) for k, v in fits.items()}
    table["divergences"] = [div[k] for k in table.index]
    return table


# ----------------------------------------------------------------------------- CLI
def _cli_fit_hierarchical(data, columns, priors, args, pool, names):
    return fit_hierarchical(
        data,
        law=args.law,
        group=names(args.group),
        pool=pool,
        size_effect=args.size_effect,
        centered=args.centered,
        seed=args.seed,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        likelihood=args.likelihood,
        nu=args.nu,
        priors=priors or None,
        target_accept=0.99 if args.target_accept is None else args.target_accept,
        columns=columns or None,
        progress=not args.no_progress,
        warn=False,
    )


def cli_fit(data, columns, priors, args, out: Path, where: str, created) -> int:
    """``scaling-bayes fit ... --group COLUMN``: fit, print the population and per-group
    tables and diagnostics, write ``fit.nc`` (a hierarchical fit) and ``summary.csv``."""

    from scaling_bayes.cli.main import UsageError
    from scaling_bayes.posterior.fit import atomic_write

    names = lambda t: [s.strip() for s in (t or "").split(",") if s.strip()]  # noqa: E731
    if not (args.pool or args.share):
        pool = None
    else:
        pool = {k: "partial" for k in names(args.pool)}
        both = [k for k in names(args.share) if k in pool]
        if both:
            raise UsageError(f"{both[0]!r} is in both --pool and --share")
        pool.update({k: "shared" for k in names(args.share)})
    from scaling_bayes.cli.main import print_warnings

    try:
        with print_warnings():
            fit = _cli_fit_hierarchical(data, columns, priors, args, pool, names)
    except BaseException:
        for d in created:
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        raise
    summary = fit.summary()
    t = fit.meta["timings"]
    print(
        f"law {fit.law.name}: {fit.law.formula}; hierarchical over {fit.group_column!r} "
        f"({len(fit.groups)} groups: {', '.join(fit.groups)})"
    )
    pooled = ", ".join(f"{k} {v}" for k, v in fit.pool.items()) or "none"
    print(
        f"pooling: {pooled}; other sites per group; sigma shared"
        + ("; per-model-size offsets" if fit.size_effect else "")
    )
    print(f"data: {where}, {fit.data.n} rows; {fit.data.flop_convention}")
    print(
        f"NUTS: {fit.n_chains} chains x {fit.n_draws} draws (+{fit.config.warmup} warmup), "
        f"{fit.config.likelihood} likelihood, seed {fit.config.seed}; {t['total_s']:.1f} s"
    )
    with pd.option_context(
        "display.width", 120, "display.max_columns", 20, "display.max_rows", 500
    ):
        fmt = lambda v: f"{v:.5g}"  # noqa: E731
        print("population:")
        print(summary.xs(_GROUP_LABEL, level="group").to_string(float_format=fmt))
        print("per group:")
        print(fit.summary("group").to_string(float_format=fmt))
    problems = fit.check()
    if problems:
        from scaling_bayes.cli.main import print_diagnostics

        print_diagnostics(problems)
    else:
        s_all = fit.summary("all")
        print(
            f"diagnostics: 0 divergences, all r_hat <= 1.01, all ESS >= 400 "
            f"(min bulk ESS {s_all['ess_bulk'].min():.0f})"
        )
    written = [
        fit.save(out / "fit.nc"),
        atomic_write(out / "summary.csv", lambda tmp: summary.to_csv(tmp)),
    ]
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0
