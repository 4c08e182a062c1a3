"""``scaling-bayes fit-curves`` and ``scaling-bayes forecast-run``: whole training curves.

``fit-curves`` fits a schedule-aware law (:func:`scaling_bayes.fit_curves`) to long-format
checkpoints (run, N, step, lr, loss) and writes ``curves.nc`` and ``summary.csv``;
``forecast-run`` reads that file and forecasts the loss along planned runs
(:func:`scaling_bayes.forecast_run`), each ``--schedule`` given as ``KIND:key=value,...``
(``cosine:steps=16000,peak=5e-4,warmup=1000``); several schedules are compared on the same
draws. User errors raise :class:`~scaling_bayes.cli.common.UsageError` (one line, exit 2).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_bayes._core import io
from scaling_bayes.cli.common import (
    UsageError,
    _data,
    _make_out,
    _outdir,
    _print,
    _print_caught,
    _remove_empty,
    _sampler,
    _write,
    enable_cache,
)
from scaling_bayes.cli.shape import select_rows
from scaling_bayes.data import schedules
from scaling_bayes.data.observations import read_table
from scaling_bayes.decisions.curves import ScheduleComparison, forecast_run
from scaling_bayes.inference.curves import fit_curves
from scaling_bayes.posterior.curves import CurveFit
from scaling_bayes.posterior.formats import load_fit

_KINDS = {"cosine": schedules.cosine, "wsd": schedules.wsd, "constant": schedules.constant}
_INT_KEYS = {"steps", "warmup", "decay_start"}


def parse_schedule(text: str) -> tuple[str, np.ndarray]:
    """``"cosine:steps=16000,peak=5e-4,warmup=1000"`` -> ``(label, lr)``; an optional
    ``name=`` key labels it (default: the text before any ``name``)."""
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    if kind not in _KINDS:
        raise UsageError(f"--schedule {text!r}: the kind must be one of {', '.join(_KINDS)} "
                         "(e.g. cosine:steps=16000,peak=5e-4,warmup=1000)")
    kw, label = {}, None
    for item in filter(None, (s.strip() for s in rest.split(","))):
        k, sep, v = item.partition("=")
        if not sep:
            raise UsageError(f"--schedule {text!r}: expected key=value, got {item!r}")
        k = k.strip()
        if k == "name":
            label = v.strip()
            continue
        try:
            kw[k] = int(float(v)) if k in _INT_KEYS else (v.strip() if k == "shape" else float(v))
        except ValueError:
            raise UsageError(f"--schedule {text!r}: {k}={v!r} is not a number") from None
    if "steps" not in kw or "peak" not in kw:
        raise UsageError(f"--schedule {text!r}: give steps=... and peak=... (the peak rate)")
    steps, peak = kw.pop("steps"), kw.pop("peak")
    try:
        lr = _KINDS[kind](steps, peak, **kw)
    except TypeError as e:
        raise UsageError(f"--schedule {text!r}: {e}") from None
    return label or text, lr


def _cmd_fit_curves(args) -> int:
    _sampler(args)
    data, name, where = _data(args)
    frame = data if isinstance(data, pd.DataFrame) else read_table(data)
    if args.where:
        frame = select_rows(frame, args.where)
        where += f" where {' and '.join(args.where)}"
    for item in args.drop:
        col, _, value = item.partition("=")
        if col not in frame.columns:
            raise UsageError(f"--drop: no column {col!r}; columns are: "
                             f"{', '.join(map(str, frame.columns))}")
        frame = frame[frame[col].astype(str) != value]
        where += f" without {col}={value}"
    out = _outdir(args, f"{name}_curves")
    enable_cache()
    print(f"fitting {args.law} to training curves ...", file=sys.stderr, flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_curves(frame, law=args.law, run=args.run, noise=args.noise, seed=args.seed,
                         chains=args.chains, warmup=args.warmup, draws=args.draws,
                         thin=args.thin, warn=False, progress=not args.no_progress)
    _print_caught(caught)
    created = _make_out(out)
    try:
        fit.save(out / "curves.nc")
        summ = fit.summary()
        _write(out, "summary.csv", summ)
    except BaseException:
        _remove_empty(created)
        raise
    d = fit.data
    print(f"data: {where}, {len(d.runs)} runs, {d.n} of {len(d.table)} checkpoints in the "
          f"likelihood (step >= {d.warmup_factor:g} x warmup{', thin ' + str(d.thin) if d.thin > 1 else ''})")
    print(f"NUTS {args.chains} chains x {args.draws} draws (+{args.warmup} warmup), seed "
          f"{args.seed}, noise {fit.noise}, {fit.meta['timings']['total_s']:.1f} s")
    _print(summ[["mean", "sd", "q5", "q50", "q95", "ess_bulk", "r_hat"]])
    problems = fit.check()
    for line in problems:
        print(f"diagnostics: {line}")
    print(f"wrote {out / 'curves.nc'} and {out / 'summary.csv'}")
    return 0


def _cmd_forecast_run(args) -> int:
    path = Path(args.fit)
    fit = load_fit(path)
    if not isinstance(fit, CurveFit):
        raise UsageError(f"{path} holds {fit.what}, not a curve fit (scaling-bayes fit-curves)")
    lrs = dict(parse_schedule(s) for s in args.schedule)
    if not lrs and args.run is None:
        raise UsageError("give --schedule KIND:steps=...,peak=... (or --run RUN of the fit)")
    lr = None if not lrs else (lrs if len(lrs) > 1 else next(iter(lrs.values())))
    res = forecast_run(fit, N=args.N, tokens=args.tokens, lr=lr, run=args.run,
                       level=args.level, seed=args.seed)
    who = f"run {args.run!r}" if args.run else f"N = {args.N:.4g}"
    print(f"forecast for {who}, {args.level:.0%} bands (credible: expected loss; predictive: "
          "a run's logged loss)")
    if isinstance(res, ScheduleComparison):
        _print(res.table)
        table = pd.concat({k: f.table for k, f in res.forecasts.items()}, names=["schedule"])
    else:
        _print(res.table.iloc[[-1]].set_index("step"))
        table = res.table
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        io.atomic_write(out, lambda tmp: table.to_csv(tmp))
        print(f"wrote {out}")
    return 0


def register(sub) -> None:
    """Add ``fit-curves`` and ``forecast-run`` to the CLI's subparsers."""
    s = sub.add_parser("fit-curves", help="fit a learning-rate-schedule-aware law to every "
                       "checkpoint of a ladder of runs (correlated curve likelihood)")
    s.add_argument("csv", nargs="?", help="CSV: one row per checkpoint with run, N, step, lr, "
                   "loss (optionally D or batch_tokens)")
    s.add_argument("--dataset", help="bundled data set, e.g. olmo_ladder_curves")
    s.add_argument("--keep-excluded", action="store_true", help=argparse.SUPPRESS)
    s.add_argument("--law", default="lr_annealing", help="schedule-aware law (lr_annealing)")
    s.add_argument("--run", default="run", help="the run-id column (default run)")
    s.add_argument("--noise", default="ar1", choices=("ar1", "ar1_run", "iid"),
                   help="curve likelihood: AR(1) residuals in log-step (default), plus a run "
                   "effect, or independent (naive)")
    s.add_argument("--thin", type=int, default=1, help="keep every k-th checkpoint per run")
    s.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="keep only rows where COLUMN equals VALUE (repeatable)")
    s.add_argument("--drop", action="append", default=[], metavar="COLUMN=VALUE",
                   help="drop rows where COLUMN equals VALUE (repeatable), e.g. --drop size=1B")
    s.add_argument("--chains", type=int, default=4)
    s.add_argument("--warmup", type=int, default=1000)
    s.add_argument("--draws", type=int, default=1000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", help="output directory (default scaling_bayes_out/<data>_curves)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_fit_curves)

    f = sub.add_parser("forecast-run", help="forecast the loss along a planned run (or the rest "
                       "of a run of the fit) from a curve fit; compare schedules")
    f.add_argument("fit", help="curves.nc written by fit-curves")
    f.add_argument("--schedule", action="append", default=[], metavar="KIND:key=value,...",
                   help="cosine|wsd|constant with steps=, peak=, warmup=, final=, decay_start= "
                   "(wsd), name= (a label); repeat to compare schedules")
    f.add_argument("--N", type=float, help="model size in parameters (default: that of --run)")
    f.add_argument("--run", help="continue this run of the fit (a run in progress)")
    f.add_argument("--tokens", type=float, help="planned total tokens (for the tokens column)")
    f.add_argument("--level", type=float, default=0.9, help="band mass (default 0.9)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--out", help="write the forecast table to this CSV")
    f.set_defaults(func=_cmd_forecast_run)
