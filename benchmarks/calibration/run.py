"""Calibration benchmark over every bundled real data set (issue 16).

    python benchmarks/calibration/run.py [--variant NAME=JSON ...] [--dataset NAME ...]
        [--chains 4] [--warmup 500] [--draws 500] [--out benchmarks/calibration/results]

Runs :func:`scaling_bayes.evaluation.calibration.calibrate` (default sets, all cutoffs: largest
~20% of model sizes, largest ~20% of compute levels, next size after the smallest k) for each
variant, writes into ``--out``: ``table.csv`` (per variant x set x cutoff), ``pooled.csv`` (per
variant), ``points.csv`` (every held-out run), ``calibration.json`` (settings, notes, column
types: ``load_calibration(out)`` reads the three CSVs back), ``calibration.png``/``.pdf`` and
``run.md`` (machine, date, settings, wall time and the Markdown tables), and prints ``run.md``.

A variant is ``NAME=JSON``: keyword arguments of ``sb.fit`` on top of the defaults, e.g.
``--variant default={} --variant iid='{"extrapolation": "none"}'`` (options that exist in the
installed package). Without ``--variant``: one variant, ``default`` (``sb.fit``'s defaults).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import scaling_bayes as sb
from scaling_bayes.evaluation.calibration import CUTOFFS, calibrate
from scaling_bayes.plots.calibration import plot_calibration
from scaling_bayes.plots.style import save_figure

HERE = Path(__file__).resolve().parent


def _variant(text: str) -> tuple[str, dict]:
    if "=" not in text:
        raise SystemExit(f"--variant must look like NAME=JSON, got {text!r}")
    name, js = text.split("=", 1)
    try:
        kw = json.loads(js) if js.strip() else {}
    except json.JSONDecodeError as e:
        raise SystemExit(f"--variant {name}: not JSON: {e}") from None
    if not isinstance(kw, dict):
        raise SystemExit(f"--variant {name}: JSON must be an object of sb.fit keywords")
    return name.strip(), kw


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON")
    ap.add_argument("--dataset", action="append", metavar="NAME")
    ap.add_argument("--cutoff", action="append", choices=CUTOFFS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    variants = dict(_variant(v) for v in args.variant) or {"default": {}}
    sb.enable_cache()
    t0 = time.perf_counter()
    res = calibrate(args.dataset, cutoffs=tuple(args.cutoff or CUTOFFS), variants=variants,
                    seed=args.seed, chains=args.chains, warmup=args.warmup, draws=args.draws,
                    progress=True)
    wall = time.perf_counter() - t0
    out = Path(args.out)
    res.save(out)
    save_figure(plot_calibration(res), out / "calibration", ("png", "pdf"), close=True)
    fit_s = float(res.table["seconds"].sum())
    head = [
        "# Calibration benchmark run",
        "",
        f"- date: {datetime.date.today().isoformat()}; machine: {platform.machine()}, "
        f"{os.cpu_count()} CPU cores, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, scaling_bayes {sb.__version__}",
        f"- settings: NUTS {args.chains} chains x {args.draws} draws (+{args.warmup} warmup), "
        f"seed {args.seed}; cutoffs {', '.join(args.cutoff or CUTOFFS)}; variants "
        f"{json.dumps(variants)}",
        f"- wall time {wall:.0f} s for {len(res.table)} fits (fit + forecast {fit_s:.0f} s; "
        "the rest is loading data and compiling)",
        "- pooled columns: `cover*`, `crps`, `*_are`, `width90` weight every held-out run "
        "equally; `cover*_ds`, `crps_ds` are means over data sets (each data set pools its "
        "groups and cutoffs); `min_cover90_ds`/`worst_ds`: the worst data set at 90%",
        "",
    ]
    notes = [f"- note: {n}" for n in res.notes]
    text = "\n".join(head) + res.markdown() + "\n\n" + "\n".join(notes) + "\n"
    (out / "run.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
