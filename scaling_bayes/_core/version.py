"""The package version, kept equal to ``version`` in pyproject.toml (``sb.__version__`` and
``scaling-bayes --version`` read it here)."""

__version__ = "0.1.0"
