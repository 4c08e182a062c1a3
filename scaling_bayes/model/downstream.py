"""The NumPyro models of a downstream task: task loss from (N, D), metric from task loss.

Step 1 (the task loss ``L``, e.g. bits per byte of the correct answer) is the Chinchilla law in
its sampler form (the registry's ``chinchilla`` sites and default priors for the two terms and
exponents, pivots at the geometric means of N and D), with the irreducible term below the
smallest observed task loss, ``E = L_min * sigmoid(eE)``, ``eE ~ Normal(0, 1.5)`` (the task
losses are bits per byte, not nats of the training loss the registry's prior of ``E`` is
for): ``log L ~ Normal(mu1(N, D), s1)``.

Step 2 (the metric ``a``, accuracy) is a sigmoid in log task loss with a floor and a ceiling::

    a = floor + (ceil - floor) * sigmoid(k * (log L0 - log L))

``floor`` is the random-guess accuracy (fixed), ``ceil = floor + (1 - floor) * u`` the
accuracy of a perfect-loss model (``u ~ Beta(2, 1)``, or fixed), ``L0`` the midpoint
(``log L0 = log Lref + m``, ``m ~ Normal(0, 0.5)``, ``Lref`` the median observed task loss) and
``k > 0`` the steepness (``LogNormal(log 6, 0.8)``); ``a ~ Normal(mean, s2)``.

Both noise scales have a floor: ``s = sqrt(seed^2 + tau^2)`` where ``seed`` is the seed noise
measured on repeated runs (:func:`scaling_bayes.data.downstream.seed_noise`) and ``tau`` the
excess scatter, ``tau1 ~ HalfNormal(0.05)`` on log loss, ``tau2 ~ HalfNormal(0.02)`` on the
metric.

Modes (``MODES``):

``chained``
    step 2 reads the *observed* task loss of each run; the posterior factorises into the two
    steps (one run of NUTS fits both), and forecasts push step-1 draws through step-2 draws.
``joint``
    step 2 reads the step-1 *law* ``exp(mu1(N, D))``: the metric informs step 1 as well, and
    ``s2`` is the metric's scatter about the chained law.
``direct``
    no task loss: ``a = floor + (ceil - floor) * sigmoid(c0 + bN log(N/N0) + bD log(D/D0))``
    with ``c0 ~ Normal(-1, 1.5)``, ``bN, bD ~ LogNormal(log 0.3, 1)``.

This module imports only JAX at import time (NumPyro inside the model function).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.nn import sigmoid

from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.laws.base import get_law

__all__ = ["MODES", "STEP1_SITES", "direct_mean", "downstream_model", "metric_mean",
           "simulate_downstream", "site_names", "step1_log_loss"]

MODES = ("chained", "joint", "direct")
STEP1_SITES = ("E", "lnA0", "lnB0", "alpha", "beta")
_STEP1_SAMPLED = ("eE", "lnA0", "lnB0", "alpha", "beta")
STEP2_SITES = ("m", "k")
DIRECT_SITES = ("c0", "bN", "bD")


def site_names(mode: str, fixed_ceiling: bool) -> tuple[str, ...]:
    """Sampled parameter names of ``mode``."""
    ceil = () if fixed_ceiling else ("u",)
    if mode == "direct":
        return (*DIRECT_SITES, *ceil, "tau2")
    return (*_STEP1_SAMPLED, "tau1", *STEP2_SITES, *ceil, "tau2")


def _priors():
    import numpyro.distributions as dist

    law = get_law("chinchilla")
    p = {s.name: getattr(dist, s.prior[0])(**s.prior[1]) for s in law.sites if s.name != "E"}
    p.update(eE=dist.Normal(0.0, 1.5),
        tau1=dist.HalfNormal(0.05), tau2=dist.HalfNormal(0.02),
        m=dist.Normal(0.0, 0.5), k=dist.LogNormal(jnp.log(6.0), 0.8), u=dist.Beta(2.0, 1.0),
        c0=dist.Normal(-1.0, 1.5), bN=dist.LogNormal(jnp.log(0.3), 1.0),
        bD=dist.LogNormal(jnp.log(0.3), 1.0))
    return p


def step1_log_loss(phi, xN, xD):
    """Step-1 log task loss (Chinchilla sampler form) at ``xN = log(N/N0)``, ``xD``."""
    return get_law("chinchilla").sampler_log_loss(phi, {"N": xN, "D": xD})


def _ceil(phi, floor, ceiling):
    return floor + (1.0 - floor) * phi["u"] if ceiling is None else ceiling


def metric_mean(phi, log_loss, floor, log_ref, ceiling=None):
    """Step-2 metric mean at log task loss ``log_loss``."""
    c = _ceil(phi, floor, ceiling)
    return floor + (c - floor) * sigmoid(phi["k"] * (log_ref + phi["m"] - log_loss))


def direct_mean(phi, xN, xD, floor, ceiling=None):
    """Direct-mode metric mean at ``xN``, ``xD``."""
    c = _ceil(phi, floor, ceiling)
    return floor + (c - floor) * sigmoid(phi["c0"] + phi["bN"] * xN + phi["bD"] * xD)


def downstream_model(xN, xD, log_loss=None, metric=None, *, mode: str, floor, log_ref,
                     seed_loss, seed_metric, log_min=None, ceiling=None):
    """The downstream model (see the module docstring).

    ``xN, xD``: ``log(N/N0)``, ``log(D/D0)``, shape ``(n,)``; ``log_loss``: observed log task
    loss (``None`` to simulate; in ``chained`` mode step 2 then reads the simulated one);
    ``metric``: observed metric or ``None``. ``floor``, ``log_ref``, ``seed_loss``,
    ``seed_metric``, ``log_min`` (log of the smallest observed task loss): scalars (data, not
    parameters); ``ceiling``: ``None`` (learned) or a fixed scalar.
    """
    import numpyro
    import numpyro.distributions as dist

    pri = _priors()
    names = site_names(mode, ceiling is not None)
    phi = {s: numpyro.sample(s, pri[s]) for s in names if s not in ("tau1", "tau2")}
    tau2 = numpyro.sample("tau2", pri["tau2"])
    s2 = jnp.sqrt(seed_metric**2 + tau2**2)
    numpyro.deterministic("sigma_metric", s2)
    if ceiling is None:
        numpyro.deterministic("ceiling", floor + (1.0 - floor) * phi["u"])
    n = xN.shape[0]
    if mode == "direct":
        mean = direct_mean(phi, xN, xD, floor, ceiling)
    else:
        tau1 = numpyro.sample("tau1", pri["tau1"])
        s1 = jnp.sqrt(seed_loss**2 + tau1**2)
        numpyro.deterministic("sigma_loss", s1)
        numpyro.deterministic("L0", jnp.exp(log_ref + phi["m"]))
        phi["E"] = numpyro.deterministic("E", jnp.exp(log_min) * sigmoid(phi["eE"]))
        mu1 = step1_log_loss(phi, xN, xD)
        with numpyro.plate("runs_loss", n):
            y1 = numpyro.sample("log_loss", dist.Normal(mu1, s1), obs=log_loss)
        x2 = mu1 if mode == "joint" else y1  # chained: the observed (or simulated) loss
        mean = metric_mean(phi, x2, floor, log_ref, ceiling)
    with numpyro.plate("runs_metric", n):
        numpyro.sample("metric", dist.Normal(mean, s2), obs=metric)


def simulate_downstream(N, D, params=None, *, mode: str = "chained", floor: float = 0.25,
                        N0: float, D0: float, log_ref: float, log_min: float,
                        seed_loss: float = 0.0, seed_metric: float = 0.0,
                        ceiling: float | None = None, seed: int = 0) -> dict:
    """Simulate task losses and metrics of runs at ``(N, D)`` from :func:`downstream_model`.

    ``params``: values of the sampled parameters (:func:`site_names`) to condition on; the ones
    left out are drawn from the prior. Returns ``{"loss", "metric", **params}`` as NumPy (the
    loss is the task loss, not its log; ``"loss"`` is absent in ``direct`` mode).
    """
    import jax
    import numpy as np
    import numpyro

    enable_x64_on_cpu()
    x = dict(xN=jnp.log(jnp.asarray(N, dtype=float) / N0),
             xD=jnp.log(jnp.asarray(D, dtype=float) / D0))
    model = numpyro.handlers.condition(downstream_model, data=dict(params or {}))
    tr = numpyro.handlers.trace(numpyro.handlers.seed(model, jax.random.PRNGKey(seed))).get_trace(
        **x, mode=mode, floor=floor, log_ref=log_ref, seed_loss=seed_loss,
        seed_metric=seed_metric, log_min=log_min, ceiling=ceiling)
    out = {k: np.asarray(v["value"]) for k, v in tr.items()
           if v["type"] in ("sample", "deterministic")}
    if "log_loss" in out:
        out["loss"] = np.exp(out.pop("log_loss"))
    return out
