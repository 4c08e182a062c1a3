"""``scaling-bayes fit``: fit a law to a CSV or a bundled data set (``--group``: a hierarchical
fit), print the posterior summary and diagnostics, write ``fit.nc``, ``summary.csv`` and the
figures.

``register(subparsers)`` adds the command to the main CLI.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pandas as pd

from scaling_bayes._core import io
from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes.cli.common import (
    UsageError,
    _kv,
    _make_out,
    _remove_empty,
    _stem,
    enable_cache,
    print_diagnostics,
    print_warnings,
)
from scaling_bayes.data.datasets import load_dataset
from scaling_bayes.evaluation.checks import posterior_predictive
from scaling_bayes.evaluation.prior_sensitivity import format_sensitivity, prior_sensitivity
from scaling_bayes.inference import fit as inference_fit
from scaling_bayes.inference.hierarchical import fit_hierarchical
from scaling_bayes.laws import get_law
from scaling_bayes.model.literature import literature
from scaling_bayes.plots import fits as plot_fits
from scaling_bayes.plots.checks import plot_predictive_check
from scaling_bayes.plots.style import save_figure, warm_up
from scaling_bayes.posterior.contraction import is_few_runs, prior_dominated_message
from scaling_bayes.posterior.hierarchical import POPULATION


def _cmd_fit(args) -> int:
    if (args.csv is None) == (args.dataset is None):
        raise UsageError("give either a CSV path or --dataset NAME (not both)")
    if args.dataset is not None:
        data = load_dataset(args.dataset, drop_excluded=not args.keep_excluded)
        name = args.dataset
        dropped = "" if args.keep_excluded else " (rows flagged as excluded by the source dropped)"
        where = f"bundled data set {args.dataset!r}{dropped}"
    else:
        data, name, where = args.csv, _stem(args.csv), args.csv
    priors = dict(_kv(p, "--prior") for p in args.prior)
    columns = dict(_kv(c, "--column") for c in args.column)
    out = Path(args.out) if args.out else Path("scaling_bayes_out") / f"{name}_{args.law}"
    get_law(args.law)  # unknown law: fail before loading anything heavy
    created = _make_out(out)  # fail before a long fit, not after it
    enable_cache()
    if not args.no_plots and not args.group:
        # matplotlib, its PDF writer and the fonts load in a second thread while the fit runs
        # (its time goes to XLA, which releases the GIL): ~1 s less before the first figure
        threading.Thread(target=_quiet(warm_up), name="scaling_bayes-plots-warm-up",
                         daemon=True).start()
    if args.group:
        if getattr(args, "priors", "default") != "default":
            raise UsageError("--priors literature is for single fits, not with --group")
        return _fit_hierarchical(data, columns, priors, args, out, where, created)

    lit = None
    if getattr(args, "priors", "default") == "literature":
        if priors:
            raise UsageError("--priors literature sets every prior; do not also give --prior")
        exclude = list(args.exclude_prior or [])
        if args.dataset is not None and args.dataset not in exclude:
            exclude.append(args.dataset)  # a data set is never inside its own prior
        lit = literature(args.law, exclude or None)
        priors = lit
    try:
        with print_warnings():
            result = _run_fit(data, columns, priors, args)
            sens = _sensitivity(result, data, columns, lit, args)
    except BaseException:
        _remove_empty(created)  # leave no empty output directories behind
        raise
    written: list[Path] = []
    try:
        return _write_fit_outputs(result, args, out, where, written, lit=lit, sens=sens)
    except KeyboardInterrupt:
        done = ", ".join(p.name for p in written) or "nothing"
        print(f"scaling-bayes: interrupted while writing outputs; complete files: {done}",
              file=sys.stderr)
        return 130


def _sensitivity(result, data, columns, lit, args):
    """The prior-sensitivity table (default vs literature priors), when the fit used the
    literature prior or has fewer runs than free parameters (``None`` otherwise, with
    ``--no-sensitivity``, or for laws without a literature prior)."""
    if args.no_sensitivity or not (lit is not None or is_few_runs(result)):
        return None
    if lit is None:
        try:
            lit = literature(args.law, [args.dataset] if args.dataset else None)
        except ScalingBayesError:
            return None  # no literature prior for this law: nothing to compare with
        other = {"default": result, "literature": _run_fit(data, columns, lit, args)}
    else:
        other = {"default": _run_fit(data, columns, {}, args), "literature": result}
    at = None
    if args.forecast:
        kv = dict(_kv(p.strip(), "--forecast") for p in args.forecast.split(","))
        try:
            at = {"N": float(kv["N"]), "D": float(kv["D"])}
        except (KeyError, ValueError):
            raise UsageError("--forecast: give N=NUMBER,D=NUMBER, e.g. --forecast "
                             "N=7e9,D=1.4e11") from None
    return prior_sensitivity(result.data, args.law, at=at, budget=args.budget, fits=other,
                             seed=args.seed)


def _quiet(fn):
    """``fn`` with any exception swallowed (a warm-up that fails only loses its head start)."""

    def run():
        try:
            fn()
        except Exception:
            pass

    return run


def _run_fit(data, columns, priors, args):
    return inference_fit.fit(
        data, law=args.law, seed=args.seed, chains=args.chains, warmup=args.warmup,
        draws=args.draws, likelihood=args.likelihood, nu=args.nu, priors=priors or None,
        target_accept=0.9 if args.target_accept is None else args.target_accept,
        columns=columns or None, extrapolation=getattr(args, "extrapolation", None),
        progress=not args.no_progress, warn=False)


def _write_fit_outputs(result, args, out: Path, where: str, written: list, lit=None,
                       sens=None) -> int:
    summary = result.summary()
    t = result.meta["timings"]
    print(f"law {result.law.name}: {result.law.formula}")
    print(f"data: {where}, {result.data.n} rows; {result.data.flop_convention}")
    print(f"NUTS: {result.n_chains} chains x {result.n_draws} draws "
          f"(+{result.config.warmup} warmup), {result.config.likelihood} likelihood, "
          f"seed {result.config.seed}; {t['total_s']:.1f} s")
    if lit is not None:
        print("priors: " + lit.describe())
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(summary.to_string(float_format=lambda v: f"{v:.5g}"))
    few = prior_dominated_message(result)
    if few:
        print(few)
    problems = result.check()
    if problems:
        print_diagnostics(problems)
    else:
        print(f"diagnostics: 0 divergences, all r_hat <= 1.01, all ESS >= 400 "
              f"(min bulk ESS {summary['ess_bulk'].min():.0f})")
    if result.extrapolation is not None:
        print("extrapolation: " + result.extrapolation.describe())
    if sens is not None:
        print("prior sensitivity (posterior median [90% interval]; forecast: a new run's "
              "loss):")
        print(format_sensitivity(sens))

    written.append(result.save(out / "fit.nc"))
    written.append(io.atomic_write(out / "summary.csv", lambda tmp: summary.to_csv(tmp)))
    if not args.no_plots:
        written += list(plot_fits.save_all(result, out))
        fig = plot_predictive_check(posterior_predictive(result, seed=args.seed))
        written += save_figure(fig, out / "posterior_predictive", ("png", "pdf"), close=True)
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


# ----------------------------------------------------------------------------- --group
def _names(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def _fit_hierarchical(data, columns, priors, args, out: Path, where: str, created) -> int:
    """``scaling-bayes fit ... --group COLUMN``: fit, print the population and per-group
    tables and diagnostics, write ``fit.nc`` (a hierarchical fit) and ``summary.csv``."""
    if not (args.pool or args.share):
        pool = None
    else:
        pool = {k: "partial" for k in _names(args.pool)}
        both = [k for k in _names(args.share) if k in pool]
        if both:
            raise UsageError(f"{both[0]!r} is in both --pool and --share")
        pool.update({k: "shared" for k in _names(args.share)})
    try:
        with print_warnings():
            fit = fit_hierarchical(
                data,
                law=args.law,
                group=_names(args.group),
                pool=pool,
                size_effect=args.size_effect,
                centered=args.centered,
                seed=args.seed,
                chains=args.chains,
                warmup=args.warmup,
                draws=args.draws,
                likelihood=args.likelihood,
                nu=args.nu,
                priors=priors or None,
                target_accept=0.99 if args.target_accept is None else args.target_accept,
                columns=columns or None,
                progress=not args.no_progress,
                warn=False,
            )
    except BaseException:
        _remove_empty(created)
        raise
    summary = fit.summary()
    t = fit.meta["timings"]
    print(
        f"law {fit.law.name}: {fit.law.formula}; hierarchical over {fit.group_column!r} "
        f"({len(fit.groups)} groups: {', '.join(fit.groups)})"
    )
    pooled = ", ".join(f"{k} {v}" for k, v in fit.pool.items()) or "none"
    print(
        f"pooling: {pooled}; other sites per group; sigma shared"
        + ("; per-model-size offsets" if fit.size_effect else "")
    )
    print(f"data: {where}, {fit.data.n} rows; {fit.data.flop_convention}")
    print(
        f"NUTS: {fit.n_chains} chains x {fit.n_draws} draws (+{fit.config.warmup} warmup), "
        f"{fit.config.likelihood} likelihood, seed {fit.config.seed}; {t['total_s']:.1f} s"
    )
    with pd.option_context(
        "display.width", 120, "display.max_columns", 20, "display.max_rows", 500
    ):
        fmt = lambda v: f"{v:.5g}"  # noqa: E731
        print("population:")
        print(summary.xs(POPULATION, level="group").to_string(float_format=fmt))
        print("per group:")
        print(fit.summary("group").to_string(float_format=fmt))
    problems = fit.check()
    if problems:
        print_diagnostics(problems)
    else:
        s_all = fit.summary("all")
        print(
            f"diagnostics: 0 divergences, all r_hat <= 1.01, all ESS >= 400 "
            f"(min bulk ESS {s_all['ess_bulk'].min():.0f})"
        )
    written = [
        fit.save(out / "fit.nc"),
        io.atomic_write(out / "summary.csv", lambda tmp: summary.to_csv(tmp)),
    ]
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def register(sub) -> None:
    """Add ``fit`` to the CLI's subparsers."""
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
    f.add_argument("--extrapolation", default="calibrated", choices=["calibrated", "none"],
                   help="calibrated (default): forecasts beyond the data carry the structural "
                        "error learned from within-data backtests; none: parameter and noise "
                        "uncertainty only")
    f.add_argument("--target-accept", type=float, default=None,
                   help="NUTS target acceptance (default 0.9; 0.99 with --group)")
    f.add_argument("--prior", action="append", default=[], metavar="NAME=DIST",
                   help="override a prior, e.g. --prior 'alpha=LogNormal(loc=-1, scale=0.3)'")
    f.add_argument("--priors", default="default", choices=["default", "literature"],
                   help="default: the documented weakly informative priors; literature: "
                        "learned from the bundled published sweeps (sb.priors.literature; "
                        "with --dataset that data set is left out)")
    f.add_argument("--exclude-prior", action="append", default=[], metavar="DATASET",
                   help="with --priors literature: leave this bundled data set out of the prior")
    f.add_argument("--forecast", metavar="N=...,D=...",
                   help="point of the prior-sensitivity forecast (default: 10x the largest N "
                        "and D of the data)")
    f.add_argument("--budget", type=float, default=None, metavar="FLOPS",
                   help="budget of the prior-sensitivity N_opt (default: 100x the data's "
                        "largest 6ND)")
    f.add_argument("--no-sensitivity", action="store_true",
                   help="skip the prior-sensitivity table (printed with --priors literature or "
                        "fewer runs than parameters; it costs a second fit)")
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
