"""The over-training law of Gadre et al. (2024): ``overtraining``,
``L(C, M) = E + (a*M^eta + b*M^-eta) * C^-eta`` with the token multiplier ``M = D/N`` and
``C = 6ND`` (inputs N, D).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from scaling_bayes.laws.base import (
    _E_PRIOR,
    _EXPONENT_PRIOR,
    _TERM_PRIOR,
    LAWS,
    Law,
    Param,
    Pivot,
    _stack_lse,
)

__all__ = ["OVERTRAINING"]

_LOG6 = math.log(6.0)


# ============================================================================ overtraining
def _ot_log_loss(theta, inputs):
    logN, logD = jnp.log(inputs["N"]), jnp.log(inputs["D"])
    eta = theta["eta"]
    logC = _LOG6 + logN + logD
    logM = logD - logN
    return _stack_lse(
        jnp.log(theta["E"]),
        jnp.log(theta["a"]) + eta * logM - eta * logC,
        jnp.log(theta["b"]) - eta * logM - eta * logC,
    )


def _ot_sampler_log_loss(phi, x):
    # with C = 6ND: a*M^eta*C^-eta = a*6^-eta*N^-2eta and b*M^-eta*C^-eta = b*6^-eta*D^-2eta, so
    # the law is Chinchilla with alpha = beta = 2*eta; sampled as such, with pivots N0, D0
    al = phi["alpha"]
    return _stack_lse(jnp.log(phi["E"]), phi["lnA0"] - al * x["N"], phi["lnB0"] - al * x["D"])


def _ot_to_textbook(phi, ref):
    al = phi["alpha"]
    eta = 0.5 * al
    return {
        "E": phi["E"],
        "a": jnp.exp(phi["lnA0"] + eta * _LOG6 + al * jnp.log(ref["N"])),
        "b": jnp.exp(phi["lnB0"] + eta * _LOG6 + al * jnp.log(ref["D"])),
        "eta": eta,
    }


OVERTRAINING = LAWS.register(
    Law(
        name="overtraining",
        formula="L = E + (a*M^eta + b*M^-eta)*C^-eta, M = D/N, C = 6ND",
        description="Gadre et al. 2024 over-training law in compute C and token multiplier M "
        "(Chinchilla with alpha = beta = 2*eta)",
        inputs=("N", "D"),
        params=(
            Param("E", "irreducible loss (nats/token)"),
            Param("a", "amplitude of the M^eta (too few tokens per parameter) term"),
            Param("b", "amplitude of the M^-eta (too many tokens per parameter) term"),
            Param("eta", "compute exponent"),
        ),
        sites=(
            Param("E", "irreducible loss (nats/token)", _E_PRIOR, "positive"),
            Param(
                "lnA0", "log of the model-size term a*6^-eta*N0^-2eta at the pivot N0", _TERM_PRIOR
            ),
            Param("lnB0", "log of the data term b*6^-eta*D0^-2eta at the pivot D0", _TERM_PRIOR),
            Param(
                "alpha", "2*eta: the exponent of N and of D at fixed M", _EXPONENT_PRIOR, "positive"
            ),
        ),
        log_loss=_ot_log_loss,
        sampler_log_loss=_ot_sampler_log_loss,
        to_textbook=_ot_to_textbook,
        pivots=(Pivot("lnA0", "alpha", "N"), Pivot("lnB0", "alpha", "D")),
        initial_ref={"N": "min", "D": "min"},
    )
)
