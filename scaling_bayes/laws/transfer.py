"""Laws of one loss against another: transfer and downstream error.

``transfer``
    Loss on another distribution against the loss on the training distribution (Kaplan et al.
    2020 §3.2.2), in log form: ``log L = a + b*log(L_train)``.
``downstream_error``
    Downstream error rate against training loss (Gadre et al. 2024):
    ``err = eps - k*exp(-gamma*L_train)``; the ``loss`` column holds the error rate
    (:attr:`Law.loss_in_nats` is ``False``).

The input ``L_train`` is a covariate read from an extra column
(:data:`scaling_bayes._core.vocabulary.COVARIATES`). Forecasts:
``scaling_bayes.predict(fit, L_train=...)``.

This module imports only JAX at import time.
"""

from __future__ import annotations

import jax.numpy as jnp

from scaling_bayes.laws.base import LAWS, Law, Param

__all__ = ["DOWNSTREAM_ERROR", "TRANSFER"]

# ----------------------------------------------------------------------------- transfer
def _transfer_log_loss(theta, inputs):
    return theta["a"] + theta["b"] * jnp.log(inputs["L_train"])


def _transfer_sampler_log_loss(phi, x):
    return phi["l0"] + phi["b"] * x["L_train"]


def _transfer_to_textbook(phi, ref):
    return {"a": phi["l0"] - phi["b"] * jnp.log(ref["L_train"]), "b": phi["b"]}


TRANSFER = LAWS.register(
    Law(
        name="transfer",
        formula="log L = a + b*log(L_train)",
        description="loss on another distribution against the training-distribution loss "
        "(Kaplan et al. 2020 §3.2.2), log form: b = 1 is a constant ratio",
        inputs=("L_train",),
        params=(
            Param("a", "log-loss offset: log L at L_train = 1"),
            Param("b", "slope of log L in log L_train (1: the two losses improve in parallel)"),
        ),
        sites=(
            Param(
                "l0",
                "log-loss at the pivot L_train0 (geometric mean of the data)",
                ("Normal", {"loc": 1.0, "scale": 1.0}),
            ),
            Param(
                "b",
                "slope of log L in log L_train",
                ("LogNormal", {"loc": 0.0, "scale": 0.5}),
                "positive",
            ),
        ),
        log_loss=_transfer_log_loss,
        sampler_log_loss=_transfer_sampler_log_loss,
        to_textbook=_transfer_to_textbook,
        initial_ref={"L_train": "geomean"},
    )
)


# ----------------------------------------------------------------------------- downstream
#: Below the training loss L* = log(k/eps)/gamma the law predicts an error <= 0; there its log
#: is floored at log(eps * _FLOOR) (a finite value far from any real error rate).
_FLOOR = 1e-6


def _log_err(log_eps, t):
    """``log(eps * (1 - exp(t)))`` with ``t = log(k e^(-gamma L) / eps)`` capped below 0."""
    t = jnp.minimum(t, jnp.log1p(-_FLOOR))
    return log_eps + jnp.log(-jnp.expm1(t))


def _downstream_log_loss(theta, inputs):
    t = jnp.log(theta["k"]) - jnp.log(theta["eps"]) - theta["gamma"] * inputs["L_train"]
    return _log_err(jnp.log(theta["eps"]), t)


def _downstream_sampler_log_loss(phi, x):
    # err = eps * (1 - r0 * exp(-g0 * (L/L0 - 1))), g0 = gamma * L0: r0 is the fraction of eps
    # removed at the pivot L0, so eps, r0, g0 are each pinned by the data near L0.
    g0 = jnp.exp(phi["lg0"])
    t = jnp.log(phi["r0"]) - g0 * jnp.expm1(x["L_train"])
    return _log_err(jnp.log(phi["eps"]), t)


def _downstream_to_textbook(phi, ref):
    g0 = jnp.exp(phi["lg0"])
    return {
        "eps": phi["eps"],
        "k": phi["eps"] * phi["r0"] * jnp.exp(g0),
        "gamma": g0 / ref["L_train"],
    }


DOWNSTREAM_ERROR = LAWS.register(
    Law(
        name="downstream_error",
        formula="L = eps - k*exp(-gamma*L_train)",
        description="downstream error rate (in the loss column) against training loss "
        "(Gadre et al. 2024)",
        inputs=("L_train",),
        params=(
            Param("eps", "error rate as L_train grows (random chance)"),
            Param("k", "amplitude of the improvement"),
            Param("gamma", "rate of the improvement per nat of training loss"),
        ),
        sites=(
            Param(
                "eps",
                "error rate as L_train grows",
                ("Beta", {"concentration1": 2.0, "concentration0": 2.0}),
                "positive",
            ),
            Param(
                "r0",
                "fraction of eps removed at the pivot L_train0",
                ("Beta", {"concentration1": 1.5, "concentration0": 1.5}),
                "positive",
            ),
            Param("lg0", "log(gamma * L_train0)", ("Normal", {"loc": 0.5, "scale": 1.0})),
        ),
        log_loss=_downstream_log_loss,
        sampler_log_loss=_downstream_sampler_log_loss,
        to_textbook=_downstream_to_textbook,
        initial_ref={"L_train": "geomean"},
        loss_in_nats=False,  # the loss column holds an error rate
    )
)
