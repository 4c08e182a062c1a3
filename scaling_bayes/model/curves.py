"""The likelihood of training curves: AR(1) residuals over checkpoints (plus, optionally, a run
random effect).

Checkpoints of one run share that run's noise (its seed, its data order, the law's misfit at
its size and length): treated as independent, 100 checkpoints look like 100 observations and
the posterior becomes falsely narrow. The default model (``noise="ar1"``) is, for checkpoint
``i`` of a run with ``t_i = log(step_i)``::

    log L_i = law(x_i) + e_i,
    e_i | e_prev = phi_i e_prev + sqrt(1 - phi_i^2) sigma eps_i,  phi_i = exp(-(t_i - t_prev)/ell)

a stationary Ornstein-Uhlenbeck process in log-step (sd ``sigma``, correlation length ``ell``
in log-steps: the AR(1) process for unevenly spaced checkpoints). The first kept checkpoint of
a run has ``e ~ Normal(0, sigma)``. The correlation depends on the distance in log-step, not on
the number of checkpoints, so keeping every checkpoint or every 10th gives nearly the same
information about the law, as it should for a smooth curve logged more densely; the iid model
would count the dense curve ten times.

``noise="ar1_run"`` adds a run offset ``u_j = tau * z_j``, ``z_j ~ Normal(0, 1)``. Measured on
the OLMo ladder (190M-760M) it is not the default: the offsets took over the model-size term
(posterior ``tau`` 0.03-0.05 against a seed-to-seed spread of the reruns' final losses of
~0.0003, and ``E`` ~3.1 above every 1B loss), because runs are nested in sizes; the OU process
alone keeps the law responsible for the levels and still absorbs the run-level misfit through
a long ``ell`` (posterior ~2-4 log-steps there).

``noise="iid"``: independent Normal residuals (sd ``sigma``) -- the naive model, for comparison.

Priors: ``sigma ~ HalfNormal(0.05)`` (a few percent of the loss), ``ell ~ LogNormal(0, 1)``
(median 1 log-step, 95% 0.14-7), and for ``"ar1_run"`` ``tau ~ HalfNormal(0.05)`` and
``z ~ Normal(0, 1)`` per run.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd

from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.data.schedules import schedule_features
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import Prior, resolve_priors

__all__ = ["CURVE_NOISE", "curve_model", "curve_priors", "simulate_curves"]

#: The curve likelihoods: run effect + AR(1) in log-step, or independent residuals.
CURVE_NOISE = ("ar1", "ar1_run", "iid")

_NOISE_PRIORS = {
    "tau": Prior("HalfNormal", scale=0.05),
    "ell": Prior("LogNormal", loc=0.0, scale=1.0),
}


def curve_priors(law: Law, noise: str, n_runs: int, overrides=None) -> dict[str, Prior]:
    """Every latent site of :func:`curve_model` with its (scalar) prior: the law's sites and
    ``sigma`` (:func:`~scaling_bayes.model.priors.resolve_priors`; overrides by name), ``ell``
    for the AR(1) models, and for ``noise="ar1_run"`` ``tau`` and the per-run ``z``."""
    overrides = dict(overrides or {})
    extra = {k: overrides.pop(k) for k in list(overrides) if k in ("tau", "ell")}
    priors = resolve_priors(law, overrides)
    if noise in ("ar1", "ar1_run"):
        for k, p in _NOISE_PRIORS.items():
            if k == "ell" or noise == "ar1_run":
                priors[k] = Prior.coerce(extra[k]) if k in extra else p
    if noise == "ar1_run":
        priors["z"] = Prior("Normal", loc=0.0, scale=1.0)
    return priors


def curve_model(x: Mapping[str, jnp.ndarray], ref, y=None, mask=None, *, law: Law,
                priors: Mapping[str, Prior], noise: str = "ar1", n_runs: int = 1):
    """NumPyro model of checkpoint log-losses ``y`` (see the module docstring).

    ``x`` holds the law's inputs as ``log(v / ref)`` and the curve structure: ``_run`` (run
    index of each row), ``_prev`` (row index of the previous kept checkpoint of the same run,
    itself for the first) and ``_dt`` (log-step distance to it; ignored for the first, marked
    by ``_first``).
    """
    phi = {s.name: numpyro.sample(s.name, priors[s.name].to_numpyro()) for s in law.sites}
    sigma = numpyro.sample("sigma", priors["sigma"].to_numpyro())
    for name, value in law.to_textbook(phi, ref).items():
        if name not in phi:
            numpyro.deterministic(name, value)
    mu = law.sampler_log_loss(phi, x)
    m = jnp.ones_like(mu, dtype=bool) if mask is None else mask
    if noise == "iid":
        if y is None:
            numpyro.sample("log_loss", numpyro.distributions.Normal(mu, sigma).mask(m))
            return
        ll = numpyro.distributions.Normal(mu, sigma).log_prob(y)
        numpyro.factor("log_lik", jnp.sum(jnp.where(m, ll, 0.0)))
        return
    ell = numpyro.sample("ell", priors["ell"].to_numpyro())
    if noise == "ar1_run":
        tau = numpyro.sample("tau", priors["tau"].to_numpyro())
        with numpyro.plate("runs", n_runs):
            z = numpyro.sample("z", priors["z"].to_numpyro())
        mu = mu + tau * z[x["_run"]]
    if y is None:  # prior predictive: iid residuals of the stationary sd (simulation only)
        numpyro.sample("log_loss", numpyro.distributions.Normal(mu, sigma).mask(m))
        return
    r = y - mu
    first = x["_first"]
    rho = jnp.where(first, 0.0, jnp.exp(-jnp.where(first, 1.0, x["_dt"]) / ell))
    innov = r - rho * r[x["_prev"]]
    sd = sigma * jnp.sqrt(jnp.maximum(1.0 - rho**2, 1e-12))
    ll = numpyro.distributions.Normal(0.0, sd).log_prob(innov)
    numpyro.factor("log_lik", jnp.sum(jnp.where(m, ll, 0.0)))


def simulate_curves(theta, runs, *, law: Law | str = "lr_annealing", every: int = 100,
                    sigma: float = 0.004, ell: float = 0.5, tau: float = 0.0, lam: float = 0.999,
                    seed: int = 0):
    """Simulated checkpoints from a schedule-aware law with this module's noise model.

    ``theta``: textbook parameters of ``law``; ``runs``: ``{run_id: (N, lr)}`` with ``lr`` the
    rate at every step (:mod:`scaling_bayes.data.schedules`); a checkpoint every ``every`` steps
    and at the last step. Residuals: a run offset ``tau * z`` plus a stationary OU process in
    log-step (sd ``sigma``, length ``ell``). Returns a DataFrame with ``run, N, step, lr, loss,
    mu`` (``mu`` the noise-free loss) ready for :func:`scaling_bayes.fit_curves`.
    """
    enable_x64_on_cpu()  # the same simulated data whether or not a fit switched x64 on
    law = get_law(law)
    rng = np.random.default_rng(seed)
    frames = []
    for name, (N, lr) in runs.items():
        lr = np.asarray(lr, dtype=float)
        T = lr.size
        steps = np.unique(np.append(np.arange(every, T + 1, every), T))
        s1, s2 = schedule_features(lr, lam)
        mu = np.asarray(law.log_loss(theta, {"N": np.full(steps.size, float(N)),
                                             "S1": s1[steps - 1], "S2": s2[steps - 1]}))
        t = np.log(steps)
        e = np.empty(steps.size)
        e[0] = sigma * rng.standard_normal()
        for i in range(1, steps.size):
            rho = np.exp(-(t[i] - t[i - 1]) / ell)
            e[i] = rho * e[i - 1] + sigma * np.sqrt(1 - rho**2) * rng.standard_normal()
        y = mu + tau * rng.standard_normal() + e
        frames.append(pd.DataFrame({"run": name, "N": float(N), "step": steps,
                                    "lr": lr[steps - 1], "loss": np.exp(y),
                                    "mu": np.exp(mu)}))
    return pd.concat(frames, ignore_index=True)
