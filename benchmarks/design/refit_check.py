"""The design's approximations against real refits on a sample of candidates.

Start: the 3 sizes x 3 token counts ladder of ``simulation.py`` plus one larger run (N = 3e8,
D = 6e9), truth ``E=1.8, A=450, B=2000, alpha=0.34, beta=0.36``, 1% noise; ``sb.fit`` 4 x 1000.
Target: N_opt at C* = 100x the largest run. From the ranked default grid (budget 1e19), a spread
of candidates (the three with the largest single-run reduction, three from the middle, one of
the least useful); for each, ``--outcomes`` outcomes from the posterior predictive are appended
and refitted (``refit_check``: ``fit_many``, the original pivots and priors). Printed: the
expected posterior sd of ln N_opt by the linear and reweighting approximations and by the
refits (root mean posterior variance +- its standard error).

Usage: ``python benchmarks/design/refit_check.py --out benchmarks/design/refit_check.csv``
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

import scaling_bayes as sb
from scaling_bayes.evaluation.design_check import refit_check


def ladder(seed=0):
    rng = np.random.default_rng(seed)
    N, D = (x.reshape(-1) for x in np.meshgrid([1e7, 3e7, 1e8], [2e8, 1e9, 5e9],
                                                indexing="ij"))
    N = np.concatenate([N, [3e8]])
    D = np.concatenate([D, [6e9]])
    L = (1.8 + 450 * N ** -0.34 + 2000 * D ** -0.36) * np.exp(0.01 * rng.standard_normal(N.size))
    return pd.DataFrame({"N": N, "D": D, "loss": L})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outcomes", type=int, default=6)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--out", default="benchmarks/design/refit_check.csv")
    a = ap.parse_args()
    t0 = time.time()
    fit = sb.fit(ladder(), law="chinchilla", seed=0, warn=False, extrapolation="none")
    C_star = 100 * 6 * 3e8 * 6e9
    res = sb.design.next_runs(fit, budget=1e19, target=C_star)
    t = res.table.sort_values("reduction", ascending=False).reset_index(drop=True)
    pick = [0, 1, 2, len(t) // 3, len(t) // 2, 2 * len(t) // 3, len(t) - 1]
    runs = t.iloc[pick][["N", "D"]].reset_index(drop=True)
    out = refit_check(fit, runs, C_star, n_outcomes=a.outcomes, chains=2, warmup=a.draws,
                      draws=a.draws, seed=1)
    out["linear/refit"] = out.sd_linear / out.sd_refit
    out["reweight/refit"] = out.sd_reweight / out.sd_refit
    out.to_csv(a.out, index=False)
    print(out.to_string(float_format=lambda v: f"{v:.4g}"))
    rank = pd.Series(out.sd_linear).rank().corr(pd.Series(out.sd_refit).rank())
    info = {"outcomes": a.outcomes, "draws": a.draws, "seconds": time.time() - t0,
            "spearman_linear_vs_refit": float(rank),
            "spearman_reweight_vs_refit": float(pd.Series(out.sd_reweight).rank().corr(
                pd.Series(out.sd_refit).rank())),
            "mean_abs_log_ratio_linear": float(np.mean(np.abs(np.log(out["linear/refit"])))),
            "mean_abs_log_ratio_reweight": float(np.mean(np.abs(np.log(out["reweight/refit"]))))}
    print(json.dumps(info, indent=1))
    with open(a.out.replace(".csv", ".json"), "w") as fh:
        json.dump(info, fh, indent=1)


if __name__ == "__main__":
    main()
