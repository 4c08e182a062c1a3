"""``scaling-bayes shape``: does architecture shape matter? A law with and without a shape term.

``register(subparsers)`` adds the command to the main CLI. User errors raise
:class:`~scaling_bayes.cli.common.UsageError` (or the library's errors, ``FileNotFoundError``):
printed as one line, exit 2. Files are written atomically.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

from scaling_bayes.cli.common import (
    UsageError,
    _data,
    _outdir,
    _print,
    _print_caught,
    _sampler,
    _save_fig,
    _write,
    enable_cache,
    print_diagnostics,
)
from scaling_bayes.cli.common import _kv as _std_kv
from scaling_bayes.data.observations import load_data, read_table
from scaling_bayes.decisions.shape import shape_range
from scaling_bayes.evaluation.shape_study import shape_analysis, shape_cv
from scaling_bayes.laws import shape_pair
from scaling_bayes.plots.shape import plot_shape


def _column_value(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"{flag} expects COLUMN=VALUE, got {text!r}")
    return key.strip(), value.strip()


def select_rows(frame, where: list[str]):
    """Rows of ``frame`` whose columns equal the given values (``["phase=after_cooldown"]``).

    Numeric columns compare as numbers, others as text. Raises :class:`UsageError` naming an
    unknown column, or when no row is left.
    """
    out = frame
    for item in where:
        col, value = _column_value(item, "--where")
        if col not in out.columns:
            raise UsageError(
                f"--where: no column {col!r}; columns are: {', '.join(map(str, out.columns))}"
            )
        s = out[col]
        if s.dtype.kind in "biuf":
            try:
                target = float(value)
            except ValueError:
                raise UsageError(
                    f"--where: column {col!r} is numeric, {value!r} is not a number"
                ) from None
            keep = np.isclose(s.to_numpy(float), target, rtol=1e-12, atol=0)
        else:
            keep = (s.astype(str).str.strip() == value).to_numpy()
        if not keep.any():
            seen = ", ".join(map(str, s.astype(str).unique()[:6]))
            raise UsageError(f"--where {col}={value}: no row matches; {col!r} holds e.g. {seen}")
        out = out[keep]
    return out.reset_index(drop=True)


def _cmd_shape(args) -> int:
    _sampler(args)
    data, name, where = _data(args)
    out = _outdir(args, f"{name}_shape")
    columns = dict(_std_kv(c, "--column") for c in args.column)
    base, _ = shape_pair(args.law)  # a law without a shape variant: fail before fitting
    if not 0 < args.tolerance < 1:
        raise UsageError(f"--tolerance must lie in (0, 1), got {args.tolerance}")
    if args.where:
        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
        data = select_rows(frame, args.where)
        data.attrs = dict(frame.attrs)
        where += f" where {' and '.join(args.where)}"
    sd = load_data(data, columns=columns or None)
    sd.get("aspect")
    budgets = args.budgets
    enable_cache()
    print(f"fitting {base.name} and {base.name}_shape ...", file=sys.stderr, flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = shape_analysis(
            sd,
            base.name,
            seed=args.seed,
            chains=args.chains,
            warmup=args.warmup,
            draws=args.draws,
            target_accept=args.target_accept,
            warn=False,
            progress=not args.no_progress,
        )
        rng = shape_range(res.with_shape, budgets, tolerance=args.tolerance)
    _print_caught(caught)
    r = sd.get("aspect")
    print(
        f"data: {where}, {sd.n} rows, aspect ratios {r.min():.3g}-{r.max():.3g} "
        f"({len(set(r.round(9)))} distinct); N = {sd.columns_used.get('N', 'N')}"
    )
    print(
        f"NUTS {args.chains} chains x {args.draws} draws (+{args.warmup} warmup), seed {args.seed}"
    )
    print(res.text())
    print(
        f"aspect ratios within {args.tolerance:.1%} of the best loss (posterior probability "
        f">= 0.5) for the compute-optimal model at each budget; shapes from "
        f"{rng.attrs['param_count']}:"
    )
    _print(rng)
    cv = None
    if args.cv:
        print(
            "leave-one-shape-out cross-validation (refits both laws without each shape) ...",
            file=sys.stderr,
            flush=True,
        )
        cv = shape_cv(
            sd, base.name, seed=args.seed, chains=args.chains, target_accept=args.target_accept
        )
        print(
            "leave-one-shape-out cross-validation (held-out log predictive density of "
            f"the runs of each unseen shape; {int(cv['n_folds'].iloc[0])} folds):"
        )
        _print(cv)
    for f in (res.without, res.with_shape):
        print_diagnostics(f.check(), title=f"{f.law.name} diagnostics:")
    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write(out, "shape_comparison.csv", res.comparison),
        _write(out, "shape_parameters.csv", res.parameters),
        _write(out, "shape_effect.csv", res.effect),
        _write(out, "shape_range.csv", rng),
        res.without.save(out / f"fit_{res.without.law.name}.nc"),
        res.with_shape.save(out / f"fit_{res.with_shape.law.name}.nc"),
    ]
    if cv is not None:
        written += [
            _write(out, "shape_cv.csv", cv),
            _write(out, "shape_cv_per_fold.csv", cv.attrs["per_fold"]),
        ]
    if not args.no_plots:
        written += _save_fig(plot_shape(res.without, res.with_shape), out / "shape.png")
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def register(sub) -> None:
    """Add ``shape`` to the CLI's subparsers."""
    s = sub.add_parser(
        "shape",
        help="does architecture shape (aspect ratio d_model/n_layers) matter? fit a law with "
        "and without a shape term and compare them",
    )
    s.add_argument("csv", nargs="?", help="CSV with N, D (or C), loss and width/depth or aspect")
    s.add_argument("--dataset", help="bundled data set, e.g. gemstones2025")
    s.add_argument("--law", default="chinchilla", help="base law: chinchilla or kaplan")
    s.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="keep only rows where COLUMN equals VALUE (repeatable), e.g. "
        "--where phase=after_cooldown",
    )
    s.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="STD=COLUMN",
        help="use COLUMN as N, D, C or loss, e.g. --column N=N_nonembedding",
    )
    s.add_argument(
        "--budgets",
        type=float,
        nargs="+",
        default=[1e21, 1e23],
        help="training budgets (FLOPs) for the recommended shape range",
    )
    s.add_argument(
        "--tolerance",
        type=float,
        default=0.01,
        help="loss tolerance for the recommended shape range (default 0.01 = 1%%)",
    )
    s.add_argument(
        "--target-accept",
        type=float,
        default=0.9,
        help="NUTS target acceptance (raise to 0.95-0.99 after divergences)",
    )
    s.add_argument(
        "--cv",
        action="store_true",
        help="also run leave-one-shape-out cross-validation (one refit per shape, "
        "all folds vmapped; 500 warmup + 500 draws per chain)",
    )
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--chains", type=int, default=4)
    s.add_argument("--warmup", type=int, default=1000)
    s.add_argument("--draws", type=int, default=1000)
    s.add_argument(
        "--keep-excluded",
        action="store_true",
        help="keep rows the bundled data set flags as excluded",
    )
    s.add_argument("--out", help="output directory (default scaling_bayes_out/NAME_shape)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--no-plots", action="store_true")
    s.set_defaults(func=_cmd_shape)
