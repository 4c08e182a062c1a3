"""More of the scaling-law literature (issue 8), and user-defined laws.

Registered here (``scaling_bayes.laws.base`` imports this module at its end):

``data_constrained``
    Muennighoff et al. (2023): the Chinchilla form in effective parameters N' and effective
    data D' that discount repeated epochs (inputs N, D and the unique tokens U).
    :func:`epoch_value` reports what extra epochs are worth.
``overtraining``
    Gadre et al. (2024): ``L(C, M) = E + (a*M^eta + b*M^-eta) * C^-eta`` with the token
    multiplier ``M = D/N`` and ``C = 6ND`` (inputs N, D).
``kaplan_learning_curve``
    Kaplan et al. (2020) §5: ``L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S`` on
    intermediate checkpoints, with ``S_min = S / (1 + B_crit(L)/B)`` and
    ``B_crit(L) = B*/L^(1/alpha_B)`` (inputs N, D and the optimizer step S; the batch in tokens
    is ``B = D/S``). :func:`kaplan_min_conversions` gives S_min, E_min and C_min.

and :func:`custom_law`, which turns any JAX function of textbook parameters into a law with the
whole pipeline (fit, diagnostics, ``predict``, numeric compute-optimal allocation).

Fixed reference scales
----------------------
The sampler sees inputs as ``x = log(v / ref)``. These laws need some inputs in absolute units
(the number of repetitions ``D/U - 1``, the batch ``D/S``, or any input of a user's function),
so those inputs have a fixed reference scale of 1 (a number in :attr:`Law.initial_ref`; then
``x = log v``); a power-law amplitude whose input is not pivoted is quoted at a fixed internal
scale inside typical sweeps (``_DC_D0``, ``_LC_S0``) instead of at a data-chosen pivot. Do not
pass ``ref=`` to :func:`~scaling_bayes.fit` for those inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from scaling_bayes.laws.base import (
    _E_PRIOR,
    _EXPONENT_PRIOR,
    _REGISTRY,
    _TERM_PRIOR,
    INPUT_DESCRIPTIONS,
    Law,
    Param,
    Pivot,
    register_law,
)

INPUT_DESCRIPTIONS.setdefault("U", "unique training tokens")
INPUT_DESCRIPTIONS.setdefault("S", "optimizer steps")

_LOG6 = math.log(6.0)


def _stack_lse(*terms):
    return logsumexp(jnp.stack(jnp.broadcast_arrays(*terms)), axis=0)


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


DATA_CONSTRAINED = register_law(
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


_UNIQUE_LAWS: dict[float, Law] = {}


def unique_data_law(unique_tokens: float) -> Law:
    """``data_constrained`` with the unique tokens fixed at ``unique_tokens``, as a law of N and
    D (not registered; cached per value so its compiled allocation programs are reused)."""
    import dataclasses

    U = float(unique_tokens)
    if not (math.isfinite(U) and U > 0):
        raise ValueError(f"unique_tokens must be finite and > 0, got {unique_tokens!r}")
    if U not in _UNIQUE_LAWS:

        def log_loss(theta, inputs):
            D = jnp.asarray(inputs["D"])
            return _dc_log_loss(theta, {"N": inputs["N"], "D": D, "U": jnp.full_like(D, U)})

        _UNIQUE_LAWS[U] = dataclasses.replace(
            DATA_CONSTRAINED,
            name=f"data_constrained[U={U:g}]",
            inputs=("N", "D"),
            log_loss=log_loss,
            initial_ref={"N": "min", "D": 1.0},
        )
    return _UNIQUE_LAWS[U]


def compute_optimal_unique(fit, compute, unique_tokens: float, **kwargs):
    """Compute-optimal allocation of a ``data_constrained`` fit when only ``unique_tokens``
    unique tokens exist: :func:`scaling_bayes.decisions.allocation.compute_optimal` (numeric solve, same
    keyword arguments) on the law at that U. Its ``draws`` gain ``epochs`` = ``D_opt/U``
    (``max(1, ...)``: fewer tokens than U is one partial epoch), and its table an ``epochs`` row
    per budget."""
    import dataclasses

    import pandas as pd

    from scaling_bayes.decisions.allocation import _stat_table, compute_optimal

    if fit.law.name != "data_constrained":
        raise ValueError(
            f"compute_optimal_unique needs a fit of law 'data_constrained', not {fit.law.name!r}"
        )
    law = unique_data_law(unique_tokens)
    res = compute_optimal(dataclasses.replace(fit, law=law), compute, **kwargs)
    epochs = np.maximum(1.0, res.draws["D_opt"] / float(unique_tokens))
    qs = kwargs.get("quantiles", (0.05, 0.5, 0.95))
    extra = _stat_table(
        {"epochs": epochs}, {"C": res.compute}, qs, extra={"boundary": res.boundary}
    )
    table = pd.concat([res.table, extra], ignore_index=True)
    return dataclasses.replace(res, table=table, draws={**res.draws, "epochs": epochs})


def epoch_value(
    fit, epochs=(1, 2, 4, 8, 16, 32, 64), *, unique_tokens=None, N=None, quantiles=(0.05, 0.5, 0.95)
):
    """What repeated epochs are worth under a ``data_constrained`` fit.

    For each number of epochs ``k`` over the same unique data (``D = k*U``), per posterior draw:

    * ``effective_epochs`` = ``D'/U = 1 + R_D*(1 - exp(-(k-1)/R_D*))``: how many epochs of fresh
      data the k repeated epochs are worth (the same for every U);
    * ``value_of_last_epoch`` = ``exp(-(k-1)/R_D*)``: the worth of the k-th epoch relative to an
      epoch of fresh data (the derivative of D' in D);
    * with ``unique_tokens`` and ``N`` given, ``loss``: the law's loss of a model of N parameters
      trained for k epochs on U unique tokens.

    Returns a tidy DataFrame: one row per (epochs, quantity), columns ``mean, sd, q5, q50, q95``.
    """
    import pandas as pd

    if fit.law.name != "data_constrained":
        raise ValueError(f"epoch_value needs a fit of law 'data_constrained', not {fit.law.name!r}")
    k = np.asarray(epochs, dtype=float).reshape(-1)
    if not (np.all(np.isfinite(k)) and np.all(k >= 1)):
        raise ValueError(f"epochs must be finite numbers >= 1, got {epochs!r}")
    th = {n: np.asarray(v, dtype=float).reshape(-1) for n, v in fit.textbook_draws().items()}
    rs = th["R_D_star"][:, None]
    draws = {
        "effective_epochs": 1.0 + rs * -np.expm1(-(k[None, :] - 1.0) / rs),
        "value_of_last_epoch": np.exp(-(k[None, :] - 1.0) / rs),
    }
    if (unique_tokens is None) != (N is None):
        raise ValueError("give both unique_tokens and N (for the loss), or neither")
    if unique_tokens is not None:
        U = float(unique_tokens)
        theta = {n: jnp.asarray(v)[:, None] for n, v in th.items()}
        inputs = {
            "N": jnp.full(k.shape, float(N)),
            "D": jnp.asarray(U * k),
            "U": jnp.full(k.shape, U),
        }
        draws["loss"] = np.exp(np.asarray(fit.law.log_loss(theta, inputs)))
    rows = []
    for name, d in draws.items():
        for j, kk in enumerate(k):
            col = d[:, j]
            row = {"epochs": kk, "quantity": name, "mean": col.mean(), "sd": col.std(ddof=1)}
            for q in quantiles:
                row[f"q{100 * q:g}"] = float(np.quantile(col, q))
            rows.append(row)
    return pd.DataFrame(rows)


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


OVERTRAINING = register_law(
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


KAPLAN_LEARNING_CURVE = register_law(
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


# ============================================================================ user laws
def _domain_of(prior) -> str:
    d = prior.to_numpyro()
    lower = getattr(d.support, "lower_bound", None)
    try:
        return "positive" if lower is not None and float(np.min(lower)) >= 0 else "real"
    except (TypeError, ValueError):
        return "real"


def custom_law(
    name: str,
    log_loss_fn: Callable[[Mapping[str, jnp.ndarray], Mapping[str, jnp.ndarray]], jnp.ndarray],
    params: Mapping[str, object],
    inputs: Sequence[str] = ("N", "D"),
    *,
    register: bool = True,
    formula: str | None = None,
    description: str | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> Law:
    """A law from your own JAX function, with the whole pipeline: fit, diagnostics, forecasts
    (:func:`~scaling_bayes.predict`) and, for a law of N and D, numeric compute-optimal
    allocation.

    Parameters
    ----------
    name
        Law name (``sb.fit(df, law=name)`` and the CLI's ``--law`` when registered).
    log_loss_fn
        ``log_loss_fn(theta, inputs) -> log L``: ``theta`` maps each parameter name to a scalar,
        ``inputs`` maps each input name to an array of raw values (e.g. parameters, tokens);
        written in ``jax.numpy`` (it is differentiated and compiled). Return the log of the loss
        (e.g. ``jnp.log(E + A*N**-alpha + B*D**-beta)``, or more stably a ``logsumexp``).
    params
        ``{parameter: prior}``, the prior as text (``"LogNormal(loc=-1.2, scale=0.6)"``), a
        :class:`~scaling_bayes.model.priors.Prior` or a scalar NumPyro distribution. Parameters whose
        prior lives on positive numbers are sampled on the log scale. These are the sampled
        parameters (no pivoting): give amplitudes priors on the right scale, or parameterize
        them in logs yourself.
    inputs
        Input names: ``"N"``, ``"D"``, ``"C"`` or a covariate of
        :data:`scaling_bayes.data.observations.COVARIATES`.
    register
        Add the law to the registry (so it fits by name, from the CLI in this process, and a
        saved fit reloads in any process that defines it again with the same name).
    formula, description, descriptions
        Text for ``list_laws()`` and summaries; ``descriptions`` maps parameter names to text.
    """
    from scaling_bayes.data.observations import COVARIATES, STANDARD
    from scaling_bayes.model.priors import SIGMA, Prior, _check

    if not (isinstance(name, str) and name.strip() and name == name.strip()):
        raise ValueError(f"custom_law: name must be a non-empty string, got {name!r}")
    if register and name in _REGISTRY:
        raise ValueError(
            f"custom_law: a law named {name!r} is already registered; choose "
            "another name (or register=False)"
        )
    if not callable(log_loss_fn):
        raise TypeError("custom_law: log_loss_fn must be a function (theta, inputs) -> log L")
    inputs = tuple(inputs)
    known = (*(s for s in STANDARD if s != "loss"), *COVARIATES)
    bad = [v for v in inputs if v not in known]
    if not inputs or bad or len(set(inputs)) != len(inputs):
        raise ValueError(
            f"custom_law: inputs must be distinct names from {', '.join(known)}; got {inputs!r}"
        )
    if not isinstance(params, Mapping) or not params:
        raise ValueError("custom_law: params must be a non-empty {name: prior} mapping")
    descriptions = dict(descriptions or {})
    sites = []
    for pname, value in params.items():
        if not (isinstance(pname, str) and pname.isidentifier()):
            raise ValueError(f"custom_law: parameter name {pname!r} is not an identifier")
        if pname in (SIGMA.name, *inputs):
            raise ValueError(f"custom_law: parameter name {pname!r} is reserved")
        prior = Prior.coerce(value)
        desc = descriptions.get(pname, f"parameter {pname} of {name}")
        site = Param(pname, desc, (prior.dist, dict(prior.params)), _domain_of(prior))
        _check(prior, site)
        sites.append(site)
    names = tuple(s.name for s in sites)
    _check_fn(name, log_loss_fn, sites, inputs)

    def log_loss(theta, raw):
        out = log_loss_fn({k: theta[k] for k in names}, {v: raw[v] for v in inputs})
        return out + jnp.zeros(jnp.shape(raw[inputs[0]]), dtype=jnp.result_type(out))

    def sampler_log_loss(phi, x):
        # fixed reference 1 for every input: x = log(input), so exp(x) is the raw input
        return log_loss(phi, {v: jnp.exp(x[v]) for v in inputs})

    def to_textbook(phi, ref):
        return {k: phi[k] for k in names}

    law = Law(
        name=name,
        formula=formula
        or f"user-defined log L = {getattr(log_loss_fn, '__name__', 'f')}"
        f"(theta; {', '.join(inputs)})",
        description=description or "user-defined law (scaling_bayes.custom_law)",
        inputs=inputs,
        params=tuple(Param(s.name, s.description) for s in sites),
        sites=tuple(sites),
        log_loss=log_loss,
        sampler_log_loss=sampler_log_loss,
        to_textbook=to_textbook,
        initial_ref={v: 1.0 for v in inputs},
    )
    return register_law(law) if register else law


def _check_fn(name, fn, sites, inputs) -> None:
    """Call the user's function once at prior medians-ish on three points: clear errors early."""
    from scaling_bayes.model.priors import Prior

    theta = {}
    for s in sites:
        d = Prior(s.prior[0], s.prior[1]).to_numpyro()
        theta[s.name] = jnp.asarray(np.median(np.asarray(d.sample(jax.random.PRNGKey(0), (64,)))))
    raw = {v: jnp.asarray([1e8, 1e9, 1e10]) for v in inputs}
    try:
        out = jnp.asarray(fn(theta, raw))
    except Exception as e:  # noqa: BLE001 - report any failure of user code with context
        raise ValueError(
            f"custom_law {name!r}: log_loss_fn(theta, inputs) failed at prior "
            f"medians ({type(e).__name__}: {e})"
        ) from e
    if out.shape not in ((), (3,)):
        raise ValueError(
            f"custom_law {name!r}: log_loss_fn must return one log-loss per row "
            f"(shape (3,) for 3 rows), got shape {out.shape}"
        )


# ============================================================================ designs
def example_design(law: str, n: int = 40, seed: int = 0):
    """A sweep-like design (inputs only, no loss) for ``law`` of this module, as used by the
    tests and the simulation-based calibration (``benchmarks/sbc_more.py``):

    * ``data_constrained``: N log-uniform on [3e7, 3e9], unique tokens U on [1e8, 1e10],
      epochs ``max(1, 10^u)``, u uniform on [-0.3, 2] (a third single-epoch), ``D = U*epochs``;
    * ``kaplan_learning_curve``: N on [1e7, 2e9], steps S on [1e3, 1e5], a batch of
      2^19 - 2^22 tokens per step, ``D = S*B``;
    * ``overtraining`` (and any law of N, D): N on [3e7, 1e10], D/N on [1, 1000].
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    if law == "data_constrained":
        N = 10 ** rng.uniform(7.5, 9.5, n)
        U = 10 ** rng.uniform(8, 10, n)
        epochs = np.maximum(1.0, 10 ** rng.uniform(-0.3, 2.0, n))
        return pd.DataFrame({"N": N, "D": U * epochs, "U": U})
    if law == "kaplan_learning_curve":
        N = 10 ** rng.uniform(7, 9.3, n)
        S = 10 ** rng.uniform(3, 5, n)
        B = 2.0 ** rng.integers(19, 23, n)
        return pd.DataFrame({"N": N, "D": S * B, "S": S})
    N = 10 ** rng.uniform(7.5, 10, n)
    return pd.DataFrame({"N": N, "D": N * 10 ** rng.uniform(0, 3, n)})


# ============================================================================ forecasts
def predict_with(fit, *, quantiles=(0.05, 0.5, 0.95), seed: int = 0, n_noise: int = 4, **inputs):
    """Forecasts for a law with inputs beyond N, D, C: the same as
    ``sb.predict(fit, N=..., D=..., U=...)``, which takes any of the law's inputs by name
    (``U`` for ``data_constrained``, ``S`` for ``kaplan_learning_curve``). Kept as an alias."""
    from scaling_bayes.decisions.forecast import predict

    return predict(fit, quantiles=quantiles, seed=seed, n_noise=n_noise, **inputs)
