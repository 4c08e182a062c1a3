"""Planning subcommands of ``scaling-bayes``: ``allocate``, ``predict``, ``plot``.

``register(subparsers)`` adds them to the main CLI; each handler takes the argparse namespace and
returns an exit code, and raises :class:`~scaling_bayes.cli.common.UsageError` (or the library's
errors, ``FileNotFoundError``) for user errors (the main CLI prints those as one line and exits
with code 2).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scaling_bayes._core import io
from scaling_bayes.cli.common import UsageError, _floats
from scaling_bayes.decisions.allocation import compute_optimal
from scaling_bayes.decisions.forecast import predict
from scaling_bayes.plots import fits as plot_fits
from scaling_bayes.posterior.formats import load_fit


def _write_csv(df, out: str | None) -> Path | None:
    if not out:
        return None
    path = Path(out)
    if path.is_dir():
        raise IsADirectoryError(f"--out {out} is a directory; give a CSV file name")
    return io.atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


def _print(df) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.max_rows", 500, "display.float_format", "{:.4g}".format):
        print(df.to_string(index=False))


def _cmd_allocate(args) -> int:
    fit = load_fit(args.fit)
    res = compute_optimal(fit, args.compute, method=args.method)
    table = res.table
    if res.exponents is not None:
        ex = res.exponents.reset_index()
        ex.insert(0, "C", float("nan"))
        ex["boundary"] = 0.0
        table = pd.concat([table, ex[table.columns]], ignore_index=True)
    _print(table)
    written = _write_csv(table, args.out)
    if written:
        print(f"wrote: {written}")
    return 0


def _cmd_predict(args) -> int:
    fit = load_fit(args.fit)
    if args.compute_optimal:
        if args.params or args.tokens:
            raise UsageError("--compute-optimal takes --compute only (it chooses N and D)")
        df = predict(fit, C=args.compute, compute_optimal=True, seed=args.seed)
    else:
        df = predict(fit, N=args.params, D=args.tokens, C=args.compute, seed=args.seed)
    _print(df)
    written = _write_csv(df, args.out)
    if written:
        print(f"wrote: {written}")
    return 0


def _cmd_plot(args) -> int:
    fit = load_fit(args.fit)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} exists and is not a directory")
    written = plot_fits.save_all(fit, out, formats=tuple(args.format))
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def register(subparsers) -> None:
    """Add ``allocate``, ``predict`` and ``plot`` to the CLI's subparsers."""
    a = subparsers.add_parser(
        "allocate", help="compute-optimal N, D, tokens/param and loss for training budgets",
        description="Posterior of the compute-optimal allocation (C = 6ND) at each budget.")
    a.add_argument("fit", help="fit file written by `scaling-bayes fit` (fit.nc)")
    a.add_argument("--compute", nargs="+", required=True, type=_floats("--compute"),
                   metavar="FLOPS", help="training budget(s) in FLOPs, e.g. 5.76e23 1e24")
    a.add_argument("--method", default="auto", choices=["auto", "closed_form", "numeric"])
    a.add_argument("--out", help="also write the table to this CSV file")
    a.set_defaults(func=_cmd_allocate)

    p = subparsers.add_parser(
        "predict", help="posterior and predictive loss at given N, D (or C)",
        description="Credible interval of the law's mean loss and predictive interval of a new "
                    "run's loss; values of --params/--tokens broadcast against each other.")
    p.add_argument("fit", help="fit file written by `scaling-bayes fit` (fit.nc)")
    p.add_argument("--params", nargs="+", type=_floats("--params"), metavar="N",
                   help="model size(s) in parameters")
    p.add_argument("--tokens", nargs="+", type=_floats("--tokens"), metavar="D",
                   help="training tokens")
    p.add_argument("--compute", nargs="+", type=_floats("--compute"), metavar="FLOPS",
                   help="compute (for laws of C, or with --compute-optimal)")
    p.add_argument("--compute-optimal", action="store_true",
                   help="predict on the compute-optimal frontier at each --compute budget")
    p.add_argument("--seed", type=int, default=0, help="seed of the predictive noise draws")
    p.add_argument("--out", help="also write the table to this CSV file")
    p.set_defaults(func=_cmd_predict)

    g = subparsers.add_parser("plot", help="write the standard figures (PNG and PDF)")
    g.add_argument("fit", help="fit file written by `scaling-bayes fit` (fit.nc)")
    g.add_argument("--out", required=True, help="output directory")
    g.add_argument("--format", nargs="+", default=["png", "pdf"], choices=["png", "pdf", "svg"])
    g.set_defaults(func=_cmd_plot)
