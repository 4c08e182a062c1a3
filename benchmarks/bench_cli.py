"""(a) Whole-process timings: imports, and `scaling-bayes fit` cold (empty compile cache) and warm.

Cold: ``SCALING_BAYES_CACHE_DIR`` points at a fresh, empty temporary directory, so the process
traces and compiles every XLA program. Warm: a second process with the same (now filled) cache
directory. Both fit Epoch's 240 Chinchilla points (``--dataset chinchilla``, excluded points
dropped) with the CLI's default sampler settings unless ``--warmup/--draws`` say otherwise.

Also times ``import X`` in fresh interpreters for scaling_bayes, jax, numpyro, arviz and the
modules the fit pulls in, to show where process start-up goes.

    python benchmarks/bench_cli.py [--warmup 1000 --draws 1000] [--variants no-plots plots]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, add_quick, python_exe, run_timed, run_timed_cpu, write_result  # noqa: E402,E501

IMPORTS = ("scaling_bayes", "jax", "numpyro", "scaling_bayes.inference.engine", "arviz", "matplotlib",
           "pandas", "scipy")


def cli_cmd() -> list[str]:
    exe = Path(python_exe()).parent / "scaling-bayes"
    return [str(exe)] if exe.exists() else [python_exe(), "-m", "scaling_bayes.cli.main"]


def time_import(mod: str, repeats: int) -> dict:
    code = ("import time; t = time.perf_counter(); import " + mod +
            "; print(time.perf_counter() - t)")
    runs = []
    for _ in range(repeats):
        r = run_timed([python_exe(), "-c", code])
        if r["rc"] != 0:
            return {"module": mod, "available": False, "error": r["stderr_tail"][-300:]}
        runs.append({"import_s": float(r["stdout_tail"].strip().splitlines()[-1]),
                     "process_wall_s": r["wall_s"]})
    return {"module": mod, "available": True, "runs": runs,
            "import_s_min": min(x["import_s"] for x in runs),
            "process_wall_s_min": min(x["process_wall_s"] for x in runs)}


def parse_cli(stdout: str) -> dict:
    out = {}
    m = re.search(r"seed \d+; ([0-9.]+) s", stdout)
    if m:
        out["fit_total_s_reported"] = float(m.group(1))
    m = re.search(r"min bulk ESS ([0-9.]+)", stdout)
    if m:
        out["min_ess_bulk_reported"] = float(m.group(1))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warmup", type=int, default=None,
                    help="sampler flags passed to the CLI (default: none, the CLI's defaults, "
                         "as a user runs it)")
    ap.add_argument("--draws", type=int, default=None)
    ap.add_argument("--chains", type=int, default=None)
    ap.add_argument("--progress", action="store_true",
                    help="leave the progress bar on (default: --no-progress; stderr is a pipe)")
    ap.add_argument("--variants", nargs="+", default=["no-plots", "plots"],
                    choices=["no-plots", "plots"],
                    help="time the CLI without figures and/or with its default figures")
    ap.add_argument("--import-repeats", type=int, default=2)
    add_quick(ap)
    args = ap.parse_args(argv)
    started = time.perf_counter()

    imports = [time_import(m, args.import_repeats) for m in IMPORTS]
    for r in imports:
        print(f"import {r['module']}: "
              + (f"{r['import_s_min']:.2f} s" if r["available"] else "not installed"))

    runs = []
    base_env = dict(os.environ)
    for variant in args.variants:
        cache = Path(tempfile.mkdtemp(prefix="sb_bench_cache_"))
        work = Path(tempfile.mkdtemp(prefix="sb_bench_out_"))
        try:
            env = {**base_env, "SCALING_BAYES_CACHE_DIR": str(cache)}
            for phase in ("cold", "warm"):
                cmd = [*cli_cmd(), "fit", "--dataset", "chinchilla", "--out", str(work / phase)]
                cmd += [] if args.progress else ["--no-progress"]
                for flag in ("chains", "warmup", "draws"):
                    if getattr(args, flag) is not None:
                        cmd += [f"--{flag}", str(getattr(args, flag))]
                if variant == "no-plots":
                    cmd.append("--no-plots")
                load = list(os.getloadavg())
                r = run_timed_cpu(cmd, env=env, cwd=REPO)
                n_cache = sum(1 for _ in cache.rglob("*") if _.is_file())
                rec = {"variant": variant, "phase": phase, "wall_s": r["wall_s"], "rc": r["rc"],
                       "cpu_s": r.get("cpu_s"), "loadavg_before": load,
                       "cache_files_after": n_cache, **parse_cli(r["stdout_tail"]),
                       "cmd": " ".join(cmd[1:]).replace(str(work), "$OUT"),
                       "stderr_tail": r["stderr_tail"][-600:] if r["rc"] else ""}
                runs.append(rec)
                print(f"CLI {variant} {phase}: {r['wall_s']:.2f} s wall (rc {r['rc']}; fit "
                      f"{rec.get('fit_total_s_reported', float('nan')):.1f} s; cache files "
                      f"{n_cache})")
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)

    write_result("cli", {
        "settings": {"chains": args.chains or 4, "warmup": args.warmup or 1000,
                     "draws": args.draws or 1000, "cli_defaults": all(
                         getattr(args, k) is None for k in ("chains", "warmup", "draws")),
                     "data": "chinchilla (Epoch, 240 rows)"},
        "imports": imports, "cli_runs": runs,
    }, quick=args.quick, started=started)
    return 0 if all(r["rc"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
