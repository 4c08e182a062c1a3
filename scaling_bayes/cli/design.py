"""``scaling-bayes design FIT --budget 1e21 --target-compute 1e24``: which runs to train next.

Prints the target and its posterior sd now, the candidates ranked by expected sd reduction per
FLOP (:func:`scaling_bayes.design.next_runs`), the greedy batch within the budget and, in plain
words, which parameters are poorly identified and which run would fix each
(:func:`scaling_bayes.design.identifiability`). ``--plot`` writes the (N, D) figure
(:func:`scaling_bayes.plots.design.plot_design`), ``--out`` the ranked table as CSV.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from scaling_bayes._core import io
from scaling_bayes.cli.common import UsageError, _floats
from scaling_bayes.data.observations import read_table
from scaling_bayes.decisions.design import METHODS, identifiability, next_runs
from scaling_bayes.plots.design import plot_design
from scaling_bayes.plots.style import save_figure
from scaling_bayes.posterior.formats import load_fit

_COLUMNS = ["N", "D", "tokens_per_param", "cost", "sd_after", "reduction",
            "reduction_per_flop", "batch_order"]


def _print(df) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 40,
                           "display.float_format", "{:.4g}".format):
        print(df.to_string(index=False))


def _target(args):
    planned = args.target_params is not None or args.target_tokens is not None
    if planned and args.target_compute is not None:
        raise UsageError("give either --target-compute or --target-params/--target-tokens, "
                         "not both")
    if planned:
        if args.target_params is None or args.target_tokens is None:
            raise UsageError("a planned-run target needs both --target-params and "
                             "--target-tokens")
        return {"N": args.target_params, "D": args.target_tokens}
    if args.target_compute is None:
        raise UsageError("say what you will decide with: --target-compute C (compute-optimal "
                         "N at C FLOPs) or --target-params N --target-tokens D (a planned run)")
    return {"compute": args.target_compute, "quantity": args.target_quantity}


def _candidates(path: str | None):
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--candidates file not found: {path}")
    return read_table(p)


def _cmd_design(args) -> int:
    fit = load_fit(args.fit)
    target = _target(args)
    cand = _candidates(args.candidates)
    res = next_runs(fit, cand, budget=args.budget, target=target, cost=args.cost_column,
                    method=args.method, max_runs=args.max_runs, seed=args.seed)
    print(res.describe())
    for note in res.notes:
        print(f"note: {note}")
    cols = [c for c in (*_COLUMNS, "ess") if c in res.table.columns]
    print(f"\ncandidates ranked by value per FLOP (top {min(args.top, len(res.table))} of "
          f"{len(res.table)}; sd = posterior sd of the log target, i.e. relative):")
    _print(res.table[cols].head(args.top))
    print("\nbatch (greedy within the budget, each run valued given the earlier ones):")
    if len(res.batch):
        _print(res.batch.reset_index())
    else:
        print("(no candidate fits the budget or none is expected to help)")
    ident = identifiability(fit, cand, budget=args.budget)
    print("\nidentifiability:")
    for m in ident.messages:
        print(f"- {m}")
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise IsADirectoryError(f"--out {out} is a directory; give a CSV file name")
        io.atomic_write(out, lambda tmp: res.table.to_csv(tmp, index=False))
        print(f"wrote: {out}")
    if args.plot:
        fig = plot_design(res)
        written = save_figure(fig, args.plot, close=True)
        print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def register(subparsers) -> None:
    """Add ``design`` to the CLI's subparsers."""
    d = subparsers.add_parser(
        "design", help="which runs to train next: candidates ranked by value per FLOP",
        description="Bayesian design of the next runs: each candidate (N, D) is valued by the "
                    "expected drop of the target's posterior sd per FLOP (preposterior "
                    "analysis on the fit's draws); a greedy batch fills --budget.")
    d.add_argument("fit", help="fit file written by `scaling-bayes fit` (fit.nc)")
    d.add_argument("--budget", required=True, type=_floats("--budget"), metavar="FLOPS",
                   help="FLOPs available for the next runs, e.g. 1e21")
    d.add_argument("--target-compute", type=_floats("--target-compute"), metavar="FLOPS",
                   help="the budget C* of the run you will decide on, e.g. 1e24")
    d.add_argument("--target-quantity", default="N_opt",
                   choices=["N_opt", "D_opt", "tokens_per_param", "loss_opt"],
                   help="what is decided at C* (default N_opt)")
    d.add_argument("--target-params", nargs="+", type=_floats("--target-params"), metavar="N",
                   help="planned run(s): model size (the target is their loss)")
    d.add_argument("--target-tokens", nargs="+", type=_floats("--target-tokens"), metavar="D",
                   help="planned run(s): training tokens")
    d.add_argument("--candidates", metavar="CSV",
                   help="candidate runs (columns N, D; optionally a cost column); default: a "
                        "grid spanning the data toward the budget")
    d.add_argument("--cost-column", help="column of --candidates with each run's FLOPs "
                                         "(default 6 N D)")
    d.add_argument("--method", default="linear", choices=list(METHODS),
                   help="preposterior approximation (default linear)")
    d.add_argument("--max-runs", type=int, default=50, help="most runs in the batch")
    d.add_argument("--top", type=int, default=15, help="rows of the ranked table printed")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", help="also write the ranked table to this CSV file")
    d.add_argument("--plot", metavar="PATH",
                   help="write the (N, D) figure (PATH.png/.pdf, or both without a suffix)")
    d.set_defaults(func=_cmd_design)
