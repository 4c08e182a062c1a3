"""The single-law NumPyro model: a law, its priors, and a likelihood on log-loss.

``scaling_model(x, y=None, mask=None, *, law, priors, likelihood, nu)`` is a plain NumPyro
function, so the same model serves prior predictive simulation (``y=None``), fitting and
forecasting. Inputs arrive as ``x[v] = log(v / ref[v])`` with the pivot scales ``ref`` passed in
as data, which lets one compiled program serve every data set of the same (padded) size.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax.numpy as jnp
import numpyro

from scaling_bayes.laws.base import Law
from scaling_bayes.model.likelihoods import observation_dist
from scaling_bayes.model.priors import Prior


def scaling_model(
    x: Mapping[str, jnp.ndarray],
    ref: Mapping[str, jnp.ndarray],
    y: jnp.ndarray | None = None,
    mask: jnp.ndarray | None = None,
    *,
    law: Law,
    priors: Mapping[str, Prior],
    likelihood: str = "student_t",
    nu: float = 4.0,
):
    """Log-loss ``y`` ~ likelihood(law(x), sigma), with priors on the law's sampler sites.

    Parameters
    ----------
    x
        ``{input: log(input / ref[input])}`` arrays of shape ``(n,)``.
    ref
        Pivot scales per input (scalars); used only for the textbook deterministic sites.
    y
        Observed log-loss, shape ``(n,)``, or ``None`` to simulate.
    mask
        Boolean ``(n,)``: ``False`` rows are padding and do not enter the likelihood.
    """
    phi = {s.name: numpyro.sample(s.name, priors[s.name].to_numpyro()) for s in law.sites}
    sigma = numpyro.sample("sigma", priors["sigma"].to_numpyro())
    for name, value in law.to_textbook(phi, ref).items():
        if name not in phi:
            numpyro.deterministic(name, value)
    mu = law.sampler_log_loss(phi, x)
    n = mu.shape[0]
    with numpyro.plate("obs", n), numpyro.handlers.mask(mask=True if mask is None else mask):
        numpyro.sample("log_loss", observation_dist(mu, sigma, likelihood, nu), obs=y)
