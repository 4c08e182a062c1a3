"""``scaling-bayes calibrate``: the calibration benchmark over bundled real data sets.

``register(subparsers)`` adds the command to the main CLI. For each data set and cutoff it fits
below the cutoff, forecasts above it
(:func:`scaling_bayes.evaluation.calibration.calibrate`), prints the per-set table and the pooled
row, and writes ``calibration_table.csv``, ``calibration_pooled.csv``,
``calibration_points.csv`` and the figure ``calibration.png``/``.pdf`` into ``--out`` (plus the
result in ``result/``, which :func:`~scaling_bayes.evaluation.calibration.load_calibration`
reads back). Bad input (an unknown data set, cutoff or law) is a
:class:`~scaling_bayes.cli.common.UsageError`: one line, exit 2, before anything is fitted.
"""

from __future__ import annotations

import sys

from scaling_bayes.cli.common import (
    UsageError,
    _outdir,
    _print,
    _sampler,
    _save_fig,
    _write,
    enable_cache,
)
from scaling_bayes.evaluation.calibration import CUTOFFS, calibrate
from scaling_bayes.laws.base import get_law
from scaling_bayes.plots.calibration import plot_calibration

_TABLE = ["set", "cutoff", "law", "n_train", "n_holdout", "cover50", "cover80", "cover90",
          "cover95", "crps", "median_are", "max_are", "width90", "divergences"]
_POOLED = ["variant", "n_datasets", "n_splits", "n_holdout", "cover50", "cover80", "cover90",
           "cover95", "cover90_ds", "crps", "crps_ds", "median_are", "max_are", "width90",
           "min_cover90_ds", "worst_ds"]


def _cmd_calibrate(args) -> int:
    _sampler(args)
    bad = [c for c in args.cutoff or () if c not in CUTOFFS]
    if bad:
        raise UsageError(f"--cutoff: unknown cutoff {bad[0]!r}; choose from {', '.join(CUTOFFS)}")
    if args.law is not None:
        get_law(args.law)
    out = _outdir(args, "calibration")
    enable_cache()
    res = calibrate(
        args.dataset or None,
        law=args.law or "chinchilla",
        cutoffs=tuple(args.cutoff) if args.cutoff else CUTOFFS,
        seed=args.seed,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        progress=not args.no_progress,
    )
    print(f"NUTS {args.chains} chains x {args.draws} draws (+{args.warmup} warmup), seed "
          f"{args.seed}; forecasts by sb.predict; cover*: fraction of held-out runs inside the "
          "central predictive interval; crps on log-loss; are: abs. relative error of the "
          "median forecast; width90: median 90% interval width / loss")
    _print(res.table[_TABLE].set_index(["set", "cutoff"]))
    print("pooled (cover50..95, crps, are, width90: every held-out run weighted equally; "
          "*_ds: mean over data sets):")
    _print(res.pooled[_POOLED].set_index("variant"))
    for note in res.notes:
        print(f"note: {note}")
    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write(out, "calibration_table.csv", res.table, index=False),
        _write(out, "calibration_pooled.csv", res.pooled, index=False),
        _write(out, "calibration_points.csv", res.points, index=False),
    ]
    res.save(out / "result")
    written.append(out / "result")
    if not args.no_plots:
        written += _save_fig(plot_calibration(res), out / "calibration.png")
    print("wrote: " + ", ".join(str(p) for p in written))
    sys.stdout.flush()
    return 0


def register(subparsers) -> None:
    """Add ``calibrate`` to the CLI's subparsers."""
    c = subparsers.add_parser(
        "calibrate",
        help="calibration benchmark: forecast held-out larger runs of the bundled data sets",
        description="For each bundled real data set and cutoff (largest model sizes, largest "
        "compute, the next size after the smallest k), fit the law below the cutoff, forecast "
        "the runs above it with the predictive distribution, and report coverage of the "
        "50/80/90/95%% intervals, CRPS, relative errors and interval widths per data set and "
        "pooled. Writes calibration_table.csv, calibration_pooled.csv, calibration_points.csv "
        "and calibration.png/.pdf.",
    )
    c.add_argument("--dataset", action="append", metavar="NAME",
                   help="benchmark set or bundled data set (repeat; default: all), e.g. "
                   "chinchilla, marin2026 (all mixes) or marin2026:dclm")
    c.add_argument("--law", help="law of the sets that have no law of their own "
                   "(default chinchilla; Datablations uses data_constrained, MoE routed_moe)")
    c.add_argument("--cutoff", action="append", metavar="KIND",
                   help=f"cutoff kind (repeat; default all): {', '.join(CUTOFFS)}")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--chains", type=int, default=4)
    c.add_argument("--warmup", type=int, default=500)
    c.add_argument("--draws", type=int, default=500, help="kept draws per chain")
    c.add_argument("--out", help="output directory (default scaling_bayes_out/calibration)")
    c.add_argument("--no-progress", action="store_true", help="no line per fit on stderr")
    c.add_argument("--no-plots", action="store_true", help="do not write the figure")
    c.set_defaults(func=_cmd_calibrate)
