"""Cost against work: fit time for 10^2 ... 10^5 observations with fixed sampler settings.

Synthetic Chinchilla data shaped like training curves: ``n_models`` model sizes log-spaced in
[1e7, 1e10], each with intermediate checkpoints at token counts log-spaced from 1/100 of its
final budget (20 tokens/param) to the final budget; loss = E + A N^-alpha + B D^-beta with
Epoch's fitted parameters, times exp(0.01 * Student-t(4) noise). For each size, two fits in the
same process (seeds 0, 1): the first includes tracing and XLA compilation for that padded size,
the second reuses them. Reports init (mode search), sampling and total time, leapfrog steps,
and the time per leapfrog step per observation, plus log-log slopes of time against n.

    python benchmarks/bench_scaling.py [--max-n 100000] [--warmup 250 --draws 250]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SCALING_BAYES_CACHE_DIR", "off")

TRUE = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}


def synthetic(n: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_models = int(min(50, max(10, n // 10)))
    per = [n // n_models + (1 if i < n % n_models else 0) for i in range(n_models)]
    Ns = np.geomspace(1e7, 1e10, n_models)
    rows_N, rows_D = [], []
    for Nm, k in zip(Ns, per, strict=True):
        Dfinal = 20.0 * Nm
        rows_N.append(np.full(k, Nm))
        rows_D.append(np.geomspace(Dfinal / 100.0, Dfinal, k))
    Nv, Dv = np.concatenate(rows_N), np.concatenate(rows_D)
    mu = TRUE["E"] + TRUE["A"] * Nv ** -TRUE["alpha"] + TRUE["B"] * Dv ** -TRUE["beta"]
    loss = mu * np.exp(0.01 * rng.standard_t(4.0, size=Nv.size))
    return pd.DataFrame({"N": Nv, "D": Dv, "loss": loss})


def slope(ns, ts):
    import numpy as np

    ok = [(n, t) for n, t in zip(ns, ts, strict=True) if t and t > 0]
    if len(ok) < 2:
        return None
    x, y = np.log([n for n, _ in ok]), np.log([t for _, t in ok])
    return float(np.polyfit(x, y, 1)[0])


def main(argv=None) -> int:
    from _common import min_ess_bulk, write_result

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-n", type=int, default=100_000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=250)
    ap.add_argument("--draws", type=int, default=250)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    import scaling_bayes as sb
    from scaling_bayes.inference import engine  # noqa: F401

    sizes = [10**k for k in range(2, 8) if 10**k <= args.max_n]
    points = []
    for n in sizes:
        df = synthetic(n)
        rec = {"n": n, "fits": []}
        for seed in (0, 1):
            t = time.perf_counter()
            f = sb.fit(df, law="chinchilla", seed=seed, chains=args.chains, warmup=args.warmup,
                       draws=args.draws, warn=False)
            wall = time.perf_counter() - t
            tm = f.meta["timings"]
            steps = float(f.sample_stats["n_steps"].mean())
            leapfrogs = steps * args.chains * (args.warmup + args.draws)
            ess = min_ess_bulk({k: f.posterior[k] for k in ("E", "A", "B", "alpha", "beta")})
            rec["fits"].append({
                "seed": seed, "wall_s": wall, "timings": {k: float(v) for k, v in tm.items()},
                "mean_leapfrog_steps": steps, "divergences": f.divergences,
                "min_ess_bulk": ess["min_ess_bulk"], "max_rhat": ess["max_rhat"],
                "sample_us_per_leapfrog": 1e6 * tm["sample_s"] / leapfrogs,
                "sample_ns_per_leapfrog_per_obs": 1e9 * tm["sample_s"] / leapfrogs / n})
            print(f"n={n:>7}: seed {seed}: {wall:.2f} s (init {tm['init_s']:.2f}, sample "
                  f"{tm['sample_s']:.2f}, pad {int(tm['n_pad'])}); {steps:.0f} steps/draw; "
                  f"min ESS {ess['min_ess_bulk']:.0f}")
        first, second = rec["fits"]
        rec["compile_s_estimate"] = first["wall_s"] - second["wall_s"]
        points.append(rec)
    warm = [p["fits"][1] for p in points]
    ns = [p["n"] for p in points]
    growth = {
        "slope_warm_total_vs_n": slope(ns, [w["wall_s"] for w in warm]),
        "slope_warm_sample_vs_n": slope(ns, [w["timings"]["sample_s"] for w in warm]),
        "slope_warm_per_leapfrog_vs_n": slope(ns, [w["sample_us_per_leapfrog"] for w in warm]),
        "slope_first_total_vs_n": slope(ns, [p["fits"][0]["wall_s"] for p in points]),
        "slope_compile_vs_n": slope(ns, [p["compile_s_estimate"] for p in points]),
        "slope_warm_total_top_decade": slope(ns[-2:], [w["wall_s"] for w in warm[-2:]])
        if len(ns) >= 2 else None,
        "slope_warm_per_leapfrog_top_decade": slope(
            ns[-2:], [w["sample_us_per_leapfrog"] for w in warm[-2:]]) if len(ns) >= 2 else None,
    }
    print("growth (log-log slopes):", {k: (round(v, 3) if v is not None else None)
                                       for k, v in growth.items()})
    write_result("scaling", {
        "settings": {"chains": args.chains, "warmup": args.warmup, "draws": args.draws,
                     "sizes": sizes, "data": "synthetic Chinchilla training curves",
                     "true": TRUE, "noise": "log-loss + 0.01 * Student-t(4)"},
        "points": points, "growth": growth,
    }, quick=args.quick, started=started)

    return 0


if __name__ == "__main__":
    sys.exit(main())
