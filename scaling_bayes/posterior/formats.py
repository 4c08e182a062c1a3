"""Reading any result file: :func:`load_fit` over every registered kind.

The kinds (:data:`~scaling_bayes.posterior.base.FORMATS`) register themselves where their
classes are defined; this module imports them all, so that every kind is known when a file is
read: ``"fit"`` (and v0.1 files, which record no kind), ``"many"`` and ``"hierarchical"``.
"""

from __future__ import annotations

import os

from scaling_bayes.posterior import fit as _fit  # noqa: F401  (registers "fit")
from scaling_bayes.posterior import hierarchical as _hierarchical  # noqa: F401
from scaling_bayes.posterior import many as _many  # noqa: F401
from scaling_bayes.posterior.base import FORMATS, Posterior


def load_fit(path: str | os.PathLike) -> Posterior:
    """Read a file written by any result's ``save``, by the kind the file records: a
    :class:`~scaling_bayes.posterior.fit.Fit` (also files of v0.1),
    a :class:`~scaling_bayes.posterior.hierarchical.HierarchicalFit` or a
    :class:`~scaling_bayes.posterior.many.ManyFits`; every array is restored exactly. A file
    of an unknown kind or format version is a
    :class:`~scaling_bayes.posterior.base.FitFileError` naming the version that wrote it."""
    return FORMATS.load(path)
