"""More of the scaling-law literature: broken power laws, transfer, downstream error, routed MoE.

Registered laws (each with a textbook face and a sampler face, like those in :mod:`laws`):

``bnsl1``, ``bnsl2``
    Broken neural scaling laws (Caballero et al. 2022) in the training-set size ``D`` with one
    or two breaks; :func:`make_bnsl` builds other break counts or inputs.
``transfer``
    Loss on another distribution against the loss on the training distribution (Kaplan et al.
    2020 §3.2.2), in log form: ``log L = a + b*log(L_train)``.
``downstream_error``
    Downstream error rate against training loss (Gadre et al. 2024):
    ``err = eps - k*exp(-gamma*L_train)``; the ``loss`` column holds the error rate.
``routed_moe``
    Routed mixture-of-experts (Clark et al. 2022):
    ``log L = a*log N + b*log E + c*log N*log E + d`` with ``E`` the number of experts (input
    ``experts``; ``E`` stays the name of the irreducible loss elsewhere).

The inputs ``L_train`` and ``experts`` are covariates read from extra columns
(:data:`scaling_bayes.data.observations.COVARIATES`). Every law is fitted by the same likelihood on the log
of the ``loss`` column. Forecasts: ``scaling_bayes.predict(fit, L_train=...)`` (or
``N=..., experts=...``); :func:`predict_curve` is an alias.

This module imports only JAX at import time.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.nn import softplus

from scaling_bayes.laws.base import INPUT_DESCRIPTIONS, Law, Param, register_law

__all__ = ["EXAMPLE_TRUTH", "make_bnsl", "predict_curve", "synthetic_example"]

INPUT_DESCRIPTIONS.setdefault("L_train", "loss on the training distribution (nats/token)")
INPUT_DESCRIPTIONS.setdefault("experts", "number of experts (1 = dense)")

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
    :func:`scaling_bayes.laws.base.register_law` on the result to fit it by name.
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


BNSL1 = register_law(make_bnsl(1))
BNSL2 = register_law(make_bnsl(2))


# ----------------------------------------------------------------------------- transfer
def _transfer_log_loss(theta, inputs):
    return theta["a"] + theta["b"] * jnp.log(inputs["L_train"])


def _transfer_sampler_log_loss(phi, x):
    return phi["l0"] + phi["b"] * x["L_train"]


def _transfer_to_textbook(phi, ref):
    return {"a": phi["l0"] - phi["b"] * jnp.log(ref["L_train"]), "b": phi["b"]}


TRANSFER = register_law(
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


DOWNSTREAM_ERROR = register_law(
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
    )
)


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


ROUTED_MOE = register_law(
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


# ----------------------------------------------------------------------------- forecasts
def predict_curve(fit, *, quantiles=(0.05, 0.5, 0.95), seed: int = 0, n_noise: int = 4, **inputs):
    """Credible (``mean_q*``) and predictive (``pred_q*``) intervals of the fitted law at
    ``inputs`` given by name (e.g. ``L_train=[2.1, 2.5]`` or ``N=..., experts=...``): an alias
    of :func:`scaling_bayes.decisions.forecast.predict`, which takes any of the law's inputs."""
    from scaling_bayes.decisions.forecast import predict

    return predict(fit, quantiles=quantiles, seed=seed, n_noise=n_noise, **inputs)


# ----------------------------------------------------------------------------- examples
#: Illustrative true values (textbook parameters) for :func:`synthetic_example`. ``routed_moe``:
#: Clark et al. 2022's S-BASE fit as we recall it (a = -0.082, b = -0.108, c = 0.009,
#: d = 1.104 in log10), converted to natural logs (c / ln 10, d * ln 10); not re-checked
#: against the paper. The others are made up at magnitudes typical of their papers.
EXAMPLE_TRUTH = {
    "bnsl1": {"a": 0.4, "b": 2.3, "c0": 0.055, "c1": 1.5, "d1": 2000.0, "f1": 0.3},
    "bnsl2": {  # two accelerations, then the plateau a is reached within the data
        "a": 0.2,
        "b": 2.5,
        "c0": 0.05,
        "c1": 0.5,
        "d1": 500.0,
        "f1": 0.2,
        "c2": 1.0,
        "d2": 1.0e4,
        "f2": 0.2,
    },
    "transfer": {"a": 0.1, "b": 1.05},
    "downstream_error": {"eps": 0.72, "k": 4.0, "gamma": 0.9},
    "routed_moe": {
        "a": -0.082,
        "b": -0.108,
        "c": 0.009 / 2.302585092994046,
        "d": 1.104 * 2.302585092994046,
    },
}


def synthetic_example(law: str, n: int = 60, sigma: float = 0.01, seed: int = 0):
    """A synthetic data set for ``law`` (a name in :data:`EXAMPLE_TRUTH`) drawn at
    ``EXAMPLE_TRUTH[law]`` with log-normal noise ``sigma``, as a DataFrame with the law's input
    columns and ``loss``:

    * ``bnsl1``, ``bnsl2``: ``D`` log-uniform on [1e2, 1e5];
    * ``transfer``: ``L_train`` log-uniform on [2, 4] nats; ``loss`` is the other distribution's;
    * ``downstream_error``: ``L_train`` uniform on [2.2, 4.5]; ``loss`` is the error rate;
    * ``routed_moe``: ``N`` log-uniform on [1.5e7, 1.3e9] and ``experts`` in {1, 2, 4, ..., 512}
      (Clark et al.'s ranges).
    """
    import numpy as np
    import pandas as pd

    from scaling_bayes.laws.base import get_law

    if law not in EXAMPLE_TRUTH:
        raise ValueError(f"no example for law {law!r}; choose one of {', '.join(EXAMPLE_TRUTH)}")
    rng = np.random.default_rng(seed)
    if law.startswith("bnsl"):
        cols = {"D": 10 ** rng.uniform(2, 5, n)}
    elif law == "transfer":
        cols = {"L_train": np.exp(rng.uniform(np.log(2.0), np.log(4.0), n))}
    elif law == "downstream_error":
        cols = {"L_train": rng.uniform(2.2, 4.5, n)}
    else:
        cols = {
            "N": 10 ** rng.uniform(np.log10(1.5e7), np.log10(1.3e9), n),
            "experts": 2.0 ** rng.integers(0, 10, n),
        }
    theta = {k: np.float64(v) for k, v in EXAMPLE_TRUTH[law].items()}
    mu = np.asarray(get_law(law).log_loss(theta, {k: np.asarray(v) for k, v in cols.items()}))
    return pd.DataFrame({**cols, "loss": np.exp(mu + sigma * rng.standard_normal(n))})
