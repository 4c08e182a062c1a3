"""One publication style for every figure of the package.

* :data:`OKABE_ITO`: the Okabe–Ito colour-blind-safe palette, also the default colour cycle.
* :data:`RC`: matplotlib rcParams (font sizes for a one- or two-column figure, no top/right
  spines, no legend frames, TrueType fonts embedded in PDF so text stays editable).
* :func:`pyplot`: ``matplotlib.pyplot`` with the style applied (the non-interactive "Agg" backend
  unless pyplot is already in use or the code runs in a Jupyter kernel, whose inline backend is
  kept so notebooks show the figures).
* :func:`save_figure`: write a figure atomically as vector PDF and PNG (or the formats given).
* :func:`plain_text_math`: log-axis tick labels as plain Unicode text (10²⁰, 2×10⁻³) instead of
  mathtext, which :func:`save_figure` applies: the same labels, drawn without parsing TeX.

matplotlib is imported only when a function here is called.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
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


def warm_up(formats: Sequence[str] = FORMATS) -> None:
    """Import matplotlib, its writers of ``formats`` and fontTools, and load the fonts, so that
    the first figure does not pay for them (~1 s); for a background thread while a fit runs
    (no pyplot state is touched: the figure drawn here is a bare ``Figure``)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    apply()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_title("warm-up")
    for fmt in formats:
        if fmt == "pdf":
            import fontTools.subset  # noqa: F401  (PDF font embedding)
        fig.savefig(io.BytesIO(), format=fmt, dpi=20)


def plain_log_ticks(axis) -> None:
    """Label a log ``axis`` of modest values (tokens per parameter, loss) with plain numbers
    (3, 10, 30) instead of 3×10⁰; minor ticks are labelled where matplotlib would label them."""
    import matplotlib.ticker as mticker

    axis.set_major_formatter(mticker.LogFormatter())
    axis.set_minor_formatter(mticker.LogFormatter(labelOnlyBase=False))


_SUPERSCRIPT = str.maketrans("0123456789-−+.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻⁺·")


def superscript(text: str) -> str:
    """Digits, signs and the decimal point of ``text`` as Unicode superscripts (``-3`` -> ``⁻³``)."""
    return str(text).translate(_SUPERSCRIPT)


def unicode_power(text: str) -> str:
    """Mathtext of a power of ten, as matplotlib's log formatters write it
    (``$\\mathdefault{2\\times10^{-3}}$``), as plain Unicode text (``2×10⁻³``); any other text
    unchanged."""
    if not (len(text) > 1 and text[0] == "$" and text[-1] == "$"):
        return text
    body = text[1:-1]
    if body.startswith("\\mathdefault{") and body.endswith("}"):
        body = body[len("\\mathdefault{"):-1]
    body = body.replace("\\times", "×").replace("\\cdot", "·")
    head, caret, exp = body.partition("^")
    if caret:
        exp = exp.strip("{}")
        if not all(c in "0123456789-−+." for c in exp):
            return text
        body = head + superscript(exp)
    if any(c in body for c in "\\{}^_$"):
        return text  # real mathtext: leave it to matplotlib
    return body


def _plain_formatter(fmt):
    """A formatter that writes what ``fmt`` writes, with powers of ten as Unicode text."""
    import matplotlib.ticker as mticker

    if getattr(fmt, "_sb_plain", False) or not isinstance(fmt, mticker.LogFormatterMathtext):
        return None

    class PlainLog(type(fmt)):
        _sb_plain = True

        def __call__(self, x, pos=None):
            return unicode_power(super().__call__(x, pos))

    new = PlainLog.__new__(PlainLog)
    new.__dict__.update(fmt.__dict__)
    return new


def plain_text_math(fig) -> None:
    """Replace the mathtext tick labels of every log axis of ``fig`` (colour bars included) by
    the same labels in plain Unicode (``10²⁰`` for ``$10^{20}$``). Parsing mathtext costs ~5 ms
    a label, for each format a figure is written in, and embeds extra fonts in PDFs."""
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                new = _plain_formatter(get())
                if new is not None:
                    put(new)


#: Log axes spanning more decades than this get no minor ticks (:func:`light_log_ticks`).
MINOR_TICK_DECADES = 4.0


def light_log_ticks(fig, max_decades: float = MINOR_TICK_DECADES) -> None:
    """Minor ticks on the log axes of ``fig`` only where they span at most ``max_decades``
    decades. On wider axes minor ticks carry no labels, but matplotlib still builds, measures
    and draws 8 per decade in every layout pass and format (most of a figure's draw time)."""
    import matplotlib.ticker as mticker

    cls = _light_locator_class()
    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            loc = axis.get_minor_locator()
            if type(loc) is mticker.LogLocator:
                new = cls.__new__(cls)
                new.__dict__.update(loc.__dict__)
                new.max_decades = float(max_decades)
                axis.set_minor_locator(new)


@functools.lru_cache(maxsize=1)
def _light_locator_class():
    import matplotlib.ticker as mticker
    import numpy as np

    class LightLogLocator(mticker.LogLocator):
        """Minor log ticks, none where the axis spans more than ``max_decades`` decades."""

        max_decades = MINOR_TICK_DECADES

        def tick_values(self, vmin, vmax):
            if (vmin > 0 and vmax > 0
                    and abs(math.log10(vmax) - math.log10(vmin)) > self.max_decades):
                return np.array([])
            return super().tick_values(vmin, vmax)

    return LightLogLocator


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
        plain_text_math(fig)
        for target, fmt in _targets(path, formats):
            with lean_font_subsets(fmt in ("pdf", "ps", "eps")):
                atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi))
            written.append(target)
            _freeze_layout(fig)  # the next format reuses this layout instead of redoing it
        return written
    finally:
        if close:
            _close(fig)


#: Font tables left out of the fonts embedded in PDF/PS files: OpenType layout (substitution,
#: positioning, kerning) that only a text shaper reads. matplotlib has placed every glyph and
#: kern itself by the time it embeds a font, and PDF viewers draw the glyphs where they are
#: put; keeping the tables makes fontTools close over them (~45% of a PDF's writing time).
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern")


@contextlib.contextmanager
def lean_font_subsets(active: bool = True):
    """While active, fonts that matplotlib embeds (TrueType subsets via fontTools) leave out
    :data:`LAYOUT_TABLES`. Outside of it (and where matplotlib or fontTools differ from what
    this expects) nothing changes."""
    mod = sys.modules.get("matplotlib.backends._backend_pdf_ps") if active else None
    if mod is None:  # the writer imports it on first use: import it to patch it
        try:
            if active:
                import matplotlib.backends._backend_pdf_ps as mod
        except ImportError:
            mod = None
    sub = getattr(mod, "subset", None)
    base = getattr(sub, "Options", None)
    if base is None:
        yield
        return

    class LeanOptions(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.drop_tables = [*self.drop_tables, *LAYOUT_TABLES]
            self.layout_features = []

    sub.Options = LeanOptions
    try:
        yield
    finally:
        sub.Options = base


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
        plain_text_math(fig)
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        if close:
            _close(fig)
    return buf.getvalue()


def _close(fig) -> None:
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
