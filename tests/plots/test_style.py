"""One publication style: palette and rcParams applied, atomic PDF + PNG saves, every figure's
axes labelled."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("matplotlib")


def _unlabelled(fig) -> list[str]:
    """Axes whose visible tick labels have no axis label ('<title>: x' / '<title>: y')."""
    fig.canvas.draw()
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for which, axis, label in (
            ("x", ax.xaxis, ax.get_xlabel()),
            ("y", ax.yaxis, ax.get_ylabel()),
        ):
            ticks = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            if ticks and not label.strip():
                bad.append(f"{ax.get_title() or ax.get_label() or 'axes'}: {which}")
    return bad


def test_style_applied_and_save_writes_vector_pdf_and_png(tmp_path):
    import matplotlib

    from scaling_bayes.plots import fits as plots
    from scaling_bayes.plots import style as _style

    plt = _style.pyplot()
    assert matplotlib.rcParams["pdf.fonttype"] == 42
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0] == _style.OKABE_ITO[0]
    assert plots.OKABE_ITO is _style.OKABE_ITO
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 4, 9])
    ax.set_xlabel("x (units)")
    paths = _style.save_figure(fig, tmp_path / "sub" / "fig")
    assert [p.name for p in paths] == ["fig.pdf", "fig.png"]
    assert paths[0].read_bytes().startswith(b"%PDF")
    assert paths[1].read_bytes().startswith(b"\x89PNG")
    assert b"/FontFile2" in paths[0].read_bytes()  # TrueType embedded: text stays text
    # a known suffix writes that one format; formats= replaces the suffix
    assert _style.save_figure(fig, tmp_path / "one.png") == [tmp_path / "one.png"]
    assert [p.name for p in _style.save_figure(fig, tmp_path / "two.png", ("png", "svg"))] == [
        "two.png",
        "two.svg",
    ]
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind
    with pytest.raises(ValueError, match="unknown figure format 'bmpx'"):
        _style.save_figure(fig, tmp_path / "bad", ("bmpx",))
    _style.save_figure(fig, tmp_path / "closed", ("png",), close=True)
    assert not plt.fignum_exists(fig.number)
    assert _style.figure_bytes(plt.figure()).startswith(b"\x89PNG")
    plt.close("all")


def test_every_figure_labels_its_axes(epoch_fit):
    from scaling_bayes.evaluation import checks, comparison
    from scaling_bayes.plots import checks as plot_checks
    from scaling_bayes.plots import comparison as plot_comparison
    from scaling_bayes.plots import fits as plots
    from scaling_bayes.plots import style as _style

    plt = _style.pyplot()
    chin = epoch_fit("chinchilla")
    figs = {name: make(chin) for name, make in plots.figure_makers(chin).items()}
    figs["posterior_predictive"] = plot_checks.plot_predictive_check(
        checks.posterior_predictive(chin, max_draws=100)
    )
    fits = {"chinchilla": chin, "kaplan": epoch_fit("kaplan")}
    figs["comparison"] = plot_comparison.plot_comparison(comparison.compare(fits, budgets=(5.76e23, 1e26)))
    assert set(figs) >= {"data_fit", "isoflop", "frontier", "forecast", "exponents"}
    for name, fig in figs.items():
        assert _unlabelled(fig) == [], name
        plt.close(fig)


def test_log_tick_labels_are_plain_text_and_wide_axes_drop_minor_ticks(tmp_path):
    """Saved figures label log axes in Unicode (no mathtext to parse), with the same ticks."""
    import io

    from scaling_bayes.plots import style as _style

    assert _style.unicode_power(r"$\mathdefault{10^{20}}$") == "10²⁰"
    assert _style.unicode_power(r"$\mathdefault{2\times10^{-3}}$") == "2×10⁻³"
    assert _style.unicode_power("$\\alpha^{2}$") == "$\\alpha^{2}$"  # real mathtext kept
    assert _style.unicode_power("3.5") == "3.5"
    assert _style.superscript("-12") == "⁻¹²"

    plt = _style.pyplot()
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([1e18, 1e26], [1e9, 1e14])  # 8 decades: no minor ticks
    b.plot([1.0, 5.0], [2.0, 3.0])  # less than a decade: minor ticks (and their labels) kept
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_yscale("log")
    _style.light_log_ticks(fig)
    fig.canvas.draw()
    before = [t.get_text() for t in a.get_xticklabels()]
    _style.plain_text_math(fig)
    fig.canvas.draw()
    after = [t.get_text() for t in a.get_xticklabels()]
    assert len(before) == len(after) and all("$" in t for t in before if t)
    assert [_style.unicode_power(t) for t in before] == after
    assert a.xaxis.get_minorticklocs().size == 0 and a.yaxis.get_minorticklocs().size == 0
    assert b.xaxis.get_minorticklocs().size > 0
    minor = [t.get_text() for t in b.yaxis.get_ticklabels(minor=True) if t.get_text()]
    assert minor and not any("$" in t for t in minor)
    paths = _style.save_figure(fig, tmp_path / "f", ("png", "pdf"), close=True)
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size for p in paths)
    assert io.BytesIO(paths[1].read_bytes()).read(4) == b"%PDF"


def _embedded_fonts(pdf: bytes):  # noqa: D401
    """The TrueType fonts (FontFile2 streams) embedded in a PDF, parsed by fontTools."""
    import re
    import zlib

    from fontTools.ttLib import TTFont

    fonts = []
    for m in re.finditer(rb"/FontFile2 (\d+) 0 R", pdf):
        o = re.search(rb"\n" + m.group(1) + rb" 0 obj\s*<<(.*?)>>\s*stream\r?\n", pdf, re.S)
        raw = pdf[o.end():pdf.index(b"endstream", o.end())]
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            pass
        fonts.append(TTFont(io.BytesIO(raw)))
    return fonts


def test_saved_pdfs_embed_lean_but_complete_truetype_subsets(tmp_path):
    from scaling_bayes.plots import style as _style

    plt = _style.pyplot()
    fig, ax = plt.subplots()
    ax.plot([1e18, 1e26], [2.0, 3.0])
    ax.set_xscale("log")
    ax.set_title("Hoffmann (N ∝ C⁰·⁵), AV fi")
    ax.set_xlabel("training compute C (FLOPs)")
    (pdf,) = _style.save_figure(fig, tmp_path / "f.pdf", close=True)
    fonts = _embedded_fonts(pdf.read_bytes())
    assert fonts
    for font in fonts:  # glyphs, metrics and character map kept; layout tables left out
        assert {"glyf", "loca", "cmap", "hmtx", "head"} <= set(font.keys())
        assert not set(_style.LAYOUT_TABLES) & set(font.keys())
        assert font["maxp"].numGlyphs > 1
    # outside save_figure, matplotlib's own subsetting is untouched
    import matplotlib.backends._backend_pdf_ps as pdf_ps
    from fontTools import subset

    assert pdf_ps.subset.Options is subset.Options
