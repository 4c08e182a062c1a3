"""Compute a literature prior table: the hierarchical fit of the bundled sweeps.

:func:`literature_table` rescales each sweep of
:data:`scaling_bayes.model.literature.SWEEPS` by its own scales (loss by ``L0``, N by ``N0``,
D by ``D0``; :func:`~scaling_bayes.model.literature.data_scales`), fits the Chinchilla law to
all of them at once with :func:`~scaling_bayes.inference.hierarchical.fit_hierarchical`
(every site partially pooled, pivots fixed at ``N0``, ``D0``, i.e. 1 after rescaling), and
returns the population predictive distribution of one new sweep's sites, moment-matched on the
unconstrained scale (log for ``E``, ``alpha``, ``beta``): ``u_new = loc + scale * z`` per
posterior draw. ``benchmarks/few_runs/build_priors.py`` runs it for every exclusion set and
writes the bundled JSON that :func:`scaling_bayes.priors.literature` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.inference.hierarchical import fit_hierarchical
from scaling_bayes.model.literature import (
    _LOG_SITES,
    SWEEPS,
    _datasets_of,
    data_scales,
    exclusion_key,
    sweep_frame,
)

__all__ = ["literature_frame", "literature_table"]

#: Rows per sweep at most (evenly spaced in compute): keeps the fit fast and stops the largest
#: sweeps from dominating the shared noise scale.
MAX_ROWS = 20
#: Hyperprior of the relative E (E/L0 is below 1; median 0.55).
E_REL_PRIOR = "LogNormal(loc=-0.6, scale=0.6)"


def _thin(df: pd.DataFrame, k: int) -> pd.DataFrame:
    if len(df) <= k:
        return df
    order = np.argsort(np.log(df["N"].to_numpy()) + np.log(df["D"].to_numpy()), kind="stable")
    pick = np.unique(np.round(np.linspace(0, len(df) - 1, k)).astype(int))
    return df.iloc[order[pick]]


def literature_frame(exclude: Iterable[str] | None = None, *, pivots: str = "data",
                     max_rows: int = MAX_ROWS) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The pooled, rescaled rows (columns N, D, loss, sweep) and each sweep's scales.

    ``pivots="data"``: N and D divided by the sweep's smallest values (the bundled choice);
    ``"absolute"``: N in units of 1e8 and D of 2e9 for every sweep (an alternative, not
    bundled; benchmarks/few_runs/README.md compares the spread across sweeps of both forms)."""
    left_out = set(_datasets_of(exclude))
    frames, scales = [], {}
    for s in SWEEPS:
        if s.dataset in left_out:
            continue
        df = sweep_frame(s.name)
        sc = data_scales(df[["N", "D", "loss"]])
        df = _thin(df, max_rows)
        n0, d0 = (sc["N0"], sc["D0"]) if pivots == "data" else (1e8, 2e9)
        frames.append(pd.DataFrame({"N": df["N"] / n0, "D": df["D"] / d0,
                                    "loss": df["loss"] / sc["L0"], "sweep": s.name}))
        scales[s.name] = sc
    return pd.concat(frames, ignore_index=True), scales


def literature_table(exclude: Iterable[str] | None = None, *, law: str = "chinchilla",
                     pivots: str = "data", max_rows: int = MAX_ROWS, seed: int = 0,
                     chains: int = 4, warmup: int = 500, draws: int = 500,
                     centered: bool = False, target_accept: float = 0.9,
                     return_fit: bool = False) -> dict[str, Any]:
    """The literature prior table leaving out the data sets ``exclude`` (a JSON-able dict; see
    :func:`scaling_bayes.model.literature.from_table`)."""
    if law != "chinchilla":
        raise ValueError("literature_table: only law 'chinchilla' is supported")
    frame, scales = literature_frame(exclude, pivots=pivots, max_rows=max_rows)
    sites = ("E", "lnA0", "lnB0", "alpha", "beta")
    ref = {"N": 1.0, "D": 1.0}
    fit = fit_hierarchical(frame, law=law, group="sweep", pool=list(sites), seed=seed,
                           chains=chains, warmup=warmup, draws=draws, ref=ref,
                           centered=centered, target_accept=target_accept, max_tree_depth=10,
                           priors={"E": E_REL_PRIOR}, warn=False)
    post = fit.posterior
    rng = np.random.default_rng(seed)
    priors, pop = {}, {}
    for s in sites:
        loc = np.asarray(post[f"{s}_loc"]).reshape(-1)
        scale = np.asarray(post[f"{s}_scale"]).reshape(-1)
        u = loc + scale * rng.standard_normal(loc.size)
        m, sd = float(np.mean(u)), float(np.std(u))
        dist = "LogNormal" if s in _LOG_SITES else "Normal"
        priors[s] = f"{dist}(loc={m:.4f}, scale={sd:.4f})"
        pop[s] = {"loc_median": float(np.median(loc)), "scale_median": float(np.median(scale)),
                  "scale_q5": float(np.quantile(scale, 0.05)),
                  "scale_q95": float(np.quantile(scale, 0.95))}
    groups = {}
    for g_i, g in enumerate(fit.groups):
        groups[g] = {s: float(np.median(np.asarray(post[s])[..., g_i])) for s in sites}
    sig = np.asarray(post["sigma"]).reshape(-1)
    summ = fit.summary("all")
    diag = {"max_r_hat": float(np.nanmax(summ["r_hat"])),
            "min_ess_bulk": float(np.nanmin(summ["ess_bulk"])),
            "divergences": int(fit.divergences),
            "seconds": float(fit.meta["timings"]["total_s"])}
    table = {
        "law": law, "priors": priors, "sweeps": [g for g in fit.groups],
        "excluded": list(_datasets_of(exclude)), "groups": groups,
        "info": {"pivots": pivots, "max_rows": max_rows, "n_rows": int(len(frame)),
                 "population": pop, "sigma_median": float(np.median(sig)),
                 "scales": scales,
                 "sampler": {"seed": seed, "chains": chains, "warmup": warmup, "draws": draws,
                             "centered": centered},
                 "diagnostics": diag, "key": exclusion_key(_datasets_of(exclude))},
    }
    if return_fit:
        table["_fit"] = fit
    return table


