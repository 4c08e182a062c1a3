"""``scaling-bayes`` command line: fit, datasets, laws (and allocate/predict/plot when present).

Every user error prints one line, ``scaling-bayes: error: ...``, on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

EXIT_USAGE = 2


class UsageError(ValueError):
    """A command-line argument is wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one readable line, exit 2 (argparse prints usage too)
        raise UsageError(message)


def _enable_cache() -> None:
    """Persist compiled and exported programs across processes (see :mod:`scaling_bayes.inference.aot`)."""
    from scaling_bayes.inference.aot import enable_cache

    enable_cache()


def print_diagnostics(problems, title: str = "diagnostics:") -> None:
    """A fit's diagnostic problems as one block on stderr: ``WARNING: <title>``, then one
    indented line per kind of problem and the advice (:func:`scaling_bayes.posterior.diagnostics.block`);
    nothing when ``problems`` is empty."""
    from scaling_bayes.posterior.diagnostics import block

    text = block(problems, title=title)
    if text:
        print(f"WARNING: {text}", file=sys.stderr)


@contextlib.contextmanager
def print_warnings():
    """Print library warnings (bad units, a collinear design, ...) as one ``warning:`` line each
    on stderr the moment they are issued -- before sampling, not after it -- each text once.
    Diagnostics are not warned here (the commands print them as a block after the fit)."""
    import warnings

    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def _stem(path: str) -> str:
    """File name without its CSV and compression suffixes (``my.csv.gz`` -> ``my``)."""
    name = Path(path).name
    for suffix in (".gz", ".bz2", ".zip", ".xz"):
        name = name.removesuffix(suffix)
    return name.removesuffix(".csv") or Path(path).stem


