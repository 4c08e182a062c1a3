"""Simulation-based calibration of the downstream model (Talts et al. 2018).

:func:`sbc_downstream`: for each simulation draw every parameter from the prior, simulate the
task losses and metrics of a fixed design of runs (default: the OLMo ladder's 190M-760M runs,
with its MMLU seed-noise floor and pivots), fit them by NUTS (the program of
:func:`scaling_bayes.inference.downstream.sample_downstream`, compiled once, pivots fixed so that
every simulated data set has the same prior) and record the rank of each true value among
thinned posterior draws. Uniform ranks (a chi-square test per parameter, as in
:mod:`scaling_bayes.evaluation.sbc`) mean the inference is calibrated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scaling_bayes.data.datasets import load_dataset
from scaling_bayes.data.downstream import DownstreamData, downstream_table, seed_noise
from scaling_bayes.evaluation.sbc import chi2_sf
from scaling_bayes.inference.downstream import sample_downstream
from scaling_bayes.model.downstream import MODES, simulate_downstream, site_names

__all__ = ["DownstreamSBC", "ladder_design", "rank_tests", "sbc_downstream"]


def ladder_design(task: str = "mmlu_avg_test") -> dict:
    """The 190M-760M runs of ``olmo_ladder`` (18 runs, 3 reruns): ``N``, ``D``, ``rerun``, the
    pivots of a fit to ``task`` and its seed-noise floor."""
    df = load_dataset("olmo_ladder")
    d = downstream_table(df[df["size"] != "1B"], f"bpb_{task}", f"acc_{task}")
    ref = {"N0": float(np.exp(np.log(d.N).mean())), "D0": float(np.exp(np.log(d.D).mean())),
           "log_ref": float(np.log(np.median(d.loss))), "log_min": float(np.log(d.loss.min()))}
    return {"N": d.N, "D": d.D, "rerun": d.rerun, "ref": ref, "noise": seed_noise(d)}


@dataclass(frozen=True)
class DownstreamSBC:
    """Ranks per simulation and parameter, uniformity tests, per-fit diagnostics."""

    mode: str
    ranks: pd.DataFrame
    n_ranks: int
    tests: pd.DataFrame
    diagnostics: pd.DataFrame

    @property
    def passed(self) -> bool:
        return not bool(self.tests["rejected"].any())


def rank_tests(ranks: pd.DataFrame, n_ranks: int, bins: int = 10, alpha: float = 0.01
               ) -> pd.DataFrame:
    """Chi-square test of uniform ranks (0..n_ranks) per column, in ``bins`` bins."""
    rows = {}
    for c in ranks.columns:
        counts = np.bincount((ranks[c].to_numpy() * bins) // (n_ranks + 1), minlength=bins)
        e = counts.sum() / bins
        chi2 = float(((counts - e) ** 2 / e).sum())
        p = chi2_sf(chi2, bins - 1)
        rows[c] = {"chi2": chi2, "dof": bins - 1, "p_value": p, "rejected": p < alpha}
    t = pd.DataFrame(rows).T
    t.index.name = "parameter"
    return t


def sbc_downstream(n_sims: int = 100, *, mode: str = "chained", design: dict | None = None,
                   floor: float = 0.25, chains: int = 2, warmup: int = 300, draws: int = 300,
                   n_ranks: int = 99, bins: int = 10, alpha: float = 0.01, seed: int = 0,
                   progress=None) -> DownstreamSBC:
    """Simulation-based calibration of the downstream model in ``mode`` (see the module
    docstring). ``alpha`` is the level of each parameter's chi-square test of uniform ranks in
    ``bins`` bins (a Bonferroni-style level: ~10 parameters are tested)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if chains * draws < n_ranks:
        raise ValueError(f"chains*draws = {chains * draws} < n_ranks = {n_ranks}")
    des = ladder_design() if design is None else design
    ref, noise = des["ref"], des["noise"]
    names = site_names(mode, False)
    ranks, diag = [], []
    for i in range(n_sims):
        sim = simulate_downstream(des["N"], des["D"], None, mode=mode, floor=floor,
                                  N0=ref["N0"], D0=ref["D0"], log_ref=ref["log_ref"],
                                  log_min=ref["log_min"], seed_loss=noise["loss"],
                                  seed_metric=noise["metric"], seed=seed * 100_003 + i)
        n = des["N"].size
        d = DownstreamData(N=des["N"], D=des["D"], loss=sim.get("loss", np.ones(n)),
                           metric=sim["metric"], run=np.array([f"sim{j}" for j in range(n)]),
                           rerun=np.asarray(des["rerun"]), task_loss="loss",
                           metric_name="metric")
        post, stats = sample_downstream(d, mode=mode, floor=floor, ceiling=None, noise=noise,
                                        ref=ref, chains=chains, warmup=warmup, draws=draws,
                                        seed=seed * 100_003 + i, target_accept=0.95)
        flat = {k: v.reshape(-1) for k, v in post.items()}
        idx = np.linspace(0, chains * draws - 1, n_ranks).round().astype(int)
        ranks.append({k: int(np.sum(flat[k][idx] < float(sim[k]))) for k in names})
        diag.append({"divergences": int(stats["diverging"].sum())})
        if progress is not None:
            progress(i + 1, n_sims)
    r = pd.DataFrame(ranks)
    return DownstreamSBC(mode=mode, ranks=r, n_ranks=n_ranks,
                         tests=rank_tests(r, n_ranks, bins, alpha), diagnostics=pd.DataFrame(diag))


