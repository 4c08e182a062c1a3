"""One publication style for every figure of the package.

* :data:`OKABE_ITO`: the Okabe–Ito colour-blind-safe palette, also the default colour cycle.
* :data:`RC`: matplotlib rcParams (font sizes for a one- or two-column figure, no top/right
  spines, no legend frames, TrueType fonts embedded in PDF so text stays editable).
* :func:`pyplot`: ``matplotlib.pyplot`` with the style applied (the non-interactive "Agg" backend
  unless pyplot is already in use or the code runs in a Jupyter kernel, whose inline backend is
  kept so notebooks show the figures).
* :func:`save_figure`: write a figure atomically as vector PDF and PNG (or the formats given).

matplotlib is imported only when a function here is called.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from scaling_bayes._core.io import atomic_write

#: Okabe–Ito colour-blind-safe palette (yellow last: it is hard to see on white).
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

#: Formats written by :func:`save_figure` when a path has no recognised suffix.
FORMATS = ("pdf", "png")
#: Raster resolution of PNG files (dots per inch).
DPI = 150
_KNOWN = {"png", "pdf", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp"}

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "font.family": "DejaVu Sans",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.6,
    "legend.frameon": False,
    "image.cmap": "cividis",
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "pdf.fonttype": 42,  # TrueType, not Type 3: text stays text in the PDF
    "ps.fonttype": 42,
    "svg.fonttype": "none",
}


def apply() -> None:
    """Apply :data:`RC` and the Okabe–Ito colour cycle to matplotlib's global rcParams."""
    import matplotlib
    from cycler import cycler

    matplotlib.rcParams.update(RC)
    matplotlib.rcParams["axes.prop_cycle"] = cycler(color=OKABE_ITO[:-1])


def pyplot():
    """``matplotlib.pyplot`` with the style applied.

    Selects the file-only "Agg" backend, so that library code never opens a window, unless
    pyplot is already imported (the caller chose a backend) or the code runs inside a Jupyter
    kernel (``MPLBACKEND`` set by ipykernel: figures show inline)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    apply()
    return plt


def plain_log_ticks(axis) -> None:
    """Label a log ``axis`` of modest values (tokens per parameter, loss) with plain numbers
    (3, 10, 30) instead of 3×10⁰; minor ticks are labelled where matplotlib would label them."""
    import matplotlib.ticker as mticker

    axis.set_major_formatter(mticker.LogFormatter())
    axis.set_minor_formatter(mticker.LogFormatter(labelOnlyBase=False))


def _targets(path: str | os.PathLike, formats: Sequence[str] | None) -> list[tuple[Path, str]]:
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if formats is None:
        formats = (suffix,) if suffix in _KNOWN else FORMATS
    if isinstance(formats, str):
        formats = (formats,)
    stem = path.with_suffix("") if suffix in _KNOWN else path
    out = []
    for fmt in formats:
        fmt = str(fmt).lower().lstrip(".")
        if fmt not in _KNOWN:
            raise ValueError(f"unknown figure format {fmt!r}; use one of {sorted(_KNOWN)}")
        out.append((stem.with_name(f"{stem.name}.{fmt}"), fmt))
    return out


def save_figure(
    fig,
    path: str | os.PathLike,
    formats: Sequence[str] | None = None,
    *,
    dpi: int = DPI,
    close: bool = False,
) -> list[Path]:
    """Write ``fig`` atomically (temporary file, then rename) and return the paths written.

    ``path`` with a known suffix and ``formats=None`` writes that one file (``"ppc.png"``);
    without a suffix (``"figures/fit"``) it writes ``fit.pdf`` (vector) and ``fit.png``
    (``dpi``). ``formats`` (e.g. ``("png", "pdf")``) replaces the suffix by each format in turn.
    ``close=True`` closes the figure afterwards (also when writing fails)."""
    try:
        written = []
        for target, fmt in _targets(path, formats):
            atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi))
            written.append(target)
            _freeze_layout(fig)  # the next format reuses this layout instead of redoing it
        return written
    finally:
        if close:
            _close(fig)


def _freeze_layout(fig) -> None:
    """Keep the axes where the layout engine just put them (a layout pass costs ~0.2 s)."""
    try:
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")
    except Exception:  # an engine that cannot be switched off: it simply runs again
        pass


def figure_bytes(fig, fmt: str = "png", *, dpi: int = DPI, close: bool = False) -> bytes:
    """The figure encoded as ``fmt`` (for embedding, e.g. in the HTML report)."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        if close:
            _close(fig)
    return buf.getvalue()


def _close(fig) -> None:
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
