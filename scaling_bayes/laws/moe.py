"""Mixture-of-experts laws in model size ``N`` and the number of experts (input ``experts``, a
covariate read from an extra column; ``E`` stays the name of the irreducible loss elsewhere).

``routed_moe``
    Clark et al. 2022: ``log L = a*log N + b*log E + c*log N*log E + d`` with ``E`` the number
    of experts (bilinear in the logs, no irreducible loss).
``moe_power``
    ``L = E + B/(N^alpha * experts^beta)``: an irreducible loss plus one power law in both
    (the first candidate law of the active-sl benchmark's MoE task, Li et al. 2026,
    arXiv:2604.22753, ``benchmark/dataset/moe_scaling_law/laws.py`` ``sl_1``).

Forecasts: ``scaling_bayes.predict(fit, N=..., experts=...)``.

This module imports only JAX at import time.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.nn import log_sigmoid

from scaling_bayes.laws.base import _EXPONENT_PRIOR, LAWS, Law, Param

__all__ = ["MOE_POWER", "ROUTED_MOE"]

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


# ----------------------------------------------------------------------------- MoE power law
def _moe_power_log_loss(theta, inputs):
    lN, lE = jnp.log(inputs["N"]), jnp.log(inputs["experts"])
    red = jnp.log(theta["B"]) - theta["alpha"] * lN - theta["beta"] * lE
    return jnp.logaddexp(jnp.log(theta["E"]), red)


def _moe_power_sampler_log_loss(phi, x):
    # log L = l0 + log(s(w) + s(-w) * N'^-alpha * experts'^-beta), primes: inputs over the
    # pivot (N0, experts0). l0 is the log-loss at the pivot, w the logit of the irreducible
    # share E/L there: both well identified, unlike E and the amplitude, whose posterior in
    # (E, lnB0, alpha) is curved where E is weakly identified (measured on moe_activesl, 193
    # rows, 4 x 1000 draws: min bulk ESS 4600-4900 and no divergences with (l0, w), 670-930 and
    # 0-2 divergences with (E, lnB0) and two pivots, 3 seeds each).
    red = log_sigmoid(-phi["w"]) - phi["alpha"] * x["N"] - phi["beta"] * x["experts"]
    return phi["l0"] + jnp.logaddexp(log_sigmoid(phi["w"]), red)


def _moe_power_to_textbook(phi, ref):
    lnB0 = phi["l0"] + log_sigmoid(-phi["w"])  # log of the reducible term at the pivot
    lnB = lnB0 + phi["alpha"] * jnp.log(ref["N"]) + phi["beta"] * jnp.log(ref["experts"])
    return {
        "E": jnp.exp(phi["l0"] + log_sigmoid(phi["w"])),
        "B": jnp.exp(lnB),
        "alpha": phi["alpha"],
        "beta": phi["beta"],
    }


#: Prior of the expert exponent: median 0.135, 95% [0.019, 0.96] (below the model-size
#: exponent's: adding experts at a fixed dense size buys less than adding dense parameters).
_EXPERT_EXPONENT_PRIOR = ("LogNormal", {"loc": -2.0, "scale": 1.0})

MOE_POWER = LAWS.register(
    Law(
        name="moe_power",
        formula="L = E + B/(N^alpha * experts^beta)",
        description="mixture-of-experts power law with an irreducible loss (the active-sl MoE "
        "benchmark's sl_1, Li et al. 2026; N = dense parameter count, experts = number of "
        "experts, 1 = dense)",
        inputs=("N", "experts"),
        params=(
            Param("E", "irreducible loss (nats/token)"),
            Param("B", "amplitude of the reducible term at N = 1, experts = 1"),
            Param("alpha", "model-size exponent"),
            Param("beta", "expert-count exponent"),
        ),
        sites=(
            Param(
                "l0",
                "log-loss at the pivot (N0, experts0), geometric means of the data",
                ("Normal", {"loc": 1.0, "scale": 1.0}),
            ),
            Param(
                "w",
                "logit of the irreducible share E/L at the pivot (prior median 62%)",
                ("Normal", {"loc": 0.5, "scale": 1.5}),
            ),
            Param("alpha", "model-size exponent", _EXPONENT_PRIOR, "positive"),
            Param("beta", "expert-count exponent", _EXPERT_EXPONENT_PRIOR, "positive"),
        ),
        log_loss=_moe_power_log_loss,
        sampler_log_loss=_moe_power_sampler_log_loss,
        to_textbook=_moe_power_to_textbook,
        initial_ref={"N": "geomean", "experts": "geomean"},
    )
)
