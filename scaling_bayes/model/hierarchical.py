"""The hierarchical model: priors of pooled, shared and per-group sites, and the NumPyro model.

See :mod:`scaling_bayes.inference.hierarchical` for the model in words and
:func:`~scaling_bayes.inference.hierarchical.fit_hierarchical`, which fits it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from scaling_bayes.laws.base import Law
from scaling_bayes.model.likelihoods import observation_dist
from scaling_bayes.model.priors import SIGMA, Prior, resolve_priors

POOL_MODES = ("partial", "shared", "none")
#: Prior of the scale of the per-model-size offsets on log-loss.
SIZE_TAU_PRIOR = Prior("HalfNormal", scale=0.02)
_STD_NORMAL = Prior("Normal", loc=0.0, scale=1.0)


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


def _positive(law: Law, site: str) -> bool:
    return next(s for s in law.sites if s.name == site).domain == "positive"


def _loc_prior(prior: Prior, positive: bool) -> Prior:
    """The site's prior moved to its unconstrained scale, as a Normal on the population loc."""
    if positive and prior.dist == "LogNormal":
        return Prior("Normal", loc=float(prior.params["loc"]), scale=float(prior.params["scale"]))
    if not positive and prior.dist == "Normal":
        return Prior("Normal", loc=float(prior.params["loc"]), scale=float(prior.params["scale"]))
    import jax

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


def hierarchical_mean(p, x, *, law: Law, size_effect: bool):
    """Mean log-loss of every row: its group's law (plus its size offset)."""
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
    mu = hierarchical_mean(p, x, law=law, size_effect=bool(n_sizes))
    with (
        numpyro.plate("obs", mu.shape[0]),
        numpyro.handlers.mask(mask=True if mask is None else mask),
    ):
        numpyro.sample("log_loss", observation_dist(mu, sigma, likelihood, nu), obs=y)


def latent_shapes(
    law: Law, pool, n_groups: int, n_sizes: int, centered: bool
) -> dict[str, tuple[int, ...]]:
    """Event shapes of the latent sites that are per group or per size."""
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


def size_projection(sizes: np.ndarray) -> np.ndarray:
    """``P = I - X (X'X)^-1 X'`` with ``X = [1, log N_k]``: removes the mean and the linear
    trend in log N from per-size offsets, which E, the amplitudes and the exponents describe."""
    X = np.column_stack([np.ones(len(sizes)), np.log(sizes) - np.mean(np.log(sizes))])
    return np.eye(len(sizes)) - X @ np.linalg.solve(X.T @ X, X.T)
