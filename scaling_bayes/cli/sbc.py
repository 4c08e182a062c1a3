"""``scaling-bayes sbc``: simulation-based calibration of a law with its priors.

``register(subparsers)`` adds the command to the main CLI. Exit code 0 when every parameter's
ranks pass the uniformity test, 1 otherwise.
"""

from __future__ import annotations

from pathlib import Path

from scaling_bayes._core import io
from scaling_bayes.cli.common import UsageError, enable_cache
from scaling_bayes.evaluation.sbc import sbc
from scaling_bayes.laws import get_law
from scaling_bayes.plots.sbc import plot_sbc


def _cmd_sbc(args) -> int:
    get_law(args.law)
    if args.sims < 2:
        raise UsageError(f"--sims must be >= 2, got {args.sims}")
    enable_cache()
    result = sbc(args.law, n_sims=args.sims, seed=args.seed, warmup=args.warmup,
                 draws=args.draws, thin=args.thin)
    print(f"SBC of law {args.law}: {result.settings['n_used']} simulations, ranks 0..."
          f"{result.n_ranks}; chi-square uniformity test per parameter (reject at p < 0.01)")
    print(result.tests.to_string(float_format=lambda v: f"{v:.4g}"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    io.atomic_write(out / f"{args.law}_sbc_tests.csv", lambda tmp: result.tests.to_csv(tmp))
    io.atomic_write(out / f"{args.law}_sbc_ranks.csv",
                    lambda tmp: result.ranks.to_csv(tmp, index=False))
    plot_sbc(result, out / f"{args.law}_sbc_ecdf.png")
    print(f"wrote: {out}/{args.law}_sbc_tests.csv, _ranks.csv, _ecdf.png")
    return 0 if result.passed else 1


def register(sub) -> None:
    """Add ``sbc`` to the CLI's subparsers."""
    c = sub.add_parser("sbc", help="simulation-based calibration of a law with its priors")
    c.add_argument("law")
    c.add_argument("--sims", type=int, default=200)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--warmup", type=int, default=300)
    c.add_argument("--draws", type=int, default=300)
    c.add_argument("--thin", type=int, default=6)
    c.add_argument("--out", default="scaling_bayes_out/sbc")
    c.set_defaults(func=_cmd_sbc)
