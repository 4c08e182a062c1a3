"""Scaling laws: the :class:`Law` interface, the registry, and one module per law family.
Importing this package registers every built-in law."""

from scaling_bayes.laws.base import (
    CHINCHILLA,
    INPUT_DESCRIPTIONS,
    KAPLAN,
    Law,
    Param,
    Pivot,
    UnknownLawError,
    get_law,
    is_builtin,
    list_laws,
    register_law,
    with_shape,
)

__all__ = ["Law", "Param", "Pivot", "UnknownLawError", "get_law", "list_laws", "register_law",
           "is_builtin", "with_shape", "INPUT_DESCRIPTIONS", "CHINCHILLA", "KAPLAN"]
