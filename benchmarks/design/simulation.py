"""Simulation benchmark of ``sb.design.next_runs``: known-truth Chinchilla-like laws.

Each law: ``L = E + A N^-alpha + B D^-beta`` with alpha, beta ~ U(0.25, 0.45), E ~ U(1.6, 2.0),
the two reducible terms ~U(0.5, 1.0) nats at N = 1e8 / D = 2e9, and log-normal noise of
0.5-2% (sigma ~ U(0.005, 0.02) on log-loss). Start: a 3 sizes x 3 token counts ladder
(N = 1e7, 3e7, 1e8; D = 2e8, 1e9, 5e9; largest run 3e18 FLOPs). The same extra budget
(``--budget``, default 1e19 FLOPs) is spent by

(i)   our design: ``next_runs(fit, budget=B, target=C*)`` (greedy batch, linear approximation),
(ii)  an IsoFLOP grid: 2 compute levels 3x apart, 5 sizes each over a factor 16 around 20 tok/param,
(iii) a fixed 20 tokens/param ladder: 4 sizes 1.5x apart spending the budget,
(iv)  random runs from the same candidate grid as (i) until the budget is spent;

then every augmented data set is refitted (``sb.fit_many``, all strategies and laws at once) and
the posterior of N_opt at C* = 100x the largest ladder run is compared with the truth.

Usage: ``python benchmarks/design/simulation.py --laws 20 --out benchmarks/design/simulation.csv``
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import pandas as pd

import scaling_bayes as sb
from scaling_bayes.evaluation.design_check import isoflop_grid, random_runs, tpp_ladder

LADDER_N = np.array([1e7, 3e7, 1e8])
LADDER_D = np.array([2e8, 1e9, 5e9])


def truths(n, seed):
    rng = np.random.default_rng(seed)
    al = rng.uniform(0.25, 0.45, n)
    be = rng.uniform(0.25, 0.45, n)
    return pd.DataFrame({
        "E": rng.uniform(1.6, 2.0, n), "alpha": al, "beta": be,
        "A": rng.uniform(0.5, 1.0, n) * 1e8 ** al, "B": rng.uniform(0.5, 1.0, n) * 2e9 ** be,
        "sigma": rng.uniform(0.005, 0.02, n)})


def loss(th, N, D, rng):
    mean = th.E + th.A * N ** -th.alpha + th.B * D ** -th.beta
    return mean * np.exp(th.sigma * rng.standard_normal(np.shape(N)))


def n_opt(th, C):
    G = (th.alpha * th.A / (th.beta * th.B)) ** (1 / (th.alpha + th.beta))
    return G * (C / 6) ** (th.beta / (th.alpha + th.beta))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--laws", type=int, default=20)
    ap.add_argument("--budget", type=float, default=1e19)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--method", default="linear")
    ap.add_argument("--out", default="benchmarks/design/simulation.csv")
    a = ap.parse_args()
    t0 = time.time()
    T = truths(a.laws, a.seed)
    rng = np.random.default_rng(a.seed + 1)
    N0, D0 = (x.reshape(-1) for x in np.meshgrid(LADDER_N, LADDER_D, indexing="ij"))
    C_star = 100 * 6 * LADDER_N.max() * LADDER_D.max()
    starts = {}
    for i, th in T.iterrows():
        starts[str(i)] = pd.DataFrame({"N": N0, "D": D0, "loss": loss(th, N0, D0, rng)})
    kw = dict(chains=a.chains, warmup=a.draws, draws=a.draws, seed=a.seed)
    first = sb.fit_many(starts, "chinchilla", **kw)
    t_first = time.time() - t0
    sets, plans = {}, {}
    t_design = 0.0
    for i, th in T.iterrows():
        fit = first[i]
        td = time.time()
        res = sb.design.next_runs(fit, budget=a.budget, target=C_star, method=a.method)
        t_design += time.time() - td
        grid = sb.design.candidate_grid(fit, a.budget)
        plan = {"design": res.batch[["N", "D"]],
                "isoflop": isoflop_grid(a.budget),
                "tpp20": tpp_ladder(a.budget),
                "random": random_runs(grid, a.budget, seed=a.seed * 1000 + i)}
        for s, runs in plan.items():
            new = pd.DataFrame({"N": runs.N.to_numpy(), "D": runs.D.to_numpy()})
            new["loss"] = loss(th, new.N.to_numpy(), new.D.to_numpy(), rng)
            sets[f"{i}|{s}"] = pd.concat([starts[str(i)], new], ignore_index=True)
            plans[f"{i}|{s}"] = (len(new), float((6 * new.N * new.D).sum()))
    t1 = time.time()
    many = sb.fit_many(sets, "chinchilla", **kw)
    t_refit = time.time() - t1
    rows = []
    for f, name in enumerate(many.names):
        i, s = name.split("|")
        th = T.iloc[int(i)]
        truth = math.log(n_opt(th, C_star))
        x = np.log(sb.compute_optimal(many[f], C_star, warn=False).draws["N_opt"][:, 0])
        x = x[np.isfinite(x)]
        q5, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
        rows.append({"law": int(i), "strategy": s, "runs": plans[name][0],
                     "flops": plans[name][1], "sd": float(np.std(x, ddof=1)),
                     "error": abs(q50 - truth), "covered90": bool(q5 <= truth <= q95),
                     "divergences": int(many.divergences[f])})
    for i in range(len(T)):  # the starting ladder alone
        th = T.iloc[i]
        truth = math.log(n_opt(th, C_star))
        x = np.log(sb.compute_optimal(first[i], C_star, warn=False).draws["N_opt"][:, 0])
        q5, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
        rows.append({"law": i, "strategy": "start", "runs": 0, "flops": 0.0,
                     "sd": float(np.std(x, ddof=1)), "error": abs(q50 - truth),
                     "covered90": bool(q5 <= truth <= q95),
                     "divergences": int(first.divergences[i])})
    df = pd.DataFrame(rows)
    df.to_csv(a.out, index=False)
    summ = df.groupby("strategy").agg(sd=("sd", "mean"), error=("error", "mean"),
                                      coverage90=("covered90", "mean"), runs=("runs", "mean"),
                                      flops=("flops", "mean"), divergent_fits=(
                                          "divergences", lambda v: int((v > 0).sum())))
    print(summ.to_string(float_format=lambda v: f"{v:.4g}"))
    best = summ.drop(["design", "start"])
    red_sd = 1 - summ.loc["design", "sd"] / best["sd"].min()
    red_err = 1 - summ.loc["design", "error"] / best["error"].min()
    info = {"laws": a.laws, "budget": a.budget, "C_star": C_star, "method": a.method,
            "chains": a.chains, "draws": a.draws,
            "sd_reduction_vs_best_baseline": red_sd, "error_reduction_vs_best_baseline": red_err,
            "design_coverage90": float(summ.loc["design", "coverage90"]),
            "seconds": {"first_fits": t_first, "design": t_design, "refits": t_refit,
                        "total": time.time() - t0}}
    print(json.dumps(info, indent=1))
    with open(a.out.replace(".csv", ".json"), "w") as fh:
        json.dump(info, fh, indent=1)


if __name__ == "__main__":
    main()
