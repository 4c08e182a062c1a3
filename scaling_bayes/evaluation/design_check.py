"""Checks and baselines of the design of next runs (:mod:`scaling_bayes.decisions.design`)
that need refits.

:func:`refit_check`
    The preposterior approximations of :func:`~scaling_bayes.decisions.design.next_runs`
    against real refits: for each candidate, outcomes are drawn from the posterior predictive,
    each appended to the data and refitted (all at once with :func:`scaling_bayes.fit_many`,
    the pivots and hence the priors of the original fit kept), and the posterior sd of the log
    target of the refits is compared with the sd the approximations expected.
:func:`isoflop_grid`, :func:`tpp_ladder`, :func:`random_runs`
    The standard ways of spending a budget that the design is compared with in
    ``benchmarks/design``: IsoFLOP profiles, a fixed tokens-per-parameter ladder, random runs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scaling_bayes.decisions.design import (
    DesignError,
    next_runs,
    resolve_target,
    target_draws,
)
from scaling_bayes.inference.many import fit_many
from scaling_bayes.model.likelihoods import LIKELIHOODS
from scaling_bayes.posterior.draws import law_on_draws

__all__ = ["isoflop_grid", "random_runs", "refit_check", "tpp_ladder"]


def _data_frame(fit) -> pd.DataFrame:
    d = fit.data
    return pd.DataFrame({"N": np.asarray(d.N, float), "D": np.asarray(d.D, float),
                         "loss": np.asarray(d.loss, float)})


def refit_check(fit, runs: pd.DataFrame, target, *, n_outcomes: int = 4, seed: int = 0,
                chains: int = 2, warmup: int = 300, draws: int = 300,
                methods=("linear", "reweight")) -> pd.DataFrame:
    """Expected posterior sd of the log ``target`` after adding each of ``runs`` (rows ``N``,
    ``D``), by the approximations of ``next_runs`` and by refitting.

    For each run, ``n_outcomes`` outcomes are drawn from the posterior predictive (a posterior
    draw, then the likelihood's noise), each appended to the fit's data and refitted with
    :func:`scaling_bayes.fit_many` (``chains x draws``, the original pivots). Returns one row per
    run: ``N, D``, ``sd_now``, ``sd_<method>`` for each approximation, ``sd_refit`` (root mean
    of the refits' posterior variances, the quantity the approximations estimate) and
    ``sd_refit_se`` (its standard error over outcomes, by the delta method).
    """
    runs = pd.DataFrame(runs).reset_index(drop=True)
    if not {"N", "D"} <= set(runs.columns) or len(runs) == 0:
        raise DesignError("refit_check: runs must be a non-empty DataFrame with columns N, D")
    tgt = resolve_target(target)
    rng = np.random.default_rng([int(seed), 0x5245_4649])
    th = fit.textbook_draws()
    S = next(iter(th.values())).size
    sigma = np.asarray(fit.posterior["sigma"], float).reshape(-1)
    lik = LIKELIHOODS[fit.config.likelihood]
    base = _data_frame(fit)
    sets, keys = {}, []
    for i, r in runs.iterrows():
        gen = rng.integers(0, S, n_outcomes)
        mu = law_on_draws(fit.law, {k: v[gen] for k, v in th.items()},
                          {"N": np.full(n_outcomes, r["N"]), "D": np.full(n_outcomes, r["D"])},
                          paired=True)
        y = lik.predictive(rng, mu, sigma[gen], float(fit.config.nu))
        for k in range(n_outcomes):
            row = pd.DataFrame({"N": [float(r["N"])], "D": [float(r["D"])],
                                "loss": [float(np.exp(y[k]))]})
            sets[f"{i}:{k}"] = pd.concat([base, row], ignore_index=True)
            keys.append((i, k))
    many = fit_many(sets, fit.law, chains=chains, warmup=warmup, draws=draws, seed=int(seed),
                    likelihood=fit.config.likelihood, nu=fit.config.nu, priors=fit.priors,
                    ref=fit.ref)
    var = np.empty((len(runs), n_outcomes))
    for f, (i, k) in enumerate(keys):
        t = target_draws(many[f], tgt)
        t = t[np.all(np.isfinite(t), axis=1)]
        var[i, k] = float(np.mean(np.var(t, axis=0, ddof=1)))
    out = runs[["N", "D"]].copy()
    now = target_draws(fit, tgt)
    now = now[np.all(np.isfinite(now), axis=1)]
    out["sd_now"] = math.sqrt(float(np.mean(np.var(now, axis=0, ddof=1))))
    for m in methods:
        res = next_runs(fit, runs[["N", "D"]], budget=float(6 * (runs.N * runs.D).max()) * 1.01,
                        target=tgt, method=m, max_runs=1, seed=seed)
        out[f"sd_{m}"] = res.table.sort_values("candidate")["sd_after"].to_numpy()
    mv = var.mean(axis=1)
    out["sd_refit"] = np.sqrt(mv)
    se_var = var.std(axis=1, ddof=1) / math.sqrt(n_outcomes) if n_outcomes > 1 else np.nan
    out["sd_refit_se"] = se_var / (2 * np.sqrt(mv))
    out["max_divergences"] = [int(max(many.divergences[[f for f, (i2, _) in enumerate(keys)
                                                         if i2 == i]])) for i in range(len(runs))]
    return out


# ============================================================================ baselines
def isoflop_grid(budget: float, *, levels: int = 2, per_level: int = 5, ratio: float = 3.0,
                 center_tpp: float = 20.0, span: float = 16.0) -> pd.DataFrame:
    """An IsoFLOP grid that spends ``budget``: ``levels`` compute levels ``ratio`` apart, each
    with ``per_level`` model sizes log-spaced over a factor ``span`` around the size with
    ``center_tpp`` tokens per parameter (Hoffmann et al. 2022, Approach 2)."""
    weights = ratio ** np.arange(levels)
    c1 = budget / (per_level * weights.sum())
    rows = []
    for c in c1 * weights:
        n0 = math.sqrt(c / (6 * center_tpp))
        for n in n0 * np.geomspace(1 / math.sqrt(span), math.sqrt(span), per_level):
            rows.append((n, c / (6 * n)))
    return pd.DataFrame(rows, columns=["N", "D"])


def tpp_ladder(budget: float, *, tpp: float = 20.0, runs: int = 4, step: float = 1.5,
               start: float | None = None) -> pd.DataFrame:
    """A ladder of ``runs`` model sizes ``step`` apart, each trained on ``tpp`` tokens per
    parameter, scaled so that it spends ``budget`` (``start`` fixes the smallest size and
    stops the ladder when the budget runs out)."""
    w = step ** (2 * np.arange(runs))
    if start is None:
        n1 = math.sqrt(budget / (6 * tpp * w.sum()))
        Ns = n1 * step ** np.arange(runs)
    else:
        Ns, spent = [], 0.0
        for n in start * step ** np.arange(runs):
            if spent + 6 * tpp * n * n > budget * (1 + 1e-9):
                break
            Ns.append(n)
            spent += 6 * tpp * n * n
        Ns = np.asarray(Ns)
    return pd.DataFrame({"N": Ns, "D": tpp * np.asarray(Ns)})


def random_runs(candidates: pd.DataFrame, budget: float, *, seed: int = 0) -> pd.DataFrame:
    """Candidates in random order, each kept while it fits the remaining ``budget``
    (cost 6 N D, or the ``cost`` column)."""
    cand = pd.DataFrame(candidates).reset_index(drop=True)
    cost = (cand["cost"].to_numpy(float) if "cost" in cand.columns
            else 6 * cand["N"].to_numpy(float) * cand["D"].to_numpy(float))
    rng = np.random.default_rng([int(seed), 0x524E_4453])
    spent, keep = 0.0, []
    for j in rng.permutation(len(cand)):
        if spent + cost[j] <= budget * (1 + 1e-9):
            keep.append(j)
            spent += cost[j]
    return cand.iloc[keep][["N", "D"]].reset_index(drop=True)
