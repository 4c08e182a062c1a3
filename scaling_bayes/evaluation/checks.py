"""Prior and posterior predictive checks (Gabry et al. 2019): does the model make data like ours?

``prior_predictive`` simulates log-losses at the data's (N, D) from the priors alone (are the
priors plausible?); ``posterior_predictive`` replicates the data from the posterior (is the law
missing structure?). Both return a :class:`PredictiveCheck` whose ``residuals()`` table and
``summary()`` are what the figure (:func:`scaling_bayes.plots.plot_predictive_check`) shows:
residuals of log-loss against log N, log D and log C with the predictive band, and the PIT of
each observation. Simulation happens here; plotting never samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.data.observations import ScalingData, load_data
from scaling_bayes.inference.engine import initial_ref, simulate_prior
from scaling_bayes.laws.base import get_law
from scaling_bayes.model.likelihoods import LIKELIHOODS, check_likelihood
from scaling_bayes.model.priors import resolve_priors
from scaling_bayes.posterior.draws import law_on_draws


@dataclass(frozen=True)
class PredictiveCheck:
    """Replicated log-losses ``(draws, n)`` against the observed ones."""

    kind: str  # "prior" or "posterior"
    law: str
    data: ScalingData
    replicated: np.ndarray  # (draws, n) simulated log-loss including noise
    mean: np.ndarray  # (draws, n) law mean of log-loss

    @property
    def observed(self) -> np.ndarray:
        return np.log(self.data.loss)

    def residuals(self) -> pd.DataFrame:
        """Per observation: inputs, observed and predicted log-loss, residual, 90% band, PIT."""
        med = np.median(self.mean, axis=0)
        lo, hi = np.quantile(self.replicated, [0.05, 0.95], axis=0)
        pit = np.mean(self.replicated < self.observed[None, :], axis=0)
        out = {
            k: getattr(self.data, k) for k in ("N", "D", "C") if getattr(self.data, k) is not None
        }
        out.update(
            observed_log_loss=self.observed,
            predicted_log_loss=med,
            residual=self.observed - med,
            band_lo=lo - med,
            band_hi=hi - med,
            pit=pit,
        )
        return pd.DataFrame(out)

    def summary(self) -> dict[str, Any]:
        """Coverage of the 50% and 90% predictive intervals and PIT extremes."""
        r = self.replicated
        obs = self.observed[None, :]
        cover = {}
        for level in (0.5, 0.9):
            lo, hi = np.quantile(r, [(1 - level) / 2, (1 + level) / 2], axis=0)
            cover[f"coverage_{int(level * 100)}"] = float(np.mean((lo <= obs) & (obs <= hi)))
        pit = np.mean(r < obs, axis=0)
        return {
            "kind": self.kind,
            "law": self.law,
            "n": self.data.n,
            **cover,
            "pit_below_2.5%": float(np.mean(pit < 0.025)),
            "pit_above_97.5%": float(np.mean(pit > 0.975)),
            "replicated_loss_range": (float(np.exp(r.min())), float(np.exp(r.max()))),
        }


def posterior_predictive(fit, *, seed: int = 0, max_draws: int = 1000) -> PredictiveCheck:
    """Replicate the observed sweep from ``fit``'s posterior (law mean + likelihood noise)."""
    enable_x64_on_cpu()
    if not (isinstance(max_draws, int) and max_draws >= 1):
        raise ValueError(f"max_draws must be an integer >= 1, got {max_draws!r}")
    rng = np.random.default_rng(seed)
    theta = fit.textbook_draws()
    total = len(next(iter(theta.values())))
    idx = np.linspace(0, total - 1, min(max_draws, total)).round().astype(int)
    mean = law_on_draws(fit.law, {k: v[idx] for k, v in theta.items()}, fit.data)
    sigma = fit.posterior["sigma"].reshape(-1)[idx][:, None]
    rep = LIKELIHOODS[fit.config.likelihood].predictive(rng, mean, sigma, fit.config.nu)
    return PredictiveCheck("posterior", fit.law.name, fit.data, rep, mean)


def prior_predictive(
    data,
    law: str = "chinchilla",
    *,
    n_draws: int = 500,
    seed: int = 0,
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "student_t",
    nu: float = 4.0,
    ref: Mapping[str, float] | None = None,
) -> PredictiveCheck:
    """Simulate log-losses at the data's design from the priors of ``law``.

    ``ref`` are the pivot scales the priors refer to (default: the initial pivots a fit of these
    data would start from).
    """
    if not (isinstance(n_draws, int) and n_draws >= 1):
        raise ValueError(f"n_draws must be an integer >= 1, got {n_draws!r}")
    check_likelihood(likelihood, nu)
    law = get_law(law)
    data = load_data(data)
    data.check_for_law(law)
    pri = resolve_priors(law, priors)
    ref = dict(ref) if ref else initial_ref(law, data)
    sims, x = simulate_prior(
        law, data, pri, likelihood=likelihood, nu=nu, ref=ref, n=n_draws, seed=seed
    )
    phi = {k: sims[k][:, None] for k in law.site_names}
    mean = np.asarray(law.sampler_log_loss(phi, {v: a[None, :] for v, a in x.items()}))
    rep = sims["log_loss"]
    return PredictiveCheck("prior", law.name, data, rep, mean)
