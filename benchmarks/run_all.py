"""Run every benchmark side by side on this machine, then render benchmarks/README.md (one
command regenerates the whole table, issue-21 rows included: `python benchmarks/run_all.py`).

    python benchmarks/run_all.py            # full sizes of issue 6 (tens of minutes on 2 cores)
    python benchmarks/run_all.py --quick    # reduced sizes (a few minutes): checks the scripts
    python benchmarks/run_all.py --only cli inprocess numpyro   # a subset (others keep their JSON)

Each benchmark runs in its own fresh Python process (so "first fit" and "cold" really are
first/cold for that process) and writes ``benchmarks/results/<name>.json``. Run it on an
otherwise idle machine: the timings are wall-clock.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: name -> (script, full-size arguments, reduced-size arguments)
BENCHMARKS = {
    "cli": ("bench_cli.py", [], ["--warmup", "300", "--draws", "300", "--variants", "no-plots",
                                 "--import-repeats", "1"]),
    "inprocess": ("bench_inprocess.py", [], ["--warmup", "300", "--draws", "300",
                                             "--n-fits", "2"]),
    "numpyro": ("bench_numpyro.py", [], ["--warmup", "300", "--draws", "300"]),
    "pymc": ("bench_pymc.py", [], ["--warmup", "300", "--draws", "300"]),
    "approach3": ("bench_approach3.py", [], ["--n-starts", "300", "--n-boot", "400"]),
    "many": ("bench_many.py", [], ["--n-fits", "50"]),
    "many_defaults": ("bench_many.py", ["--defaults", "--name", "many_defaults", "--repeat", "1"],
                      ["--defaults", "--name", "many_defaults", "--repeat", "1",
                       "--n-fits", "50"]),
    "scaling": ("bench_scaling.py", [], ["--max-n", "1000"]),
    "profile": ("profile_fit.py", [], ["--warmup", "300", "--draws", "300"]),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced sizes (see BENCHMARKS)")
    ap.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=None)
    ap.add_argument("--skip", nargs="+", choices=list(BENCHMARKS), default=[])
    args = ap.parse_args(argv)
    names = [n for n in (args.only or BENCHMARKS) if n not in args.skip]
    failed = []
    for name in names:
        script, full, quick = BENCHMARKS[name]
        cmd = [sys.executable, str(HERE / script), *(quick + ["--quick"] if args.quick else full)]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        print(f"=== {name}: rc {rc}, {time.perf_counter() - t:.1f} s", flush=True)
        if rc:
            failed.append(name)
    rc = subprocess.call([sys.executable, str(HERE / "make_table.py")], cwd=HERE.parent)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed or rc else 0


if __name__ == "__main__":
    sys.exit(main())
