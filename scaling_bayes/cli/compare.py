"""Model-comparison subcommands of ``scaling-bayes``: ``compare`` and ``backtest``.

``register(subparsers)`` adds them to the main CLI. Handlers raise
:class:`~scaling_bayes.cli.common.UsageError` (or the library's
:class:`~scaling_bayes.ScalingBayesError`, ``FileNotFoundError``) for user errors: the main CLI
prints those as one line and exits with 2. Files are written atomically
(:func:`scaling_bayes._core.io.atomic_write`).
"""

from __future__ import annotations

import sys
import warnings

from scaling_bayes.cli.common import (
    UsageError,
    _data,
    _floats,
    _laws,
    _outdir,
    _print,
    _print_caught,
    _sampler,
    _save_fig,
    _write,
    enable_cache,
    print_diagnostics,
)
from scaling_bayes.evaluation.backtest import backtest
from scaling_bayes.evaluation.comparison import compare
from scaling_bayes.inference import fit as inference_fit
from scaling_bayes.plots.backtest import plot_backtest
from scaling_bayes.plots.comparison import plot_comparison


def _cmd_compare(args) -> int:
    laws = _laws(args.laws)
    _sampler(args)
    data, name, where = _data(args)
    out = _outdir(args, f"{name}_compare")
    enable_cache()
    fits = {}
    for law in laws:
        print(f"fitting {law} ...", file=sys.stderr, flush=True)
        fits[law] = inference_fit.fit(
            data,
            law=law,
            seed=args.seed,
            chains=args.chains,
            warmup=args.warmup,
            draws=args.draws,
            warn=False,
            progress=not args.no_progress,
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compare(
            fits, budgets=args.budgets, baselines=args.baselines, n_boot=args.n_boot, seed=args.seed
        )
    _print_caught(caught)
    n = next(iter(fits.values())).data.n
    print(
        f"data: {where}, {n} rows; NUTS {args.chains} chains x {args.draws} draws "
        f"(+{args.warmup} warmup), seed {args.seed}"
    )
    print("PSIS-LOO on log-loss (elpd_diff: best minus this; weight: stacking):")
    _print(res.table.drop(columns=["note"]))
    for law, f in fits.items():
        print_diagnostics(f.check(), title=f"{law} diagnostics:")
    for note in res.notes:
        print(f"note: {note}")
    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write(out, "comparison.csv", res.table),
        _write(out, "allocations.csv", res.allocations, index=False),
    ]
    if not args.no_plots:
        written += _save_fig(plot_comparison(res), out / "comparison.png")
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def _cmd_backtest(args) -> int:
    laws = _laws(args.laws)
    _sampler(args)
    if (args.holdout_above_compute is None) == (args.holdout_above_params is None):
        raise UsageError(
            "give exactly one of --holdout-above-compute FLOPS or --holdout-above-params N"
        )
    data, name, where = _data(args)
    out = _outdir(args, f"{name}_backtest")
    enable_cache()
    res = backtest(
        data,
        laws,
        holdout_above_compute=args.holdout_above_compute,
        holdout_above_params=args.holdout_above_params,
        seed=args.seed,
        chains=args.chains,
        warmup=args.warmup,
        draws=args.draws,
        baselines=not args.no_baselines,
        n_boot=args.n_boot,
        progress=not args.no_progress,
    )
    t = res.table
    print(
        f"data: {where}; {res.split}: train on {int(t['n_train'].iloc[0])} rows, predict "
        f"{int(t['n_holdout'].iloc[0])}"
    )
    print(
        "held-out scores (lpd: log predictive density of log-loss; crps on log-loss; "
        "are: abs. relative error of the median prediction):"
    )
    _print(t.drop(columns=["note"]))
    for m, note in t["note"].items():
        if note:
            print(f"note: {m}: {note}")
    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write(out, "backtest.csv", t),
        _write(out, "backtest_predictions.csv", res.predictions, index=False),
    ]
    if not args.no_plots:
        written += _save_fig(plot_backtest(res), out / "backtest.png")
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def _common(p, default_warmup: int, default_draws: int) -> None:
    p.add_argument("csv", nargs="?", help="CSV with columns N/params, D/tokens, loss")
    p.add_argument("--dataset", help="bundled data set (see `scaling-bayes datasets`)")
    p.add_argument(
        "--keep-excluded",
        action="store_true",
        help="with --dataset: keep rows the source excluded (e.g. Epoch's 5 points)",
    )
    p.add_argument(
        "--laws",
        default="chinchilla,kaplan",
        help="comma-separated law names (default: chinchilla,kaplan)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=default_warmup)
    p.add_argument("--draws", type=int, default=default_draws, help="kept draws per chain")
    p.add_argument(
        "--n-boot",
        type=int,
        default=200,
        help="bootstrap refits of the Approach-3 baseline (intervals)",
    )
    p.add_argument("--out", help="output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="do not write the figure")


def register(subparsers) -> None:
    """Add ``compare`` and ``backtest`` to the CLI's subparsers."""
    c = subparsers.add_parser(
        "compare",
        help="fit several laws and compare them (PSIS-LOO, stacking, allocations)",
        description="Fit each law to the same data, compare them by PSIS-LOO on log-loss "
        "(stacking weights, ELPD differences with SE, Pareto-k counts) and show "
        "each law's compute-optimal allocation side by side. Writes "
        "comparison.csv, allocations.csv and comparison.png.",
    )
    _common(c, 1000, 1000)
    c.add_argument(
        "--budgets",
        nargs="+",
        type=_floats("--budgets"),
        default=[5.76e23, 1e26],
        metavar="FLOPS",
        help="training budgets for the allocations",
    )
    c.add_argument(
        "--baselines",
        action="store_true",
        help="add the classical Approach-3 Huber fit with bootstrap intervals",
    )
    c.set_defaults(func=_cmd_compare)

    b = subparsers.add_parser(
        "backtest",
        help="fit on small runs, score predictions of held-out large runs",
        description="Hold out the runs above a compute or parameter cutoff, fit each law on the "
        "rest, and score the held-out predictions (log predictive density, interval "
        "coverage, CRPS, relative error), with the Approach-3 baseline. Writes "
        "backtest.csv, backtest_predictions.csv and backtest.png.",
    )
    _common(b, 500, 500)
    b.add_argument(
        "--holdout-above-compute",
        type=_floats("--holdout-above-compute"),
        metavar="FLOPS",
        help="hold out runs with C above this (FLOPs)",
    )
    b.add_argument(
        "--holdout-above-params",
        type=_floats("--holdout-above-params"),
        metavar="N",
        help="hold out runs with N above this",
    )
    b.add_argument("--no-baselines", action="store_true", help="skip the Approach-3 baseline")
    b.set_defaults(func=_cmd_backtest)