def _kv(text: str, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise UsageError(f"{what} must look like NAME=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def _cmd_fit(args) -> int:
    import scaling_bayes as sb

    if (args.csv is None) == (args.dataset is None):
        raise UsageError("give either a CSV path or --dataset NAME (not both)")
    if args.dataset is not None:
        data = sb.load_dataset(args.dataset, drop_excluded=not args.keep_excluded)
        name = args.dataset
        dropped = "" if args.keep_excluded else " (rows flagged as excluded by the source dropped)"
        where = f"bundled data set {args.dataset!r}{dropped}"
    else:
        data, name, where = args.csv, _stem(args.csv), args.csv
    priors = dict(_kv(p, "--prior") for p in args.prior)
    columns = dict(_kv(c, "--column") for c in args.column)
    out = Path(args.out) if args.out else Path("scaling_bayes_out") / f"{name}_{args.law}"
    sb.get_law(args.law)  # unknown law: fail before loading anything heavy
    created = _make_out(out)  # fail before a long fit, not after it
    _enable_cache()
    if args.group:
        from scaling_bayes.inference.hierarchical import cli_fit

        return cli_fit(data, columns, priors, args, out, where, created)

    try:
        with print_warnings():
            result = _run_fit(sb, data, columns, priors, args)
    except BaseException:
        for d in created:  # leave no empty output directories behind
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        raise
    written: list[Path] = []
    try:
        return _write_fit_outputs(result, args, out, where, written)
    except KeyboardInterrupt:
        done = ", ".join(p.name for p in written) or "nothing"
        print(f"scaling-bayes: interrupted while writing outputs; complete files: {done}",
              file=sys.stderr)
        return 130


def _make_out(out: Path) -> list[Path]:
    """Create ``out`` (and parents); return the directories created, deepest first."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    created = []
    p = out
    while not p.exists():
        created.append(p)
        p = p.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot create the directory ({e.strerror})") from None
    return created


def _run_fit(sb, data, columns, priors, args):
    return sb.fit(
        data, law=args.law, seed=args.seed, chains=args.chains, warmup=args.warmup,
        draws=args.draws, likelihood=args.likelihood, nu=args.nu, priors=priors or None,
        target_accept=0.9 if args.target_accept is None else args.target_accept,
        columns=columns or None,
        progress=not args.no_progress, warn=False)


def _write_fit_outputs(result, args, out: Path, where: str, written: list) -> int:
    import pandas as pd

    summary = result.summary()
    t = result.meta["timings"]
    print(f"law {result.law.name}: {result.law.formula}")
    print(f"data: {where}, {result.data.n} rows; {result.data.flop_convention}")
    print(f"NUTS: {result.n_chains} chains x {result.n_draws} draws "
          f"(+{result.config.warmup} warmup), {result.config.likelihood} likelihood, "
          f"seed {result.config.seed}; {t['total_s']:.1f} s")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(summary.to_string(float_format=lambda v: f"{v:.5g}"))
    problems = result.check()
    if problems:
        print_diagnostics(problems)
    else:
        print(f"diagnostics: 0 divergences, all r_hat <= 1.01, all ESS >= 400 "
              f"(min bulk ESS {summary['ess_bulk'].min():.0f})")

    from scaling_bayes.posterior import fit as results

    written.append(result.save(out / "fit.nc"))
    written.append(results.atomic_write(out / "summary.csv", lambda tmp: summary.to_csv(tmp)))
    if not args.no_plots:
        try:
            from scaling_bayes.plots import fits as plots
        except ImportError:
            plots = None
        if plots is not None and hasattr(plots, "save_all"):
            written += list(plots.save_all(result, out))
        from scaling_bayes.plots.style import save_figure
        from scaling_bayes.evaluation.checks import plot_predictive_check, posterior_predictive

        fig = plot_predictive_check(posterior_predictive(result, seed=args.seed))
        written += save_figure(fig, out / "posterior_predictive", ("png", "pdf"), close=True)
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def _cmd_sbc(args) -> int:
    from scaling_bayes.laws.base import get_law
    from scaling_bayes.posterior.fit import atomic_write
    from scaling_bayes.evaluation.sbc import plot_sbc, sbc

    get_law(args.law)
    if args.sims < 2:
        raise UsageError(f"--sims must be >= 2, got {args.sims}")
    _enable_cache()
    result = sbc(args.law, n_sims=args.sims, seed=args.seed, warmup=args.warmup,
                 draws=args.draws, thin=args.thin)
    print(f"SBC of law {args.law}: {result.settings['n_used']} simulations, ranks 0..."
          f"{result.n_ranks}; chi-square uniformity test per parameter (reject at p < 0.01)")
    print(result.tests.to_string(float_format=lambda v: f"{v:.4g}"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / f"{args.law}_sbc_tests.csv", lambda tmp: result.tests.to_csv(tmp))
    atomic_write(out / f"{args.law}_sbc_ranks.csv",
                 lambda tmp: result.ranks.to_csv(tmp, index=False))
    plot_sbc(result, out / f"{args.law}_sbc_ecdf.png")
    print(f"wrote: {out}/{args.law}_sbc_tests.csv, _ranks.csv, _ecdf.png")
    return 0 if result.passed else 1


def _cmd_report(args) -> int:
    import scaling_bayes as sb
    from scaling_bayes.report import write_report

    if (args.source is None) == (args.dataset is None):
        raise UsageError("give either a FIT file / CSV path or --dataset NAME (not both)")
    out = Path(args.out)
    created = _make_out(out)
    try:
        if args.source is not None and Path(args.source).suffix == ".nc":
            fit = sb.load_fit(args.source)
        else:
            sb.get_law(args.law)
            _enable_cache()
            data = (sb.load_dataset(args.dataset, drop_excluded=not args.keep_excluded)
                    if args.dataset is not None else args.source)
            fit = sb.fit(data, law=args.law, seed=args.seed, chains=args.chains,
                         warmup=args.warmup, draws=args.draws, progress=not args.no_progress,
                         warn=False)
            fit.save(out / "fit.nc")
        path = write_report(fit, out / "report.html", budgets=args.budgets, seed=args.seed)
    except BaseException:
        for d in created:
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        raise
    print(f"wrote: {path}")
    return 0


def _cmd_datasets(args) -> int:
    import scaling_bayes as sb

    for name, desc in sb.list_datasets().items():
        print(f"{name:<20} {desc}")
    return 0


def _cmd_laws(args) -> int:
    from scaling_bayes.laws.base import _REGISTRY

    for law in _REGISTRY.values():
        print(f"{law.name:<12} {law.formula}")
        print(f"{'':<12} {law.description}; parameters: {', '.join(law.param_names)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from scaling_bayes import __version__

    p = _Parser(prog="scaling-bayes",
                description="Bayesian inference of neural scaling laws (NumPyro NUTS).")
    p.add_argument("--version", action="version", version=f"scaling-bayes {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    f = sub.add_parser("fit", help="fit a law to a CSV or a bundled data set")
    f.add_argument("csv", nargs="?",
                   help="CSV with columns N/params, D/tokens and/or C/flops, loss")
    f.add_argument("--dataset", help="bundled data set (see `scaling-bayes datasets`)")
    f.add_argument("--law", default="chinchilla", help="law name (see `scaling-bayes laws`)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--chains", type=int, default=4)
    f.add_argument("--warmup", type=int, default=1000)
    f.add_argument("--draws", type=int, default=1000, help="kept draws per chain")
    f.add_argument("--likelihood", default="student_t", choices=["student_t", "normal"])
    f.add_argument("--nu", type=float, default=4.0, help="Student-t degrees of freedom")
    f.add_argument("--target-accept", type=float, default=None,
                   help="NUTS target acceptance (default 0.9; 0.99 with --group)")
    f.add_argument("--prior", action="append", default=[], metavar="NAME=DIST",
                   help="override a prior, e.g. --prior 'alpha=LogNormal(loc=-1, scale=0.3)'")
    f.add_argument("--column", action="append", default=[], metavar="STD=COLUMN",
                   help="map a standard column to yours, e.g. --column N=non_emb_params")
    f.add_argument("--keep-excluded", action="store_true",
                   help="with --dataset: keep rows the source excluded (e.g. Epoch's 5 points)")
    f.add_argument("--out", help="output directory (default scaling_bayes_out/NAME_LAW)")
    f.add_argument("--no-progress", action="store_true", help="no progress bar")
    f.add_argument("--no-plots", action="store_true", help="do not write figures")
    f.add_argument("--group", metavar="COLUMN[,COLUMN]",
                   help="hierarchical fit: groups defined by these columns (see README, "
                   "'Hierarchical pooling')")
    f.add_argument("--pool", metavar="SITES",
                   help="with --group: sites pooled partially (default: the law's exponents)")
    f.add_argument("--share", metavar="SITES",
                   help="with --group: sites shared by all groups (complete pooling)")
    f.add_argument("--size-effect", action="store_true",
                   help="with --group: add a per-model-size offset shared across groups")
    f.add_argument("--centered", action="store_true",
                   help="with --group: centred parameterization of the pooled sites (faster "
                   "when the groups differ clearly; default non-centred)")
    f.set_defaults(func=_cmd_fit)

    c = sub.add_parser("sbc", help="simulation-based calibration of a law with its priors")
    c.add_argument("law")
    c.add_argument("--sims", type=int, default=200)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--warmup", type=int, default=300)
    c.add_argument("--draws", type=int, default=300)
    c.add_argument("--thin", type=int, default=6)
    c.add_argument("--out", default="scaling_bayes_out/sbc")
    c.set_defaults(func=_cmd_sbc)

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

    sub.add_parser("datasets", help="list the bundled data sets").set_defaults(func=_cmd_datasets)
    sub.add_parser("laws", help="list the registered laws").set_defaults(func=_cmd_laws)
    try:
        from scaling_bayes.cli import plan as cli_plan
    except ImportError:
        cli_plan = None
    if cli_plan is not None:
        cli_plan.register(sub)
    from scaling_bayes.cli import compare as cli_compare

    cli_compare.register(sub)
    from scaling_bayes.cli import shape as cli_shape

    cli_shape.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``scaling-bayes``; returns the exit code."""
    debug = bool(os.environ.get("SCALING_BAYES_DEBUG"))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("scaling-bayes: interrupted; nothing was written", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as e:
        if debug:
            raise
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"scaling-bayes: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        if debug:
            raise
        where = f": {e.filename!r}" if e.filename else ""
        msg = " ".join(f"{e.strerror or e}{where}".split())
        print(f"scaling-bayes: error: {msg}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # a bug: still one line, with how to get the traceback
        if debug:
            raise
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        print(f"scaling-bayes: internal error: {msg} "
              "(set SCALING_BAYES_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
