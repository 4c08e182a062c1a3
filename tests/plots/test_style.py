"""One publication style: palette and rcParams applied, atomic PDF + PNG saves, every figure's
axes labelled."""

from __future__ import annotations

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
