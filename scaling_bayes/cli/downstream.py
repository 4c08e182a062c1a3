"""``scaling-bayes downstream``: task accuracy from (N, D) through the task loss, with bands.

Fits :func:`scaling_bayes.fit_downstream` (task-loss law, then the sigmoid to the metric) on a
CSV or a bundled ladder, optionally holding some runs out (``--hold-out size=1B``: they are not
fitted, they are predicted and drawn), prints the posterior, the seed-noise floor and the
forecasts, and writes ``downstream_fit.npz``, ``downstream_summary.csv``,
``downstream_predictions.csv`` and the figure ``downstream.png``/``.pdf``.

``register(subparsers)`` adds the command to the main CLI. User errors raise
:class:`~scaling_bayes.cli.common.UsageError` or the library's errors: one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from scaling_bayes.cli.common import (
    UsageError,
    _data,
    _make_out,
    _outdir,
    _print,
    _remove_empty,
    _save_fig,
    _write,
    print_diagnostics,
)
from scaling_bayes.data.downstream import downstream_table
from scaling_bayes.data.observations import read_table
from scaling_bayes.inference.downstream import fit_downstream
from scaling_bayes.model.downstream import MODES
from scaling_bayes.plots.downstream import plot_downstream


def _split(frame: pd.DataFrame, items: list[str]):
    """``(fitted, held_out)``: rows matching every ``COLUMN=VALUE`` of ``items`` are held out."""
    if not items:
        return frame, None
    keep = np.ones(len(frame), bool)
    for item in items:
        col, sep, value = item.partition("=")
        col, value = col.strip(), value.strip()
        if not sep or not col:
            raise UsageError(f"--hold-out expects COLUMN=VALUE, got {item!r}")
        if col not in frame.columns:
            raise UsageError(f"--hold-out: no column {col!r}; columns are: "
                             f"{', '.join(map(str, frame.columns))}")
        s = frame[col]
        if s.dtype.kind in "biuf":
            try:
                hit = np.isclose(s.to_numpy(float), float(value), rtol=1e-12, atol=0)
            except ValueError:
                raise UsageError(f"--hold-out: column {col!r} is numeric, {value!r} is not a "
                                 "number") from None
        else:
            hit = (s.astype(str).str.strip() == value).to_numpy()
        keep &= hit
    if not keep.any():
        raise UsageError(f"--hold-out {' and '.join(items)}: no row matches")
    return frame[~keep].reset_index(drop=True), frame[keep].reset_index(drop=True)


def _ck(text: str):
    if text == "final":
        return "final"
    try:
        k = int(text)
    except ValueError:
        raise UsageError(f"--checkpoints must be 'final' or a positive integer, got {text!r}") \
            from None
    if k < 1:
        raise UsageError(f"--checkpoints must be 'final' or a positive integer, got {text!r}")
    return k


def _cmd_downstream(args) -> int:
    for name in ("chains", "warmup", "draws"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name} must be >= 1, got {getattr(args, name)}")
    data, name, where = _data(args)
    frame = data if isinstance(data, pd.DataFrame) else read_table(data)
    if args.task is not None:
        if args.task_loss or args.metric:
            raise UsageError("give --task, or --task-loss and --metric, not both")
        loss, metric = f"bpb_{args.task}", f"acc_{args.task}"
    else:
        if not (args.task_loss and args.metric):
            raise UsageError("give --task TASK (columns bpb_TASK, acc_TASK) or both "
                             "--task-loss COLUMN and --metric COLUMN")
        loss, metric = args.task_loss, args.metric
    ck = _ck(args.checkpoints)
    fitted, held = _split(frame, args.hold_out)
    out = _outdir(args, f"{name}_downstream_{metric}")
    print(f"fitting {loss} -> {metric} ({args.mode or 'default'} mode) ...", file=sys.stderr,
          flush=True)
    fit = fit_downstream(fitted, loss, metric, mode=args.mode, chance=args.chance,
                         ceiling=args.ceiling, checkpoints=ck, chains=args.chains,
                         warmup=args.warmup, draws=args.draws, seed=args.seed,
                         target_accept=args.target_accept)
    nf = fit.noise_floor
    print(f"data: {where}, {fit.data.n} runs fitted"
          + (f", {len(held)} held out ({' and '.join(args.hold_out)})" if held is not None
             else ""))
    print(f"mode {fit.mode}; chance (floor) {fit.floor:.4g}; "
          f"ceiling {'learned' if fit.ceiling is None else fit.ceiling}")
    print(f"seed-noise floor from {nf['pairs']} rerun pairs: metric sd "
          f"{100 * nf['metric']:.3g} points, task loss sd {100 * nf['loss']:.3g}% ")
    print(f"NUTS {args.chains} chains x {args.draws} draws (+{args.warmup} warmup), seed "
          f"{args.seed}, {fit.meta['timings']['total_s']:.1f} s")
    summary = fit.summary()
    _print(summary[["mean", "sd", "q5", "q50", "q95", "ess_bulk", "r_hat"]])
    if held is not None:
        if ck != "final":
            t = downstream_table(held, loss, metric, checkpoints=ck, check_design=False)
            held = t.frame()
        pts = held
    elif args.N or args.D:
        if not (args.N and args.D):
            raise UsageError("--N and --D go together")
        N, D = np.broadcast_arrays(np.asarray(args.N, float), np.asarray(args.D, float))
        pts = pd.DataFrame({"N": N, "D": D})
    else:
        pts = None
    written = []
    created = _make_out(out)
    try:
        if pts is not None:
            p = fit.predict(N=pts["N"].to_numpy(float), D=pts["D"].to_numpy(float),
                            threshold=args.threshold, seed=args.seed)
            if held is not None:
                p.insert(0, "run", held["run"].to_numpy() if "run" in held else np.arange(len(p)))
                p["observed_loss"] = held[loss].to_numpy(float)
                p["observed_metric"] = held[metric].to_numpy(float)
            cols = [c for c in p.columns if c.startswith(("run", "N", "D", "metric_pred",
                                                           "observed_metric", "p_above"))]
            print("forecasts (metric, 90% predictive interval):")
            _print(p[cols])
            if held is not None:
                inside = ((p["metric_pred_q5"] <= p["observed_metric"])
                          & (p["observed_metric"] <= p["metric_pred_q95"]))
                err = 100 * np.median(np.abs(p["metric_pred_q50"] - p["observed_metric"]))
                print(f"held out: median |error| {err:.2f} points; {int(inside.sum())}/"
                      f"{len(p)} inside the 90% predictive interval")
            written.append(_write(out, "downstream_predictions.csv", p, index=False))
        written.append(_write(out, "downstream_summary.csv", summary))
        fit.save(out / "downstream_fit.npz")
        written.append(out / "downstream_fit.npz")
        if not args.no_plots:
            written += _save_fig(plot_downstream(fit, held), out / "downstream.png")
    except BaseException:
        _remove_empty(created)
        raise
    print_diagnostics(fit.check(), title="downstream diagnostics:")
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def register(sub) -> None:
    """Add ``downstream`` to the CLI's subparsers."""
    s = sub.add_parser(
        "downstream",
        help="task accuracy from (N, D): a law of the task loss, then a sigmoid to the "
        "metric, uncertainty carried through; figure of the metric against compute",
    )
    s.add_argument("csv", nargs="?", help="CSV with N, D (or C), the task loss and the metric")
    s.add_argument("--dataset", help="bundled data set, e.g. olmo_ladder or olmo_ladder_curves")
    s.add_argument("--task", help="task name: columns bpb_TASK and acc_TASK, e.g. "
                   "mmlu_avg_test")
    s.add_argument("--task-loss", help="task-loss column (instead of --task)")
    s.add_argument("--metric", help="metric column, a fraction in [0, 1] (instead of --task)")
    s.add_argument("--mode", choices=MODES, default=None,
                   help="chained (default), joint, or direct (a law of the metric itself)")
    s.add_argument("--chance", type=float, default=None,
                   help="random-guess accuracy (default: known for the ladder's ten tasks)")
    s.add_argument("--ceiling", type=float, default=None,
                   help="fixed ceiling of the metric (default: learned)")
    s.add_argument("--checkpoints", default="final",
                   help="'final' (default) or K: average the last K checkpoints of each run "
                   "(with --dataset olmo_ladder_curves)")
    s.add_argument("--hold-out", action="append", default=[], metavar="COLUMN=VALUE",
                   help="do not fit the rows where COLUMN equals VALUE (repeatable, all must "
                   "match); predict and draw them, e.g. --hold-out size=1B")
    s.add_argument("--N", type=float, nargs="+", help="model sizes to predict at (with --D)")
    s.add_argument("--D", type=float, nargs="+", help="token counts to predict at (with --N)")
    s.add_argument("--threshold", type=float, default=None,
                   help="also report P(metric > THRESHOLD)")
    s.add_argument("--target-accept", type=float, default=0.95)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--chains", type=int, default=4)
    s.add_argument("--warmup", type=int, default=1000)
    s.add_argument("--draws", type=int, default=1000)
    s.add_argument("--keep-excluded", action="store_true", help=argparse.SUPPRESS)
    s.add_argument("--out", help="output directory (default scaling_bayes_out/NAME_downstream_"
                   "METRIC)")
    s.add_argument("--no-plots", action="store_true")
    s.set_defaults(func=_cmd_downstream)
