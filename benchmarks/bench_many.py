"""fit_many throughput: many independent Chinchilla fits of ~50 points in one vmapped program.

Each data set is a bootstrap resample (rows drawn with replacement) of ``--rows`` rows of Epoch's
240 Chinchilla points. All fits run in one ``scaling_bayes.fit_many`` call (4 chains x 250
warmup x 250 draws by default); ``--repeat 2`` calls it again with another seed on new
resamples of the same shape, which reuses the compiled programs (compile = first - second).
Reports the wall time of each call, its init/sample split, the time of ``many.check()`` and the
fraction of fits with clean diagnostics (no divergences, R-hat <= 1.01, ESS >= 400, ...).

    python benchmarks/bench_many.py [--n-fits 1000] [--rows 50] [--repeat 2] [--devices 2]

The data sets are split across ``--devices`` CPU host devices (default: one per core; XLA's
``--xla_force_host_platform_device_count``), which ``fit_many`` uses through ``jax.shard_map``.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SCALING_BAYES_CACHE_DIR", "off")


def _host_devices(k: int) -> None:
    """``k`` XLA host devices on CPU; JAX reads the flag when its backend starts (first use)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={k}".strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-fits", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=50)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=250)
    ap.add_argument("--draws", type=int, default=250)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--devices", type=int, default=os.cpu_count() or 1,
                    help="CPU host devices the data sets are split across (default: all cores)")
    ap.add_argument("--n-starts", type=int, default=16)
    ap.add_argument("--defaults", action="store_true",
                    help="call fit_many as a user does: no sampler arguments (its defaults; "
                         "--chains/--warmup/--draws/--n-starts are ignored)")
    ap.add_argument("--name", default="many", help="results/<name>.json")
    args = ap.parse_args(argv)
    _host_devices(args.devices)  # before anything starts JAX's backend
    started = time.perf_counter()

    import jax
    import numpy as np
    import pandas as pd
    from _common import chinchilla_arrays, write_result

    import scaling_bayes as sb
    from scaling_bayes.inference import engine as inference
    from scaling_bayes.inference import many as _many  # noqa: F401  (imports outside the timings)

    N, D, loss = chinchilla_arrays()
    calls = []
    for r in range(max(1, args.repeat)):
        rng = np.random.default_rng(1000 + r)
        sets = []
        for _ in range(args.n_fits):
            idx = rng.integers(0, N.size, size=args.rows)
            sets.append(pd.DataFrame({"N": N[idx], "D": D[idx], "loss": loss[idx]}))
        t = time.perf_counter()
        load = list(os.getloadavg())
        cpu0 = time.process_time()
        if args.defaults:
            m = sb.fit_many(sets, law="chinchilla", seed=r)
        else:
            m = sb.fit_many(sets, law="chinchilla", seed=r, chains=args.chains,
                            warmup=args.warmup, draws=args.draws, n_starts=args.n_starts)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - t
        t = time.perf_counter()
        problems = m.check()
        check_s = time.perf_counter() - t
        kinds = collections.Counter()
        for msgs in problems.values():
            for msg in msgs:
                kinds[re.sub(r"[0-9.]+", "#", msg)[:80]] += 1
        summ = m.summary()  # (fit, parameter) rows
        per_fit = summ.groupby(level=0, sort=False).agg(
            {"ess_bulk": "min", "ess_tail": "min", "r_hat": "max"})
        diag = {f"{stat}_{k}": float(np.nanquantile(per_fit[col], q))
                for col, stat in (("ess_bulk", "min_ess_bulk"), ("ess_tail", "min_ess_tail"),
                                  ("r_hat", "max_rhat"))
                for k, q in (("p05", 0.05), ("median", 0.5), ("p95", 0.95))}
        rec = {"call": r + 1, "seed": r, "wall_s": wall, "check_s": check_s,
               "cpu_s": cpu, "loadavg_before": load, "per_fit_diagnostics": diag,
               "timings": {k: float(v) for k, v in m.timings.items()},
               "n_fits": len(m), "n_clean": len(m) - len(problems),
               "clean_frac": (len(m) - len(problems)) / len(m),
               "fits_with_divergences": int(np.sum(m.divergences > 0)),
               "problem_kinds": dict(kinds.most_common(10)),
               "fits_per_s": len(m) / wall}
        calls.append(rec)
        print(f"fit_many call {r + 1}: {len(m)} fits in {wall:.2f} s (init "
              f"{m.timings['init_s']:.2f}, sample {m.timings['sample_s']:.2f}); check "
              f"{check_s:.2f} s; clean {rec['clean_frac']:.1%}")
    cfg = m.config
    write_result(args.name, {
        "settings": {"n_fits": args.n_fits, "rows_per_fit": args.rows, "chains": cfg.chains,
                     "warmup": cfg.warmup, "draws": cfg.draws, "n_starts": cfg.n_starts,
                     "fit_many_defaults": bool(args.defaults),
                     "devices": jax.device_count(),
                     "lockstep_lanes": inference.LOCKSTEP_LANES,
                     "data": "bootstrap resamples (with replacement) of Epoch's 240 points"},
        "calls": calls,
        "compile_s_estimate": (calls[0]["wall_s"] - calls[1]["wall_s"]) if len(calls) > 1
        else None,
    }, quick=args.quick, started=started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
