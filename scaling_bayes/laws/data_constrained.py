"""The data-constrained law of Muennighoff et al. (2023): ``data_constrained``.

The Chinchilla form in effective parameters N' and effective data D' that discount repeated
epochs (inputs N, D and the unique tokens U). What extra epochs are worth, and the allocation
at a fixed number of unique tokens: :mod:`scaling_bayes.decisions.epochs`.

Fixed reference scales
----------------------
The sampler sees inputs as ``x = log(v / ref)``. This law needs some inputs in absolute
units (the number of repetitions ``D/U - 1``), so those inputs have a fixed reference scale
of 1 (a number in :attr:`Law.initial_ref`; then ``x = log v``); a power-law amplitude whose
input is not pivoted is quoted at a fixed internal scale inside typical sweeps (``_DC_D0``)
instead of at a data-chosen pivot. Do not pass ``ref=`` to :func:`~scaling_bayes.fit` for
those inputs.
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

__all__ = ["DATA_CONSTRAINED", "MUENNIGHOFF_2023"]


# ============================================================================ data-constrained
#: Internal reference scale (tokens) at which the data term's amplitude is sampled.
_DC_D0 = 1e10
_LOG_DC_D0 = math.log(_DC_D0)
_R_STAR_PRIOR = ("LogNormal", {"loc": 2.3, "scale": 1.0})  # median 10, 95% [1.4, 71]


def _log_effective(log_unique, log_total, r_star):
    """``log X'`` with ``X' = U + U*R*(1 - exp(-R/R*))``, ``R = max(total/U - 1, 0)``.

    ``log_unique`` and ``log_total`` may share any common offset (only their difference and
    ``log_unique`` itself enter, the latter additively)."""
    # repetitions beyond e^50 are all worth nothing more; the clip keeps gradients finite
    reps = jnp.maximum(jnp.expm1(jnp.minimum(log_total - log_unique, 50.0)), 0.0)
    return log_unique + jnp.log1p(-r_star * jnp.expm1(-reps / r_star))


def _dc_log_loss(theta, inputs):
    al, be = theta["alpha"], theta["beta"]
    logA, logB = jnp.log(theta["A"]), jnp.log(theta["B"])
    logN, logD, logU = (jnp.log(inputs[v]) for v in ("N", "D", "U"))
    logU = jnp.minimum(logU, logD)  # unique tokens seen: U_D = min(U, D)
    log_dp = _log_effective(logU, logD, theta["R_D_star"])
    # U_N = min(N, N_opt(U)), N_opt(U) = G (G U)^(beta/alpha): the compute-optimal size for U
    logG = (jnp.log(al) + logA - jnp.log(be) - logB) / (al + be)
    log_un = jnp.minimum(logN, logG + be / al * (logG + logU))
    log_np = _log_effective(log_un, logN, theta["R_N_star"])
    return _stack_lse(jnp.log(theta["E"]), logA - al * log_np, logB - be * log_dp)


def _dc_sampler_log_loss(phi, x):
    # x["N"] = log(N/N0) (pivot N0); x["D"], x["U"] = log D, log U (fixed reference 1)
    al, be = phi["alpha"], phi["beta"]
    log_u = jnp.minimum(x["U"], x["D"])  # unique tokens seen: U_D = min(U, D)
    xu = log_u - _LOG_DC_D0
    x_dp = _log_effective(log_u, x["D"], phi["R_D_star"]) - _LOG_DC_D0
    # log(N_opt(U)/N0), written in the sampler parameters (N0 and D0 cancel)
    x_nopt = (jnp.log(al) - jnp.log(be) + phi["lnA0"] - phi["lnB0"] + be * xu) / al
    x_un = jnp.minimum(x["N"], x_nopt)
    x_np = _log_effective(x_un, x["N"], phi["R_N_star"])
    return _stack_lse(jnp.log(phi["E"]), phi["lnA0"] - al * x_np, phi["lnB0"] - be * x_dp)


def _dc_to_textbook(phi, ref):
    return {
        "E": phi["E"],
        "A": jnp.exp(phi["lnA0"] + phi["alpha"] * jnp.log(ref["N"])),
        "B": jnp.exp(phi["lnB0"] + phi["beta"] * _LOG_DC_D0),
        "alpha": phi["alpha"],
        "beta": phi["beta"],
        "R_D_star": phi["R_D_star"],
        "R_N_star": phi["R_N_star"],
    }


DATA_CONSTRAINED = LAWS.register(
    Law(
        name="data_constrained",
        formula="L = E + A*N'^-alpha + B*D'^-beta, D' = U + U*R_D*(1 - exp(-R_D/R_D*)), "
        "R_D = D/U - 1; N' likewise with U_N = min(N, N_opt(U)), R_N = N/U_N - 1",
        description="Muennighoff et al. 2023 data-constrained law: repeated epochs and excess "
        "parameters decay in value (U = unique training tokens)",
        inputs=("N", "D", "U"),
        params=(
            Param("E", "irreducible loss (nats/token)"),
            Param("A", "model-size amplitude (of the effective parameters N')"),
            Param("B", "data amplitude (of the effective data D')"),
            Param("alpha", "model-size exponent"),
            Param("beta", "data exponent"),
            Param(
                "R_D_star",
                "repetition scale of data: epochs beyond the first lose value as exp(-R_D/R_D*)",
            ),
            Param("R_N_star", "decay scale of excess parameters beyond N_opt(U)"),
        ),
        sites=(
            Param("E", "irreducible loss (nats/token)", _E_PRIOR, "positive"),
            Param("lnA0", "log of the model-size term A*N0^-alpha at the pivot N0", _TERM_PRIOR),
            Param("lnB0", "log of the data term B*D0^-beta at D0 = 1e10 tokens", _TERM_PRIOR),
            Param("alpha", "model-size exponent", _EXPONENT_PRIOR, "positive"),
            Param("beta", "data exponent", _EXPONENT_PRIOR, "positive"),
            Param("R_D_star", "repetition scale of data", _R_STAR_PRIOR, "positive"),
            Param("R_N_star", "decay scale of excess parameters", _R_STAR_PRIOR, "positive"),
        ),
        log_loss=_dc_log_loss,
        sampler_log_loss=_dc_sampler_log_loss,
        to_textbook=_dc_to_textbook,
        pivots=(Pivot("lnA0", "alpha", "N"),),
        initial_ref={"N": "min", "D": 1.0, "U": 1.0},
    )
)

#: Released fit of Muennighoff et al. 2023 (datablations issue #9; methods.md §1.4).
MUENNIGHOFF_2023 = {
    "E": math.exp(0.6255),
    "A": math.exp(6.2554),
    "B": math.exp(7.3050),
    "alpha": 0.3527,
    "beta": 0.3527,
    "R_D_star": 15.388,
    "R_N_star": 5.310,
}
