"""Routed mixture-of-experts (Clark et al. 2022): ``routed_moe``,
``log L = a*log N + b*log E + c*log N*log E + d`` with ``E`` the number of experts (input
``experts``, a covariate read from an extra column; ``E`` stays the name of the irreducible
loss elsewhere). Forecasts: ``scaling_bayes.predict(fit, N=..., experts=...)``.

This module imports only JAX at import time.
"""

from __future__ import annotations

import jax.numpy as jnp

from scaling_bayes.laws.base import LAWS, Law, Param

__all__ = ["ROUTED_MOE"]

# ----------------------------------------------------------------------------- routed MoE
def _moe_log_loss(theta, inputs):
    lN, lE = jnp.log(inputs["N"]), jnp.log(inputs["experts"])
    return theta["a"] * lN + theta["b"] * lE + theta["c"] * lN * lE + theta["d"]


def _moe_sampler_log_loss(phi, x):
    xN, xE = x["N"], x["experts"]
    return phi["l0"] + phi["a_ref"] * xN + phi["b_ref"] * xE + phi["c"] * xN * xE


def _moe_to_textbook(phi, ref):
    lN0, lE0 = jnp.log(ref["N"]), jnp.log(ref["experts"])
    a = phi["a_ref"] - phi["c"] * lE0
    b = phi["b_ref"] - phi["c"] * lN0
    d = phi["l0"] - a * lN0 - b * lE0 - phi["c"] * lN0 * lE0
    return {"a": a, "b": b, "c": phi["c"], "d": d}


ROUTED_MOE = LAWS.register(
    Law(
        name="routed_moe",
        formula="log L = a*log N + b*log E + c*log N*log E + d, E = experts",
        description="routed mixture-of-experts law (Clark et al. 2022 eq. 1; natural logs, "
        "E = number of experts without Clark's saturating transform)",
        inputs=("N", "experts"),
        params=(
            Param("a", "slope of log L in log N for a dense model (E = 1)"),
            Param("b", "slope of log L in log E at N = 1"),
            Param("c", "interaction: how the expert slope changes with log N"),
            Param("d", "log L at N = 1, E = 1"),
        ),
        sites=(
            Param(
                "l0",
                "log-loss at the pivot (N0, E0), geometric means of the data",
                ("Normal", {"loc": 1.0, "scale": 1.0}),
            ),
            Param(
                "a_ref", "slope of log L in log N at E0", ("Normal", {"loc": -0.1, "scale": 0.2})
            ),
            Param(
                "b_ref", "slope of log L in log E at N0", ("Normal", {"loc": -0.05, "scale": 0.2})
            ),
            Param("c", "interaction of log N and log E", ("Normal", {"loc": 0.0, "scale": 0.05})),
        ),
        log_loss=_moe_log_loss,
        sampler_log_loss=_moe_sampler_log_loss,
        to_textbook=_moe_to_textbook,
        initial_ref={"N": "geomean", "experts": "geomean"},
    )
)
