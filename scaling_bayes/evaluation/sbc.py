"""Simulation-based calibration (Talts et al. 2018) of a law with its priors.

For each simulation: draw parameters from the prior, simulate log-losses on a fixed design of
(N, D) points, fit them, and record the rank of the true value among (thinned) posterior draws.
If the inference is right, ranks are uniform. All simulations are fitted together by
:func:`~scaling_bayes.inference.many.fit_many` (one vmapped program), with the pivots fixed to the design's
reference scales so that the prior is the same for every simulated data set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import load_data
from scaling_bayes.inference.engine import initial_ref, simulate_prior
from scaling_bayes.inference.many import MANY_DEFAULTS, fit_many
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import SIGMA, resolve_priors
from scaling_bayes.model.settings import (
    ModelSettings,
    NUTSSettings,
    SamplerConfig,
    resolve_settings,
)


def default_design(law: Law, n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A sweep-like design: N log-uniform on [3e7, 3e10], D on [1e9, 1e12], C = 6ND."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 10.5, n)
    D = 10 ** rng.uniform(9, 12, n)
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D})


@dataclass(frozen=True)
class SBCResult:
    """Ranks per simulation and parameter, uniformity tests, and settings."""

    law: str
    ranks: pd.DataFrame  # one row per simulation, one column per parameter
    n_ranks: int  # ranks take values 0..n_ranks
    tests: pd.DataFrame  # per parameter: chi2, dof, p_value, rejected (at alpha)
    diagnostics: pd.DataFrame  # per simulation: divergences, max r_hat
    settings: dict[str, Any]

    @property
    def passed(self) -> bool:
        return not bool(self.tests["rejected"].any())


def chi2_sf(x: float, k: int) -> float:
    """Survival function of the chi-square distribution (regularized upper gamma), no scipy."""
    from math import exp, lgamma, log

    a, x2 = k / 2.0, x / 2.0
    if x2 <= 0:
        return 1.0
    if x2 < a + 1:  # series for the lower incomplete gamma
        term = total = 1.0 / a
        n = a
        for _ in range(1000):
            n += 1
            term *= x2 / n
            total += term
            if term < total * 1e-15:
                break
        return max(0.0, 1.0 - total * exp(-x2 + a * log(x2) - lgamma(a)))
    # continued fraction for the upper incomplete gamma (Lentz)
    tiny = 1e-300
    b = x2 + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return min(1.0, exp(-x2 + a * log(x2) - lgamma(a)) * h)


def uniformity_test(ranks: np.ndarray, n_ranks: int, bins: int = 10) -> tuple[float, int, float]:
    """Chi-square test that ranks in 0..n_ranks are uniform: (statistic, dof, p-value)."""
    edges = np.linspace(0, n_ranks + 1, bins + 1)
    counts, _ = np.histogram(ranks, bins=edges)
    expected = len(ranks) * np.diff(edges) / (n_ranks + 1)
    stat = float(np.sum((counts - expected) ** 2 / expected))
    return stat, bins - 1, chi2_sf(stat, bins - 1)


def sbc(
    law: str | Law,
    *,
    n_sims: int = 200,
    design: pd.DataFrame | None = None,
    sampler: NUTSSettings | SamplerConfig | None = None,
    model: ModelSettings | None = None,
    seed: int | None = None,
    chains: int | None = None,
    warmup: int | None = None,
    draws: int | None = None,
    thin: int = 10,
    likelihood: str | None = None,
    nu: float | None = None,
    priors: Mapping[str, Any] | None = None,
    alpha: float = 0.01,
    bins: int = 10,
    batch_size: int = 25,
    progress=None,
) -> SBCResult:
    """Simulation-based calibration of ``law`` with its (default or given) priors.

    Ranks are computed for every sampler parameter and ``sigma`` against ``chains*draws/thin``
    thinned posterior draws, and tested for uniformity with a chi-square test on ``bins`` bins;
    a parameter is rejected when p < ``alpha``. Simulations are fitted ``batch_size`` at a time
    by one compiled program (vmapped chains run in lockstep, so smaller batches keep one hard
    posterior from holding up all the others); ``progress(done, total)`` is called per batch.

    ``sampler`` and ``model`` (or the keywords ``seed``, ``chains``, ``warmup``, ``draws``,
    ``likelihood``, ``nu``) are the settings of :func:`~scaling_bayes.inference.many.fit_many`,
    with its defaults (500 warmup iterations and 500 draws per chain); the model settings also
    simulate the data. ``seed`` seeds the simulations; batch ``k`` (starting at simulation
    ``start``) is fitted with sampler seed ``seed + 1 + start``.
    """
    if not (isinstance(n_sims, int) and n_sims >= 2):
        raise ValueError(f"n_sims must be an integer >= 2, got {n_sims!r}")
    if not (isinstance(thin, int) and thin >= 1):
        raise ValueError(f"thin must be an integer >= 1, got {thin!r}")
    nuts, model = resolve_settings(sampler, model, defaults=MANY_DEFAULTS, seed=seed,
                                   chains=chains, warmup=warmup, draws=draws,
                                   likelihood=likelihood, nu=nu)
    seed = nuts.seed
    law = get_law(law)
    design = default_design(law) if design is None else design
    pri = resolve_priors(law, priors)
    base = load_data(design.assign(loss=1.0))
    ref = initial_ref(law, base)
    sims, _ = simulate_prior(
        law, base, pri, likelihood=model.likelihood, nu=model.nu, ref=ref, n=n_sims, seed=seed
    )
    y = sims["log_loss"]
    truth = {k: sims[k] for k in (*law.site_names, SIGMA.name)}
    frames = [base.to_frame().assign(loss=np.exp(y[i])) for i in range(n_sims)]
    ok = np.all(np.isfinite(y) & (np.abs(y) < 700), axis=1)
    frames = [f for f, good in zip(frames, ok, strict=True) if good]

    names = [*law.site_names, SIGMA.name]
    batch_size = max(1, min(int(batch_size), len(frames)))
    posts: dict[str, list] = {k: [] for k in names}
    divergences, rhats, esss, t_total = [], [], [], 0.0
    for start in range(0, len(frames), batch_size):
        chunk = frames[start : start + batch_size]
        pad = batch_size - len(chunk)  # keep one compiled shape: pad the last batch
        many = fit_many(
            chunk + chunk[:1] * pad,
            law=law,
            sampler=nuts.replace(seed=seed + 1 + start),
            model=model,
            priors=priors,
            ref=ref,
        )
        keep = len(chunk)
        for k in names:
            posts[k].append(many.posterior[k][:keep].reshape(keep, -1)[:, ::thin])
        s = many.summary(names)
        divergences.append(many.divergences[:keep])
        rhats.append(s["r_hat"].groupby(level="fit", sort=False).max().to_numpy()[:keep])
        esss.append(s["ess_bulk"].groupby(level="fit", sort=False).min().to_numpy()[:keep])
        t_total += many.timings["total_s"]
        if progress is not None:
            progress(start + keep, len(frames))
    ranks = {}
    for k in names:
        post = np.concatenate(posts[k])  # (sims, thinned draws)
        ranks[k] = np.sum(post < truth[k][ok][:, None], axis=1)
    n_ranks = posts[names[0]][0].shape[1]
    rank_df = pd.DataFrame(ranks)
    rows = []
    for k in names:
        stat, dof, p = uniformity_test(rank_df[k].to_numpy(), n_ranks, bins)
        rows.append({"parameter": k, "chi2": stat, "dof": dof, "p_value": p, "rejected": p < alpha})
    tests = pd.DataFrame(rows).set_index("parameter")
    diag = pd.DataFrame(
        {
            "divergences": np.concatenate(divergences),
            "max_r_hat": np.concatenate(rhats),
            "min_ess_bulk": np.concatenate(esss),
        }
    )
    settings = {
        "n_sims": n_sims,
        "n_used": int(ok.sum()),
        "design_rows": base.n,
        "seed": seed,
        "chains": nuts.chains,
        "warmup": nuts.warmup,
        "draws": nuts.draws,
        "thin": thin,
        "likelihood": model.likelihood,
        "nu": model.nu,
        "alpha": alpha,
        "bins": bins,
        "ref": ref,
        "priors": {k: str(v) for k, v in pri.items()},
        "batch_size": batch_size,
        "time_s": t_total,
    }
    return SBCResult(
        law=law.name,
        ranks=rank_df,
        n_ranks=n_ranks,
        tests=tests,
        diagnostics=diag,
        settings=settings,
    )
