"""Kaplan et al. (2020) §5 learning curve: ``kaplan_learning_curve``,
``L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S`` on intermediate checkpoints, with
``S_min = S / (1 + B_crit(L)/B)`` and ``B_crit(L) = B*/L^(1/alpha_B)`` (inputs N, D and the
optimizer step S; the batch in tokens is ``B = D/S``). :func:`kaplan_min_conversions` gives
S_min, E_min and C_min at observed losses.

Fixed reference scales
----------------------
The sampler sees inputs as ``x = log(v / ref)``. This law needs some inputs in absolute
units (the batch ``D/S``), so those inputs have a fixed reference scale of 1 (a number in
:attr:`Law.initial_ref`; then ``x = log v``); a power-law amplitude whose input is not pivoted
is quoted at a fixed internal scale inside typical sweeps (``_LC_S0``) instead of at a
data-chosen pivot. Do not pass ``ref=`` to :func:`~scaling_bayes.fit` for those inputs.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from scaling_bayes.laws.base import LAWS, Law, Param, Pivot

__all__ = [
    "KAPLAN_2020_LEARNING_CURVE", "KAPLAN_ALPHA_B", "KAPLAN_B_STAR", "KAPLAN_LEARNING_CURVE",
    "kaplan_min_conversions",
]


# ============================================================================ Kaplan S_min
#: Kaplan et al. 2020 critical batch size B_crit(L) = B*/L^(1/alpha_B): published constants
#: (tokens; L in nats/token), treated as known in ``kaplan_learning_curve``.
KAPLAN_B_STAR = 2e8
KAPLAN_ALPHA_B = 0.21
#: Internal reference (optimizer steps) at which the step term's amplitude is sampled.
_LC_S0 = 1e4
_LOG_LC_S0 = math.log(_LC_S0)
_LOG_B_STAR = math.log(KAPLAN_B_STAR)
_LC_NEWTON = 8


def _lc_solve(t_n, s_base, log_batch, alpha_s):
    """Solve ``l = log(exp(t_n) + exp(alpha_s*(s_base + log1p(B_crit(e^l)/B))))`` for the log
    loss ``l`` (B_crit depends on the loss itself): Newton's method on ``g(l) = l - F(l)``,
    which is increasing with ``g' >= 1`` (F decreases in l), from the lower bound of F."""

    def F(lv):
        z = _LOG_B_STAR - lv / KAPLAN_ALPHA_B - log_batch  # log(B_crit/B)
        t_s = alpha_s * (s_base + jax.nn.softplus(z))
        f = jnp.logaddexp(t_n, t_s)
        # dF/dl = share of the step term * d t_s / dl
        df = jax.nn.sigmoid(t_s - t_n) * alpha_s * jax.nn.sigmoid(z) * (-1.0 / KAPLAN_ALPHA_B)
        return f, df

    l0 = jnp.logaddexp(t_n, alpha_s * s_base)

    def body(_, lv):
        f, df = F(lv)
        return lv - (lv - f) / (1.0 - df)

    return jax.lax.fori_loop(0, _LC_NEWTON, body, l0)


def _lc_log_loss(theta, inputs):
    logN, logD, logS = (jnp.log(inputs[v]) for v in ("N", "D", "S"))
    t_n = theta["alpha_N"] * (jnp.log(theta["N_c"]) - logN)
    s_base = jnp.log(theta["S_c"]) - logS
    return _lc_solve(t_n, s_base, logD - logS, theta["alpha_S"])


def _lc_sampler_log_loss(phi, x):
    # x["N"] = log(N/N0) (pivot N0); x["D"], x["S"] = log D, log S (fixed reference 1)
    t_n = phi["lnA0"] - phi["alpha_N"] * x["N"]
    s_base = phi["lnS0"] / phi["alpha_S"] - (x["S"] - _LOG_LC_S0)
    return _lc_solve(t_n, s_base, x["D"] - x["S"], phi["alpha_S"])


def _lc_to_textbook(phi, ref):
    return {
        "N_c": ref["N"] * jnp.exp(phi["lnA0"] / phi["alpha_N"]),
        "alpha_N": phi["alpha_N"],
        "S_c": _LC_S0 * jnp.exp(phi["lnS0"] / phi["alpha_S"]),
        "alpha_S": phi["alpha_S"],
    }


KAPLAN_LEARNING_CURVE = LAWS.register(
    Law(
        name="kaplan_learning_curve",
        formula="L = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S, S_min = S/(1 + B_crit(L)/B), "
        "B_crit(L) = 2e8/L^(1/0.21) tokens, B = D/S",
        description="Kaplan et al. 2020 §5 learning curve in model size and optimizer steps, "
        "with the critical-batch conversion S -> S_min (B* and alpha_B fixed at Kaplan's values)",
        inputs=("N", "D", "S"),
        params=(
            Param("N_c", "model-size scale (parameters)"),
            Param("alpha_N", "model-size exponent"),
            Param("S_c", "step scale (optimizer steps at B >> B_crit)"),
            Param("alpha_S", "step exponent"),
        ),
        sites=(
            Param(
                "lnA0",
                "log of the model-size term (N_c/N0)^alpha_N at the pivot N0",
                ("Normal", {"loc": 0.5, "scale": 1.0}),
            ),
            Param(
                "alpha_N",
                "model-size exponent",
                ("LogNormal", {"loc": -2.3, "scale": 1.0}),
                "positive",
            ),
            Param(
                "lnS0",
                "log of the step term (S_c/S0)^alpha_S at S0 = 1e4 steps",
                ("Normal", {"loc": -1.0, "scale": 1.5}),
            ),
            Param(
                "alpha_S", "step exponent", ("LogNormal", {"loc": -0.5, "scale": 0.75}), "positive"
            ),
        ),
        log_loss=_lc_log_loss,
        sampler_log_loss=_lc_sampler_log_loss,
        to_textbook=_lc_to_textbook,
        pivots=(Pivot("lnA0", "alpha_N", "N"),),
        initial_ref={"N": "geomean", "D": 1.0, "S": 1.0},
        # whitened NUTS: 9 divergences on the Gemstones checkpoints at target_accept 0.9
        whiten=False,
    )
)

#: Kaplan et al. 2020 Table 3 / methods.md §1.1 values of the learning-curve fit.
KAPLAN_2020_LEARNING_CURVE = {"N_c": 6.5e13, "alpha_N": 0.077, "S_c": 2.1e3, "alpha_S": 0.76}


def kaplan_min_conversions(
    steps, batch_tokens, loss, *, b_star=KAPLAN_B_STAR, alpha_b=KAPLAN_ALPHA_B
):
    """Kaplan et al. 2020 eqs 5.4-5.5 at observed losses: ``B_crit = b_star / loss^(1/alpha_b)``,
    ``S_min = S / (1 + B_crit/B)``, ``E_min = E / (1 + B/B_crit)`` (examples = tokens ``S*B``)
    and ``C_min = C / (1 + B/B_crit)`` with ``C = 6 N S B`` left to the caller: the returned
    ``compute_fraction`` is ``1 / (1 + B/B_crit)``. Returns a dict of numpy arrays."""
    S, B, L = (np.asarray(a, dtype=float) for a in (steps, batch_tokens, loss))
    b_crit = b_star / L ** (1.0 / alpha_b)
    return {
        "B_crit": b_crit,
        "S_min": S / (1.0 + b_crit / B),
        "E_min": S * B / (1.0 + B / b_crit),
        "compute_fraction": 1.0 / (1.0 + B / b_crit),
    }
