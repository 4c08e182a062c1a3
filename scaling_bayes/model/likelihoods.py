"""Observation models of log-loss: one registry entry per likelihood.

An entry (:class:`Likelihood`) holds, for ``y = log(loss)`` around the law's mean ``mu`` with
scale ``sigma``:

* ``dist(mu, sigma, nu)``: the NumPyro distribution (the single-law and hierarchical models,
  and the pointwise log-likelihood of every fit);
* ``logpdf(y, mu, sigma, nu)``: the same density in NumPy/SciPy (backtests, held-out LOO);
* ``standard_noise(rng, shape, nu)``: standardized draws (location 0, scale 1) from a NumPy
  ``Generator``, and ``predictive(rng, mu, sigma, nu, shape)`` = ``mu + sigma * eps`` (forecasts,
  posterior predictive replicates and checks). NumPy's generator is used because JAX's
  Student-t (gamma rejection) sampler is ~100x slower on CPU.

NumPyro and SciPy are imported only when an entry needs them, so this module is cheap to import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from scaling_bayes._core.errors import ScalingBayesError


class LikelihoodError(ScalingBayesError):
    """Unknown likelihood name or bad degrees of freedom."""


@dataclass(frozen=True)
class Likelihood:
    """One observation model of log-loss (see the module docstring); ``uses_nu`` says whether
    the degrees of freedom ``nu`` enter it."""

    name: str
    description: str
    uses_nu: bool
    _dist: Callable
    _logpdf: Callable
    _noise: Callable

    def dist(self, mu, sigma, nu: float):
        """NumPyro distribution of log-loss around ``mu``."""
        return self._dist(mu, sigma, nu)

    def logpdf(self, y, mu, sigma, nu: float) -> np.ndarray:
        """Log density of ``y`` (NumPy arrays, broadcast together)."""
        return self._logpdf(y, mu, sigma, nu)

    def standard_noise(self, rng: np.random.Generator, shape, nu: float) -> np.ndarray:
        """``shape`` standardized draws (location 0, scale 1) from ``rng``."""
        return self._noise(rng, shape, nu)

    def predictive(self, rng: np.random.Generator, mu, sigma, nu: float, shape=None):
        """Predictive log-loss ``mu + sigma * eps``, ``eps`` of ``shape`` (default: the shape of
        ``mu``) from :meth:`standard_noise`."""
        eps = self.standard_noise(rng, np.shape(mu) if shape is None else shape, nu)
        return mu + sigma * eps


class LikelihoodRegistry(Mapping):
    """Likelihoods by name; ``registry[name]`` raises :class:`LikelihoodError` for an unknown
    name, naming the known ones."""

    def __init__(self) -> None:
        self._entries: dict[str, Likelihood] = {}

    def register(self, likelihood: Likelihood) -> Likelihood:
        self._entries[likelihood.name] = likelihood
        return likelihood

    def __getitem__(self, name: str) -> Likelihood:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise LikelihoodError(
                f"unknown likelihood {name!r}; choose one of {', '.join(self._entries)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name) -> bool:
        return name in self._entries


LIKELIHOODS = LikelihoodRegistry()


def _normal_dist(mu, sigma, nu):
    import numpyro.distributions as dist

    return dist.Normal(mu, sigma)


def _normal_logpdf(y, mu, sigma, nu):
    z = (y - mu) / sigma
    return -0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def _normal_noise(rng, shape, nu):
    return rng.standard_normal(shape)


def _student_t_dist(mu, sigma, nu):
    import numpyro.distributions as dist

    return dist.StudentT(nu, mu, sigma)


def _student_t_logpdf(y, mu, sigma, nu):
    from scipy.special import gammaln

    z = (y - mu) / sigma
    return (
        gammaln((nu + 1) / 2)
        - gammaln(nu / 2)
        - 0.5 * np.log(nu * np.pi)
        - np.log(sigma)
        - (nu + 1) / 2 * np.log1p(z**2 / nu)
    )


def _student_t_noise(rng, shape, nu):
    return rng.standard_t(nu, shape)


LIKELIHOODS.register(Likelihood(
    "normal", "Normal on log-loss (least squares in log space)", False,
    _normal_dist, _normal_logpdf, _normal_noise))
LIKELIHOODS.register(Likelihood(
    "student_t", "Student-t on log-loss, nu=4 by default (robust: the Bayesian counterpart of "
    "Chinchilla's Huber fit)", True, _student_t_dist, _student_t_logpdf, _student_t_noise))


def check_likelihood(likelihood: str, nu: float) -> Likelihood:
    """The registry entry of ``likelihood``; :class:`LikelihoodError` for an unknown name or a
    bad ``nu``."""
    entry = LIKELIHOODS[likelihood]
    if entry.uses_nu and not (isinstance(nu, (int, float)) and 0 < nu < float("inf")):
        raise LikelihoodError(f"nu (Student-t degrees of freedom) must be > 0 and finite, got {nu}")
    return entry


def observation_dist(mu, sigma, likelihood: str, nu: float):
    """NumPyro distribution of observed log-loss around the law's ``mu``."""
    return LIKELIHOODS[likelihood].dist(mu, sigma, nu)
