"""``scaling-bayes`` command line: the parser and the dispatch.

Each command group lives in its own module and adds its subcommands with ``register(sub)``:
:mod:`~scaling_bayes.cli.fit` (``fit``), :mod:`~scaling_bayes.cli.sbc` (``sbc``),
:mod:`~scaling_bayes.cli.report` (``report``), :mod:`~scaling_bayes.cli.catalog` (``datasets``,
``laws``), :mod:`~scaling_bayes.cli.plan` (``allocate``, ``predict``, ``plot``),
:mod:`~scaling_bayes.cli.compare` (``compare``, ``backtest``),
:mod:`~scaling_bayes.cli.calibrate` (``calibrate``) and :mod:`~scaling_bayes.cli.shape`
(``shape``); their shared helpers are in :mod:`~scaling_bayes.cli.common`.

Every user error -- a :class:`~scaling_bayes.ScalingBayesError` (the CLI's own
:class:`~scaling_bayes.cli.common.UsageError` included), another ``ValueError`` on bad input, a
missing or unreadable file -- prints one line, ``scaling-bayes: error: ...``, on stderr and exits
with code 2; an interrupt exits with 130; anything else is a bug and prints one line with how to
get the traceback (``SCALING_BAYES_DEBUG=1``), exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes._core.version import __version__
from scaling_bayes.cli import calibrate, catalog, compare, fit, plan, report, sbc, shape
from scaling_bayes.cli import curves
from scaling_bayes.cli import design as design_cmd
from scaling_bayes.cli import downstream
from scaling_bayes.cli.common import EXIT_USAGE, UsageError

#: Command groups in the order ``scaling-bayes --help`` lists their subcommands.
COMMANDS = (fit, sbc, report, catalog, plan, compare, calibrate, shape, curves, downstream,
            design_cmd)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one readable line, exit 2 (argparse prints usage too)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="scaling-bayes",
                description="Bayesian inference of neural scaling laws (NumPyro NUTS).")
    p.add_argument("--version", action="version", version=f"scaling-bayes {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for group in COMMANDS:
        group.register(sub)
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
    except (ScalingBayesError, ValueError, FileNotFoundError, IsADirectoryError,
            PermissionError) as e:
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
