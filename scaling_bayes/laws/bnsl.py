"""Broken neural scaling laws (Caballero et al. 2022): ``bnsl1``, ``bnsl2`` in the training-set
size ``D`` with one or two breaks; :func:`make_bnsl` builds other break counts or inputs.

This module imports only JAX at import time.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.nn import softplus

from scaling_bayes._core.vocabulary import INPUT_DESCRIPTIONS
from scaling_bayes.laws.base import LAWS, Law, Param

__all__ = ["BNSL1", "BNSL2", "BNSL_PRIORS", "make_bnsl"]

# ----------------------------------------------------------------------------- BNSL
#: Default priors of the BNSL sampler sites (see README "Priors").
BNSL_PRIORS = {
    # Gamma(2, 1.5): mean 1.33, 95% [0.16, 3.7]; vanishes at 0, so that a -> 0 is no funnel in
    # log a (with a LogNormal prior the 4-digit-addition fit mixed badly: ESS ~ 300)
    "a": ("Gamma", {"concentration": 2.0, "rate": 1.5}),
    "lnb0": ("Normal", {"loc": -0.5, "scale": 1.5}),  # reducible term at the pivot
    "c0": ("Normal", {"loc": 0.2, "scale": 0.5}),  # initial exponent
    "u1": ("Normal", {"loc": 0.0, "scale": 1.5}),  # log(d1 / ref): first break near the data
    "g": ("LogNormal", {"loc": 0.0, "scale": 1.0}),  # log(d_i / d_(i-1)): median x2.7
    "c": ("Normal", {"loc": 0.0, "scale": 3.0}),  # change of exponent at a break
    "f": ("LogNormal", {"loc": -1.5, "scale": 1.0}),  # sharpness: median 0.22, 95% [0.03, 1.6]
}


def make_bnsl(n_breaks: int, var: str = "D", name: str | None = None) -> Law:
    """Broken neural scaling law (Caballero et al. 2022) with ``n_breaks`` breaks in ``var``.

    ``L = a + b * x^-c0 * prod_i (1 + (x/d_i)^(1/f_i))^(-c_i*f_i)``: ``a`` is the limit as
    ``x -> inf``, ``b, c0`` the first power-law segment, and break ``i`` sits at ``d_i`` with
    change of exponent ``c_i`` (the local exponent is ``c0 + c_1 + ... + c_i`` well after it;
    negative ``c_i`` bends the curve up, e.g. double descent) and sharpness ``f_i`` (small =
    abrupt).

    The sampler sees ``x = log(var/ref)`` with ``ref`` the geometric mean of the data, and
    samples ``a`` (log scale), ``lnb0`` (log of the reducible term at ``ref``), ``c0``,
    ``u1 = log(d_1/ref)``, the log-gaps ``g_i = log(d_i/d_(i-1)) > 0`` (so the breaks stay
    ordered: no label switching), ``c_i`` and ``f_i`` (log scale). Not registered: call
    :func:`scaling_bayes.laws.register_law` on the result to fit it by name.
    """
    if not (isinstance(n_breaks, int) and n_breaks >= 1):
        raise ValueError(f"n_breaks must be an integer >= 1, got {n_breaks!r}")
    what = INPUT_DESCRIPTIONS.get(var, var)
    idx = range(1, n_breaks + 1)

    def _breaks(phi):
        u, out = None, []
        for i in idx:
            u = phi["u1"] if i == 1 else u + phi[f"g{i}"]
            out.append((u, phi[f"c{i}"], phi[f"f{i}"]))
        return out

    def sampler_log_loss(phi, x):
        xv = x[var]
        red = phi["lnb0"] - phi["c0"] * xv
        for u, c, f in _breaks(phi):
            # normalised so that lnb0 is the log reducible term at the pivot (x = 0)
            red = red - c * f * (softplus((xv - u) / f) - softplus(-u / f))
        return jnp.logaddexp(jnp.log(phi["a"]), red)

    def to_textbook(phi, ref):
        lref = jnp.log(ref[var])
        lnb = phi["lnb0"] + phi["c0"] * lref
        theta = {"a": phi["a"], "c0": phi["c0"]}
        for i, (u, c, f) in zip(idx, _breaks(phi), strict=True):
            lnb = lnb + c * f * softplus(-u / f)
            theta[f"c{i}"], theta[f"d{i}"], theta[f"f{i}"] = c, ref[var] * jnp.exp(u), f
        return {"b": jnp.exp(lnb), **theta}

    def log_loss(theta, inputs):
        lx = jnp.log(inputs[var])
        red = jnp.log(theta["b"]) - theta["c0"] * lx
        for i in idx:
            f = theta[f"f{i}"]
            red = red - theta[f"c{i}"] * f * softplus((lx - jnp.log(theta[f"d{i}"])) / f)
        return jnp.logaddexp(jnp.log(theta["a"]), red)

    params = [
        Param("a", "limit of the loss as the input grows (irreducible loss)"),
        Param("b", "amplitude of the first power-law segment"),
        Param("c0", "exponent of the first power-law segment"),
    ]
    sites = [
        Param("a", "limit of the loss as the input grows", BNSL_PRIORS["a"], "positive"),
        Param("lnb0", f"log of the reducible term at the pivot {var}0", BNSL_PRIORS["lnb0"]),
        Param("c0", "exponent of the first power-law segment", BNSL_PRIORS["c0"]),
    ]
    for i in idx:
        params += [
            Param(f"c{i}", f"change of exponent at break {i}"),
            Param(f"d{i}", f"location of break {i} (in units of {what})"),
            Param(f"f{i}", f"sharpness of break {i} (small = abrupt)"),
        ]
        if i == 1:
            sites.append(
                Param("u1", f"log(d1/{var}0): break 1 relative to the pivot", BNSL_PRIORS["u1"])
            )
        else:
            sites.append(
                Param(
                    f"g{i}",
                    f"log(d{i}/d{i - 1}) > 0: keeps the breaks ordered",
                    BNSL_PRIORS["g"],
                    "positive",
                )
            )
        sites += [
            Param(f"c{i}", f"change of exponent at break {i}", BNSL_PRIORS["c"]),
            Param(f"f{i}", f"sharpness of break {i}", BNSL_PRIORS["f"], "positive"),
        ]
    factor = " * ".join(f"(1 + ({var}/d{i})^(1/f{i}))^(-c{i}*f{i})" for i in idx)
    return Law(
        name=name or f"bnsl{n_breaks}",
        formula=f"L = a + b*{var}^-c0 * {factor}",
        description=f"broken neural scaling law (Caballero et al. 2022), {n_breaks} "
        f"break{'s' if n_breaks > 1 else ''} in {what}",
        inputs=(var,),
        params=tuple(params),
        sites=tuple(sites),
        log_loss=log_loss,
        sampler_log_loss=sampler_log_loss,
        to_textbook=to_textbook,
        whiten=False,
        initial_ref={var: "geomean"},
    )


BNSL1 = LAWS.register(make_bnsl(1))
BNSL2 = LAWS.register(make_bnsl(2))
