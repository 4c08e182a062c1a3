"""Replay of ``sb.design.next_runs`` on real sweeps: pick runs from a finished sweep as if they
were still to be trained, and predict its largest-compute runs.

Pools: the bundled Chinchilla runs (``sb.load_dataset("chinchilla", drop_excluded=True)``, 240
runs) and Marin's DCLM-mix IsoFLOP runs (``marin2026``, ``train_dataset == "dclm"``). In each,
the runs with the top 10% compute (6ND) are held out. The design starts from the cheapest
``--start`` runs; a budget of 1%, 5% or 10% of the FLOPs of the remaining pool is then spent in
``--rounds`` sequential rounds: fit (``sb.fit``, ``--chains x --draws``), choose the next batch
with ``next_runs(fit, candidates=unused pool runs, budget=round's share, target=the held-out
runs' loss)``, add the chosen runs' real losses, repeat. Baselines spend the same FLOPs on
random pool runs (``--random-seeds`` orders) or on the cheapest runs first. Every final set is
fitted and scored on the held-out runs: mean absolute error of the predictive median of log-loss
(``err``, ~relative error), mean 90% interval width and 90% coverage.

Usage: ``python benchmarks/design/replay.py --out benchmarks/design/replay.csv``; the variant with
a model-discrepancy term: ``--discrepancy 0.01 1 --design-only --out .../replay_discrepancy.csv``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

import scaling_bayes as sb


def pools():
    ch = sb.load_dataset("chinchilla", drop_excluded=True)[["N", "D", "loss"]]
    ma = sb.load_dataset("marin2026", drop_excluded=True)
    ma = ma[ma.train_dataset == "dclm"][["N", "D", "loss"]]
    return {"chinchilla": ch.reset_index(drop=True), "marin_dclm": ma.reset_index(drop=True)}


def score(fit, held):
    p = sb.predict(fit, N=held.N.to_numpy(), D=held.D.to_numpy())
    lo, med, hi = (p[f"pred_{q}"].to_numpy() for q in ("q5", "q50", "q95"))
    y = held.loss.to_numpy()
    return {"err": float(np.mean(np.abs(np.log(med) - np.log(y)))),
            "width90": float(np.mean(np.log(hi) - np.log(lo))),
            "cover90": float(np.mean((lo <= y) & (y <= hi)))}


def fit_of(df, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sb.fit(df, law="chinchilla", chains=a.chains, warmup=a.draws, draws=a.draws,
                      seed=a.seed, warn=False)


def cost(df):
    return 6 * df.N.to_numpy() * df.D.to_numpy()


def run_pool(name, pool, a):
    pool = pool.assign(C=cost(pool))
    cut = pool.C.quantile(0.9)
    held = pool[pool.C >= cut].reset_index(drop=True)
    rest = pool[pool.C < cut].sort_values("C").reset_index(drop=True)
    start = rest.iloc[: a.start]
    cands = rest.iloc[a.start:].reset_index(drop=True)
    total = float(cands.C.sum())
    target = {"N": held.N.to_numpy(), "D": held.D.to_numpy()}
    rows = []
    label = "design" if a.discrepancy is None else "design+discrepancy"
    f0 = fit_of(start[["N", "D", "loss"]], a)
    rows.append({"pool": name, "strategy": "start", "frac": 0.0, "runs": 0, "flops": 0.0,
                 **score(f0, held)})
    for frac in a.fracs:
        budget = frac * total
        # --- design, sequential rounds
        cur, unused, spent, fit = start.copy(), cands.copy(), 0.0, f0
        for r in range(a.rounds):
            share = budget * (r + 1) / a.rounds - spent
            if share <= 0 or unused.empty or unused.C.min() > share:
                continue
            res = sb.design.next_runs(fit, unused[["N", "D"]], budget=share, target=target,
                                      discrepancy=a.discrepancy)
            pick = res.batch.candidate.to_numpy()
            if pick.size == 0:
                break
            spent += float(unused.C.iloc[pick].sum())
            cur = pd.concat([cur, unused.iloc[pick]], ignore_index=True)
            unused = unused.drop(unused.index[pick]).reset_index(drop=True)
            fit = fit_of(cur[["N", "D", "loss"]], a)
        rows.append({"pool": name, "strategy": label, "frac": frac,
                     "runs": len(cur) - len(start), "flops": spent, **score(fit, held)})
        print(rows[-1], flush=True)
        if a.design_only:
            continue
        # --- cheapest first
        c = np.cumsum(cands.C.to_numpy())
        k = int(np.searchsorted(c, budget, side="right"))
        cur = pd.concat([start, cands.iloc[:k]], ignore_index=True)
        rows.append({"pool": name, "strategy": "cheapest", "frac": frac, "runs": k,
                     "flops": float(c[k - 1]) if k else 0.0,
                     **score(fit_of(cur[["N", "D", "loss"]], a), held)})
        # --- random
        for s in range(a.random_seeds):
            rng = np.random.default_rng([a.seed, s, int(frac * 1e4)])
            keep, sp = [], 0.0
            for j in rng.permutation(len(cands)):
                if sp + cands.C.iloc[j] <= budget:
                    keep.append(j)
                    sp += float(cands.C.iloc[j])
            cur = pd.concat([start, cands.iloc[keep]], ignore_index=True)
            rows.append({"pool": name, "strategy": "random", "frac": frac, "runs": len(keep),
                         "flops": sp, "seed": s,
                         **score(fit_of(cur[["N", "D", "loss"]], a), held)})
    return rows, {"held_out": len(held), "start": a.start, "candidates": len(cands),
                  "pool_flops": total, "held_out_min_C": float(cut)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fracs", type=float, nargs="+", default=[0.01, 0.05, 0.10])
    ap.add_argument("--random-seeds", type=int, default=3)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pools", nargs="+", default=["chinchilla", "marin_dclm"])
    ap.add_argument("--discrepancy", type=float, nargs=2, metavar=("SD", "LENGTH"),
                    help="next_runs(..., discrepancy=(SD, LENGTH))")
    ap.add_argument("--design-only", action="store_true", help="skip the baselines")
    ap.add_argument("--out", default="benchmarks/design/replay.csv")
    a = ap.parse_args()
    t0 = time.time()
    rows, info = [], {}
    for name, pool in pools().items():
        if name in a.pools:
            r, i = run_pool(name, pool, a)
            rows += r
            info[name] = i
    df = pd.DataFrame(rows)
    df.to_csv(a.out, index=False)
    summ = df.groupby(["pool", "frac", "strategy"]).agg(
        runs=("runs", "mean"), err=("err", "mean"), width90=("width90", "mean"),
        cover90=("cover90", "mean"))
    print(summ.to_string(float_format=lambda v: f"{v:.4g}"))
    info["seconds"] = time.time() - t0
    info["settings"] = vars(a)
    print(json.dumps(info, indent=1))
    with open(a.out.replace(".csv", ".json"), "w") as fh:
        json.dump(info, fh, indent=1)


if __name__ == "__main__":
    main()
