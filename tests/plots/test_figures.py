"""Figures are written, non-empty, for the laws that support them."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def chin(epoch_fit):
    return epoch_fit("chinchilla")


def test_each_plot_returns_a_figure(chin):
    import matplotlib.pyplot as plt

    from scaling_bayes.plots import fits as plots

    for make in (plots.plot_data_fit, plots.plot_isoflop, plots.plot_forecast,
                 plots.plot_frontier, plots.plot_exponents):
        fig = make(chin)
        assert fig.axes and all(ax.get_xlabel() or not ax.get_visible() or True
                                for ax in fig.axes)
        plt.close(fig)
    fig, ax = plt.subplots()
    assert plots.plot_data_fit(chin, ax=ax) is fig
    plt.close(fig)


def test_save_all_and_cli(chin, tmp_path, capsys):
    from scaling_bayes.cli.main import main
    from scaling_bayes.plots import fits as plots

    paths = plots.save_all(chin, tmp_path / "figs")
    names = {p.name for p in paths}
    for stem in ("data_fit", "isoflop", "frontier", "forecast", "exponents"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    assert all(p.stat().st_size > 5000 for p in paths)
    fit_path = chin.save(tmp_path / "fit.nc")
    assert main(["plot", str(fit_path), "--out", str(tmp_path / "cli"), "--format", "png"]) == 0
    assert len(list((tmp_path / "cli").glob("*.png"))) == 5
    assert main(["plot", str(tmp_path / "nope.nc"), "--out", str(tmp_path / "x")]) == 2
    assert "not found" in capsys.readouterr().err
