"""``scaling-bayes report``: one self-contained HTML report of a fit (or of data, fitted first).

``register(subparsers)`` adds the command to the main CLI.
"""

from __future__ import annotations

from pathlib import Path

from scaling_bayes.cli.common import UsageError, _make_out, _remove_empty, enable_cache
from scaling_bayes.data.datasets import load_dataset
from scaling_bayes.inference import fit as inference_fit
from scaling_bayes.laws import get_law
from scaling_bayes.posterior.formats import load_fit
from scaling_bayes.report import write_report


def _cmd_report(args) -> int:
    if (args.source is None) == (args.dataset is None):
        raise UsageError("give either a FIT file / CSV path or --dataset NAME (not both)")
    out = Path(args.out)
    created = _make_out(out)
    try:
        if args.source is not None and Path(args.source).suffix == ".nc":
            fit = load_fit(args.source)
        else:
            get_law(args.law)
            enable_cache()
            data = (load_dataset(args.dataset, drop_excluded=not args.keep_excluded)
                    if args.dataset is not None else args.source)
            fit = inference_fit.fit(data, law=args.law, seed=args.seed, chains=args.chains,
                                    warmup=args.warmup, draws=args.draws,
                                    progress=not args.no_progress, warn=False)
            fit.save(out / "fit.nc")
        path = write_report(fit, out / "report.html", budgets=args.budgets, seed=args.seed)
    except BaseException:
        _remove_empty(created)
        raise
    print(f"wrote: {path}")
    return 0


def register(sub) -> None:
    """Add ``report`` to the CLI's subparsers."""
    r = sub.add_parser("report", help="one self-contained HTML report of a fit (or of data)")
    r.add_argument("source", nargs="?", help="a fit file (.nc) or a CSV to fit first")
    r.add_argument("--dataset", help="bundled data set to fit first")
    r.add_argument("--law", default="chinchilla")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--chains", type=int, default=4)
    r.add_argument("--warmup", type=int, default=1000)
    r.add_argument("--draws", type=int, default=1000)
    r.add_argument("--keep-excluded", action="store_true")
    r.add_argument("--budgets", type=float, nargs="+", default=[5.76e23, 1e24, 1e26],
                   help="training budgets (FLOPs) for the allocation table")
    r.add_argument("--out", default="scaling_bayes_out/report")
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(func=_cmd_report)
