"""(a) In-process fits: first fit (tracing + XLA compile + sampling) and second fit, same process.

Run in a fresh interpreter (``run_all.py`` does), so the first fit pays every compile: the
persistent XLA cache is not used here (only the CLI enables it). Both fits use Epoch's 240
Chinchilla points and the same settings; the second uses another seed, so it reuses the
compiled programs but not the draws.

    python benchmarks/bench_inprocess.py [--warmup 1000 --draws 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

T_PROCESS = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SCALING_BAYES_CACHE_DIR", "off")


def main(argv=None) -> int:
    from _common import add_quick, chinchilla_arrays, min_ess_bulk, quantiles, write_result

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--n-fits", type=int, default=3, help="fits in the process (>= 2)")
    add_quick(ap)
    args = ap.parse_args(argv)
    started = time.perf_counter()

    t0 = time.perf_counter()
    import scaling_bayes as sb
    from scaling_bayes.inference import engine  # noqa: F401  (the heavy imports: jax, numpyro)

    import_s = time.perf_counter() - t0
    N, D, loss = chinchilla_arrays()
    import pandas as pd

    df = pd.DataFrame({"N": N, "D": D, "loss": loss})
    fits = []
    for i in range(max(2, args.n_fits)):
        t = time.perf_counter()
        f = sb.fit(df, law="chinchilla", seed=i, chains=args.chains, warmup=args.warmup,
                   draws=args.draws, warn=False)
        wall = time.perf_counter() - t
        ess = min_ess_bulk({k: f.posterior[k] for k in ("E", "A", "B", "alpha", "beta")})
        rec = {"fit": i + 1, "seed": i, "wall_s": wall, "timings": f.meta["timings"],
               "divergences": f.divergences,
               "mean_leapfrog_steps": float(f.sample_stats["n_steps"].mean()), **ess,
               "ess_per_s_wall": ess["min_ess_bulk"] / wall,
               "ess_per_s_sampling": ess["min_ess_bulk"] / f.meta["timings"]["sample_s"],
               "posterior": quantiles({k: f.posterior[k] for k in ("alpha", "beta", "E")})}
        fits.append(rec)
        t_ = f.meta["timings"]
        print(f"fit {i + 1}: {wall:.2f} s wall (init {t_['init_s']:.2f}, sample "
              f"{t_['sample_s']:.2f}, post {t_['postprocess_s']:.2f}); min ESS "
              f"{ess['min_ess_bulk']:.0f} ({ess['min_ess_param']}); "
              f"{ess['min_ess_bulk'] / wall:.0f} ESS/s")
    write_result("inprocess", {
        "settings": {"chains": args.chains, "warmup": args.warmup, "draws": args.draws,
                     "data": "chinchilla (Epoch, 240 rows)", "likelihood": "student_t(4)",
                     "target_accept": 0.9, "dense_mass": True, "dtype": "float64"},
        "import_s": import_s, "process_to_first_fit_s": t0 - T_PROCESS + import_s,
        "fits": fits,
    }, quick=args.quick, started=started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
