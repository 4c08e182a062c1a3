"""Helpers shared by the ``scaling-bayes`` commands: the CLI's error type, argument parsing of
``NAME=VALUE`` pairs and numbers, output directories, printing tables, warnings and
diagnostics, and writing files and figures atomically.

Every command module (:mod:`~scaling_bayes.cli.fit`, :mod:`~scaling_bayes.cli.plan`, ...)
imports from here and from the library; nothing in the library imports the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path

import pandas as pd

from scaling_bayes._core import io
from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes.data.datasets import load_dataset
from scaling_bayes.inference import aot
from scaling_bayes.laws import get_law
from scaling_bayes.plots.style import save_figure
from scaling_bayes.posterior.diagnostics import block

#: Exit code of every user error (bad argument, bad input file, bad settings).
EXIT_USAGE = 2


class UsageError(ScalingBayesError):
    """A command-line argument is wrong."""


def enable_cache() -> None:
    """Persist compiled and exported programs across processes (see
    :mod:`scaling_bayes.inference.aot`)."""
    aot.enable_cache()


# ----------------------------------------------------------------------------- arguments
def _kv(text: str, what: str) -> tuple[str, str]:
    """``"NAME=VALUE"`` -> ``("NAME", "VALUE")``; a :class:`UsageError` naming ``what`` else."""
    if "=" not in text:
        raise UsageError(f"{what} must look like NAME=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def _floats(name: str):
    """An argparse ``type=`` that parses a float and names the flag when it cannot."""

    def parse(s: str) -> float:
        try:
            return float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: not a number: {s!r}") from None

    return parse


def _stem(path: str) -> str:
    """File name without its CSV and compression suffixes (``my.csv.gz`` -> ``my``)."""
    name = Path(path).name
    for suffix in (".gz", ".bz2", ".zip", ".xz"):
        name = name.removesuffix(suffix)
    return name.removesuffix(".csv") or Path(path).stem


def _data(args):
    """``(data, name, where)`` from a CSV path (``args.csv``) or ``--dataset``."""
    if (args.csv is None) == (args.dataset is None):
        raise UsageError("give either a CSV path or --dataset NAME (not both)")
    if args.dataset is not None:
        data = load_dataset(args.dataset, drop_excluded=not args.keep_excluded)
        dropped = "" if args.keep_excluded else " (rows flagged as excluded by the source dropped)"
        return data, args.dataset, f"bundled data set {args.dataset!r}{dropped}"
    path = Path(args.csv)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    return str(path), path.stem, str(path)


def _laws(text: str) -> list[str]:
    """Law names of a ``--laws a,b`` list, each checked (unknown law: fail before any fitting)."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise UsageError("--laws: give at least one law, e.g. --laws kaplan,chinchilla")
    if len(set(names)) != len(names):
        raise UsageError(f"--laws: a law is listed twice: {text!r}")
    for n in names:
        get_law(n)
    return names


def _sampler(args) -> None:
    """``--chains``, ``--warmup`` and ``--draws`` are at least 1."""
    for name in ("chains", "warmup", "draws"):
        v = getattr(args, name)
        if v < 1:
            raise UsageError(f"--{name} must be >= 1, got {v}")


# ----------------------------------------------------------------------------- output
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


def _remove_empty(created: list[Path]) -> None:
    """Remove the directories :func:`_make_out` created if they are still empty (a failed or
    interrupted command leaves no empty output directories behind)."""
    for d in created:
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()


def _outdir(args, default: str) -> Path:
    """``--out`` (default ``scaling_bayes_out/<default>``), not created yet."""
    out = Path(args.out) if args.out else Path("scaling_bayes_out") / default
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    return out


def _print(df) -> None:
    """A wide table on stdout, four significant digits."""
    with pd.option_context(
        "display.width",
        200,
        "display.max_columns",
        40,
        "display.max_colwidth",
        60,
        "display.float_format",
        "{:.4g}".format,
    ):
        print(df.to_string())


def _write(out: Path, name: str, df, index: bool = True) -> Path:
    """``df`` as ``out/name`` (CSV), written atomically."""
    return io.atomic_write(out / name, lambda tmp: df.to_csv(tmp, index=index))


def _save_fig(fig, path: Path) -> list[Path]:
    """PNG and vector PDF next to each other (``comparison.png``, ``comparison.pdf``)."""
    return save_figure(fig, path, ("png", "pdf"), close=True)


# ----------------------------------------------------------------------------- messages
def print_diagnostics(problems, title: str = "diagnostics:") -> None:
    """A fit's diagnostic problems as one block on stderr: ``WARNING: <title>``, then one
    indented line per kind of problem and the advice
    (:func:`scaling_bayes.posterior.diagnostics.block`); nothing when ``problems`` is empty."""
    text = block(problems, title=title)
    if text:
        print(f"WARNING: {text}", file=sys.stderr)


@contextlib.contextmanager
def print_warnings():
    """Print library warnings (bad units, a collinear design, ...) as one ``warning:`` line each
    on stderr the moment they are issued -- before sampling, not after it -- each text once.
    Diagnostics are not warned here (the commands print them as a block after the fit)."""
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


def _print_caught(caught) -> None:
    """Warnings recorded by ``warnings.catch_warnings(record=True)`` as ``warning:`` lines
    (deprecation notices of dependencies left out)."""
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            print(f"warning: {w.message}", file=sys.stderr)
