"""Where a fit's time goes: import, JAX tracing, lowering, XLA compile, cache loads, the rest.

Runs one ``sb.fit`` on Epoch's 240 Chinchilla points in two fresh processes sharing a
persistent compilation cache (enabled exactly as the CLI does): "cold" (empty cache) and "warm"
(cache filled by the cold one). JAX's monitoring events give the time spent tracing to jaxprs,
lowering to MLIR, compiling with XLA and reading the persistent cache; whatever is left of the
fit's wall time is execution (mode search, NUTS, postprocessing) plus Python overhead.

    python benchmarks/profile_fit.py [--warmup 1000 --draws 1000]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))

EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace_s",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower_s",
    "/jax/core/compile/backend_compile_duration": "compile_or_cache_load_s",
    "/jax/compilation_cache/cache_retrieval_time_sec": "cache_retrieval_s",
    "/jax/compilation_cache/compile_time_saved_sec": "compile_time_saved_s",
}


def child(args) -> dict:
    """One fit in this (fresh) process; returns the breakdown."""
    t = time.perf_counter()
    import jax

    import scaling_bayes as sb
    from scaling_bayes.inference.aot import enable_cache
    from scaling_bayes.inference import engine  # noqa: F401

    import_s = time.perf_counter() - t
    totals: dict = collections.defaultdict(float)
    per_fun: dict = collections.defaultdict(float)
    counts: dict = collections.defaultdict(int)

    def listener(event, duration, **kw):
        if event in EVENTS:
            totals[EVENTS[event]] += duration
            counts[EVENTS[event]] += 1
            if event == "/jax/core/compile/backend_compile_duration":
                per_fun[kw.get("fun_name", "?")] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    enable_cache()  # as the CLI does
    import pandas as pd
    from _common import chinchilla_arrays

    N, D, loss = chinchilla_arrays()
    df = pd.DataFrame({"N": N, "D": D, "loss": loss})
    t = time.perf_counter()
    f = sb.fit(df, law="chinchilla", seed=0, chains=args.chains, warmup=args.warmup,
               draws=args.draws, warn=False)
    wall = time.perf_counter() - t
    jit_s = totals["trace_s"] + totals["lower_s"] + totals["compile_or_cache_load_s"]
    return {"import_s": import_s, "process_to_fit_end_s": time.perf_counter() - T0,
            "fit_wall_s": wall, "timings": f.meta["timings"], **dict(totals),
            "event_counts": dict(counts), "trace_lower_compile_s": jit_s,
            "rest_of_fit_s": wall - jit_s,
            "top_compiles": sorted(per_fun.items(), key=lambda kv: -kv[1])[:8]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(args)))
        return 0
    from _common import write_result

    started = time.perf_counter()
    cache = Path(tempfile.mkdtemp(prefix="sb_profile_cache_"))
    phases = {}
    try:
        env = {**os.environ, "SCALING_BAYES_CACHE_DIR": str(cache)}
        for phase in ("cold", "warm"):
            cmd = [sys.executable, __file__, "--child", "--warmup", str(args.warmup),
                   "--draws", str(args.draws), "--chains", str(args.chains)]
            t = time.perf_counter()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t
            line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
            if p.returncode or not line:
                print(p.stderr[-2000:], file=sys.stderr)
                return 1
            phases[phase] = {"process_wall_s": wall, **json.loads(line[-1][7:])}
            r = phases[phase]
            print(f"{phase}: process {wall:.1f} s; import {r['import_s']:.2f} s; fit "
                  f"{r['fit_wall_s']:.1f} s = trace {r.get('trace_s', 0):.1f} + lower "
                  f"{r.get('lower_s', 0):.1f} + compile/cache-load "
                  f"{r.get('compile_or_cache_load_s', 0):.1f} + rest "
                  f"{r['rest_of_fit_s']:.1f} (sample_s {r['timings']['sample_s']:.1f})")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    write_result("profile", {
        "settings": {"chains": args.chains, "warmup": args.warmup, "draws": args.draws,
                     "data": "chinchilla (Epoch, 240 rows)"},
        "phases": phases}, quick=args.quick, started=started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
