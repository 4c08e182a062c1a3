"""The classic laws: Chinchilla, Kaplan's joint law, and single power laws in N, D or C.

``chinchilla``
    Hoffmann et al. 2022 (Approach 3): ``L = E + A*N^-alpha + B*D^-beta``; its compute-optimal
    allocation under ``C = k N D`` has a closed form (:attr:`Law.closed_form_allocation`).
``kaplan``
    Kaplan et al. 2020 eq. 1.5: ``L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D``.
``power_X``, ``power_X_E`` for X in N, D, C
    Kaplan et al. 2020 eqs 1.1-1.3, ``L = (X_c/X)^alpha_X``, optionally plus an irreducible E.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.nn import log_sigmoid
from jax.scipy.special import logsumexp

from scaling_bayes._core.vocabulary import INPUT_DESCRIPTIONS
from scaling_bayes.laws.base import (
    _E_PRIOR,
    _EXPONENT_PRIOR,
    _TERM_PRIOR,
    LAWS,
    ClosedFormAllocation,
    Law,
    Param,
    Pivot,
)

__all__ = ["CHINCHILLA", "KAPLAN"]


# ----------------------------------------------------------------------------- chinchilla
def _chinchilla_log_loss(theta, inputs):
    logN = jnp.log(inputs["N"])
    logD = jnp.log(inputs["D"])
    terms = jnp.stack(
        jnp.broadcast_arrays(
            jnp.log(theta["E"]),
            jnp.log(theta["A"]) - theta["alpha"] * logN,
            jnp.log(theta["B"]) - theta["beta"] * logD,
        )
    )
    return logsumexp(terms, axis=0)


def _chinchilla_sampler_log_loss(phi, x):
    terms = jnp.stack(
        jnp.broadcast_arrays(
            jnp.log(phi["E"]),
            phi["lnA0"] - phi["alpha"] * x["N"],
            phi["lnB0"] - phi["beta"] * x["D"],
        )
    )
    return logsumexp(terms, axis=0)


def _chinchilla_to_textbook(phi, ref):
    return {
        "E": phi["E"],
        "A": jnp.exp(phi["lnA0"] + phi["alpha"] * jnp.log(ref["N"])),
        "B": jnp.exp(phi["lnB0"] + phi["beta"] * jnp.log(ref["D"])),
        "alpha": phi["alpha"],
        "beta": phi["beta"],
    }


def _chinchilla_optimum(theta, logC, log_k):
    """Closed-form ``(log N_opt, log D_opt)`` at budget ``C = k N D``, per draw and budget."""
    al, be = theta["alpha"], theta["beta"]
    logG = (jnp.log(al) + jnp.log(theta["A"]) - jnp.log(be) - jnp.log(theta["B"])) / (al + be)
    x = logC - log_k
    u = logG + be / (al + be) * x
    v = -logG + al / (al + be) * x
    return u, v


def _chinchilla_budget_for_loss(theta, log_ell, log_k):
    """Closed-form log of the smallest budget whose optimal loss is ``ell`` (inf if below E)."""
    al, be = theta["alpha"], theta["beta"]
    logG = (jnp.log(al) + jnp.log(theta["A"]) - jnp.log(be) - jnp.log(theta["B"])) / (al + be)
    logK = jnp.logaddexp(jnp.log(theta["A"]) - al * logG, jnp.log(theta["B"]) + be * logG)
    red = jnp.exp(log_ell) - theta["E"]
    x = -(al + be) / (al * be) * (jnp.log(jnp.where(red > 0, red, 1.0)) - logK)
    return jnp.where(red > 0, x + log_k, jnp.inf)


def _chinchilla_exponents(th):
    """N_opt = G (C/6)^a, D_opt ∝ C^b with a = beta/(alpha+beta), b = alpha/(alpha+beta)."""
    al, be = th["alpha"], th["beta"]
    G = np.exp((np.log(al) + np.log(th["A"]) - np.log(be) - np.log(th["B"])) / (al + be))
    return {"a": be / (al + be), "b": al / (al + be), "G": G}


CHINCHILLA = LAWS.register(
    Law(
        name="chinchilla",
        formula="L = E + A*N^-alpha + B*D^-beta",
        description="Hoffmann et al. 2022 (Approach 3) parametric loss surface",
        inputs=("N", "D"),
        params=(
            Param("E", "irreducible loss (nats/token)"),
            Param("A", "model-size amplitude"),
            Param("B", "data amplitude"),
            Param("alpha", "model-size exponent"),
            Param("beta", "data exponent"),
        ),
        sites=(
            Param("E", "irreducible loss (nats/token)", _E_PRIOR, "positive"),
            Param("lnA0", "log of the model-size term A*N0^-alpha at the pivot N0", _TERM_PRIOR),
            Param("lnB0", "log of the data term B*D0^-beta at the pivot D0", _TERM_PRIOR),
            Param("alpha", "model-size exponent", _EXPONENT_PRIOR, "positive"),
            Param("beta", "data exponent", _EXPONENT_PRIOR, "positive"),
        ),
        log_loss=_chinchilla_log_loss,
        sampler_log_loss=_chinchilla_sampler_log_loss,
        to_textbook=_chinchilla_to_textbook,
        pivots=(Pivot("lnA0", "alpha", "N"), Pivot("lnB0", "beta", "D")),
        initial_ref={"N": "min", "D": "min"},
        closed_form_allocation=ClosedFormAllocation(
            optimum=_chinchilla_optimum, budget_for_loss=_chinchilla_budget_for_loss
        ),
        exponents_of=_chinchilla_exponents,
    )
)


# ----------------------------------------------------------------------------- kaplan
def _kaplan_log_loss(theta, inputs):
    r = theta["alpha_N"] / theta["alpha_D"]
    t1 = r * (jnp.log(theta["N_c"]) - jnp.log(inputs["N"]))
    t2 = jnp.log(theta["D_c"]) - jnp.log(inputs["D"])
    return theta["alpha_D"] * logsumexp(jnp.stack(jnp.broadcast_arrays(t1, t2)), axis=0)


def _kaplan_sampler_log_loss(phi, x):
    # log L = l0 + alpha_D * LSE(log sig(w) - r*xN, log sig(-w) - xD): l0 is the log-loss at the
    # pivot (N0, D0) and w the logit of the model-size share of the bracket there.
    t1 = log_sigmoid(phi["w_N"]) - phi["r_ND"] * x["N"]
    t2 = log_sigmoid(-phi["w_N"]) - x["D"]
    return phi["l0"] + phi["alpha_D"] * logsumexp(jnp.stack(jnp.broadcast_arrays(t1, t2)), axis=0)


def _kaplan_to_textbook(phi, ref):
    s = phi["l0"] / phi["alpha_D"]  # log of the bracket at the pivot
    u = s + log_sigmoid(phi["w_N"])  # log (N_c/N0)^r
    v = s + log_sigmoid(-phi["w_N"])  # log (D_c/D0)
    return {
        "N_c": ref["N"] * jnp.exp(u / phi["r_ND"]),
        "D_c": ref["D"] * jnp.exp(v),
        "alpha_N": phi["r_ND"] * phi["alpha_D"],
        "alpha_D": phi["alpha_D"],
    }


def _kaplan_exponents(th):
    """N_opt ∝ C^a with a = 1/(1 + alpha_N/alpha_D), D_opt ∝ C^b, b = 1 - a."""
    r = th["alpha_N"] / th["alpha_D"]
    return {"a": 1.0 / (1.0 + r), "b": r / (1.0 + r)}


KAPLAN = LAWS.register(
    Law(
        name="kaplan",
        formula="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
        description="Kaplan et al. 2020 eq. 1.5 joint model-size/data law (no irreducible term)",
        inputs=("N", "D"),
        params=(
            Param("N_c", "model-size scale (parameters)"),
            Param("D_c", "data scale (tokens)"),
            Param("alpha_N", "model-size exponent"),
            Param("alpha_D", "data exponent"),
        ),
        sites=(
            Param("l0", "log-loss at the pivot (N0, D0)", ("Normal", {"loc": 1.0, "scale": 1.0})),
            Param(
                "w_N",
                "logit of the model-size share of the bracket at the pivot",
                ("Normal", {"loc": 0.0, "scale": 2.0}),
            ),
            Param(
                "alpha_D",
                "data exponent",
                ("LogNormal", {"loc": -2.3, "scale": 0.75}),
                "positive",
            ),
            Param(
                "r_ND",
                "exponent ratio alpha_N/alpha_D",
                ("LogNormal", {"loc": -0.3, "scale": 0.6}),
                "positive",
            ),
        ),
        log_loss=_kaplan_log_loss,
        sampler_log_loss=_kaplan_sampler_log_loss,
        to_textbook=_kaplan_to_textbook,
        initial_ref={"N": "geomean", "D": "geomean"},
        exponents_of=_kaplan_exponents,
    )
)


# ----------------------------------------------------------------------------- one variable
def _make_power_law(var: str, irreducible: bool) -> Law:
    """Kaplan eqs 1.1-1.3: ``L = (X_c/X)^alpha_X``, optionally plus an irreducible ``E``."""
    scale, expo = f"{var}_c", f"alpha_{var}"
    what = INPUT_DESCRIPTIONS[var]

    if irreducible:

        def log_loss(theta, inputs):
            t = theta[expo] * (jnp.log(theta[scale]) - jnp.log(inputs[var]))
            return jnp.logaddexp(jnp.log(theta["E"]), t)

        def sampler_log_loss(phi, x):
            return jnp.logaddexp(jnp.log(phi["E"]), phi["lnA0"] - phi[expo] * x[var])

        def to_textbook(phi, ref):
            return {
                "E": phi["E"],
                scale: ref[var] * jnp.exp(phi["lnA0"] / phi[expo]),
                expo: phi[expo],
            }

        return Law(
            name=f"power_{var}_E",
            formula=f"L = E + ({scale}/{var})^{expo}",
            description=f"single power law in {what} with an irreducible loss",
            inputs=(var,),
            params=(
                Param("E", "irreducible loss (nats/token)"),
                Param(scale, f"scale of {what}"),
                Param(expo, "exponent"),
            ),
            sites=(
                Param("E", "irreducible loss (nats/token)", _E_PRIOR, "positive"),
                Param("lnA0", f"log of the reducible term at the pivot {var}0", _TERM_PRIOR),
                Param(expo, "exponent", _EXPONENT_PRIOR, "positive"),
            ),
            log_loss=log_loss,
            sampler_log_loss=sampler_log_loss,
            to_textbook=to_textbook,
            pivots=(Pivot("lnA0", expo, var),),
            initial_ref={var: "min"},
        )

    def log_loss(theta, inputs):  # noqa: F811 - the other branch returned already
        return theta[expo] * (jnp.log(theta[scale]) - jnp.log(inputs[var]))

    def sampler_log_loss(phi, x):
        return phi["l0"] - phi[expo] * x[var]

    def to_textbook(phi, ref):
        return {scale: ref[var] * jnp.exp(phi["l0"] / phi[expo]), expo: phi[expo]}

    return Law(
        name=f"power_{var}",
        formula=f"L = ({scale}/{var})^{expo}",
        description=f"single power law in {what} (Kaplan et al. 2020 eqs 1.1-1.3)",
        inputs=(var,),
        params=(Param(scale, f"scale of {what}"), Param(expo, "exponent")),
        sites=(
            Param("l0", f"log-loss at the pivot {var}0", ("Normal", {"loc": 1.0, "scale": 1.0})),
            Param(expo, "exponent", ("LogNormal", {"loc": -2.3, "scale": 1.0}), "positive"),
        ),
        log_loss=log_loss,
        sampler_log_loss=sampler_log_loss,
        to_textbook=to_textbook,
        initial_ref={var: "geomean"},
    )


for _var in ("N", "D", "C"):
    LAWS.register(_make_power_law(_var, irreducible=False))
    LAWS.register(_make_power_law(_var, irreducible=True))
