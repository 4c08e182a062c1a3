"""``scaling-bayes datasets`` and ``scaling-bayes laws``: what is bundled and registered.

``register(subparsers)`` adds both listings to the main CLI.
"""

from __future__ import annotations

from scaling_bayes.data.datasets import list_datasets
from scaling_bayes.laws import LAWS


def _cmd_datasets(args) -> int:
    for name, desc in list_datasets().items():
        print(f"{name:<20} {desc}")
    return 0


def _cmd_laws(args) -> int:
    for law in LAWS.laws():
        print(f"{law.name:<12} {law.formula}")
        print(f"{'':<12} {law.description}; parameters: {', '.join(law.param_names)}")
    return 0


def register(sub) -> None:
    """Add ``datasets`` and ``laws`` to the CLI's subparsers."""
    sub.add_parser("datasets", help="list the bundled data sets").set_defaults(func=_cmd_datasets)
    sub.add_parser("laws", help="list the registered laws").set_defaults(func=_cmd_laws)
