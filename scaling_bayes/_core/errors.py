"""The package's one error type.

Every error the package raises because of bad input, settings or files (a data file without a
loss column, an unknown law, an invalid prior, a fit file of another version, a wrong
command-line argument, ...) is a :class:`ScalingBayesError`. It subclasses ``ValueError``, so
``except ValueError`` written against v0.1 keeps working; catch ``ScalingBayesError`` to tell the
package's own complaints from errors raised elsewhere.
"""

from __future__ import annotations

__all__ = ["ScalingBayesError"]


class ScalingBayesError(ValueError):
    """Bad input, settings or files: the message says what is wrong and how to fix it."""
