import re

from scaling_bayes.cli.main import main
from scaling_bayes.report import build_report


def test_report_is_self_contained_and_complete(small_fit):
    text = build_report(small_fit, budgets=(1e22, 1e24))
    for section in ("Data", "Diagnostics", "Posterior of the parameters",
                    "Compute-optimal allocation", "Figures", "Settings and provenance"):
        assert f"<h2>{section}</h2>" in text
    images = re.findall(r"src='data:image/png;base64,", text)
    assert len(images) >= 5  # data, exponents, frontier, forecast, posterior predictive
    assert "http://" not in text and "https://" not in text  # nothing to fetch
    assert "tokens_per_param" in text and "alpha" in text and "LogNormal" in text


def test_report_cli_from_a_fit_file(small_fit, tmp_path, capsys):
    path = small_fit.save(tmp_path / "fit.nc")
    code = main(["report", str(path), "--out", str(tmp_path / "rep"), "--budgets", "1e23"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "rep" / "report.html").stat().st_size > 50_000
    code = main(["report", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "give either a FIT file" in err and not (tmp_path / "x").exists()


def test_isoflop_groups_from_raw_compute(small_fit):
    import numpy as np

    from scaling_bayes.plots.fits import figure_makers, isoflop_groups

    assert isoflop_groups(small_fit) == []  # random design: no shared budgets, no IsoFLOP figure
    assert "isoflop" not in figure_makers(small_fit)
    import pandas as pd

    import scaling_bayes as sb

    df = sb.load_dataset("porian2024")
    df = df[(df.dataset == "openwebtext2") & (df.setting == df.setting.iloc[0])].drop(
        columns=["C_isoflop_nominal"], errors="ignore")
    data = sb.load_data(pd.DataFrame(df))
    budgets = np.unique(data.C)
    fake = type("F", (), {"data": data})()
    groups = isoflop_groups(fake)
    assert 2 <= len(groups) and all(np.isclose(c, budgets).any() for c, _ in groups)
