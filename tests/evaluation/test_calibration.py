"""Calibration benchmark: scoring arithmetic, structure, save/load, figure, CLI errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.evaluation import calibration as cal
from scaling_bayes.evaluation.backtest import point_scores
from scaling_bayes.plots.calibration import plot_calibration

SMALL = {"chains": 4, "warmup": 300, "draws": 300, "seed": 0}


@pytest.fixture(scope="module")
def result():
    # one small set (85 runs), one cutoff: the largest ~20% of the 22 model sizes held out
    return cal.calibrate(["marin2026:comma"], cutoffs=("params",), **SMALL)


def test_structure(result):
    t, p, pts = result.table, result.pooled, result.points
    assert list(t["set"]) == ["marin2026:comma"] and list(t["cutoff"]) == ["params"]
    assert list(p["variant"]) == ["default"]
    n = int(t["n_holdout"].iloc[0])
    assert len(pts) == n and int(p["n_holdout"].iloc[0]) == n
    df = sb.load_dataset("marin2026", drop_excluded=True)
    df = df[df["train_dataset"] == "comma"]
    assert n + int(t["n_train"].iloc[0]) == len(df)
    assert pts["N"].min() > df["N"].max() / 3  # the largest sizes
    for lev in (50, 80, 90, 95):
        assert t[f"cover{lev}"].between(0, 1).all()
        assert t[f"cover{lev}"].iloc[0] == pytest.approx(pts[f"in{lev}"].mean())
    assert pts["pit"].between(0, 1).all()
    q = pts[[f"pred_{k}" for k in cal.POINT_QUANTILES]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    assert t["median_are"].iloc[0] <= t["max_are"].iloc[0] < 0.2
    assert t["width90"].iloc[0] > 0 and np.isfinite(t["crps"].iloc[0])


def test_coverage_arithmetic_known_pit():
    # hand-made predictive: log-loss ~ N(0, 0.1) at every point; observations at known PITs
    from scipy import stats

    pits = np.array([0.01, 0.03, 0.07, 0.2, 0.3, 0.5, 0.6, 0.85, 0.93, 0.99])
    y = stats.norm.ppf(pits, 0, 0.1)
    Q = np.exp(stats.norm.ppf(np.array(cal.GRID), 0, 0.1))[:, None] * np.ones(pits.size)
    labels = cal._GRID_LABELS
    q = {lab: Q[labels.index(lab)] for lab in cal.POINT_QUANTILES}
    s = point_scores(np.exp(y), np.ones(pits.size), q, np.log(Q))
    np.testing.assert_allclose(s["pit"], pits, atol=0.006)
    # inside the central interval of level L  <=>  |PIT - 0.5| <= L/2
    for lev in (0.5, 0.8, 0.9, 0.95):
        np.testing.assert_array_equal(s[f"in{int(lev * 100)}"], np.abs(pits - 0.5) <= lev / 2)
    width = np.exp(stats.norm.ppf(0.95, 0, 0.1)) - np.exp(stats.norm.ppf(0.05, 0, 0.1))
    np.testing.assert_allclose(s["width90"], width / np.exp(y), rtol=1e-9)
    # CRPS of N(0, s) at y: s * (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))
    z = y / 0.1
    exact = 0.1 * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    np.testing.assert_allclose(s["crps"], exact, rtol=0.02)
    # pooled: per point vs per data set
    pts = pd.DataFrame({"variant": "v", "set": ["a"] * 8 + ["b"] * 2,
                        "dataset": ["a"] * 8 + ["b"] * 2, "cutoff": "params",
                        **{k: s[k] for k in ("in50", "in80", "in90", "in95", "crps", "are",
                                             "width90", "log_error")}})
    p = cal.pool(pts).iloc[0]
    assert p["cover90"] == pytest.approx(np.mean(s["in90"]))
    assert p["cover90_ds"] == pytest.approx((s["in90"][:8].mean() + s["in90"][8:].mean()) / 2)
    assert p["min_cover90_ds"] == pytest.approx(min(s["in90"][:8].mean(), s["in90"][8:].mean()))


def test_size_levels_and_splits():
    lev = cal.size_levels(np.array([1.0, 1.02, 2.0, 2.05, 4.0, 1.01]))
    np.testing.assert_array_equal(lev, [0, 0, 1, 1, 2, 0])
    N = np.repeat([1e7, 2e7, 4e7, 8e7, 1.6e8, 3.2e8, 6.4e8, 1.28e9, 2.56e9, 5.12e9], 3)
    sd = sb.load_data(pd.DataFrame({"N": N, "D": 20 * N * np.tile([0.5, 1, 2], 10),
                                    "loss": np.linspace(3, 2, N.size)}))
    splits, notes = cal._splits(sd, cal.CUTOFFS, holdout_frac=0.2, next_size_fracs=(0.5, 0.75),
                                min_train_sizes=4, size_rtol=0.05)
    by = {s.cutoff: s for s in splits}
    assert set(by) == {"params", "compute", "next_size(k=5)", "next_size(k=8)"}
    assert by["params"].holdout.sum() == 6 and (sd.N[by["params"].holdout] >= 2.56e9).all()
    assert (sd.N[by["next_size(k=5)"].holdout] == 3.2e8).all()
    assert (sd.N[by["next_size(k=5)"].train] < 3.2e8).all()


def test_save_load_roundtrip(result, tmp_path):
    result.save(tmp_path / "r")
    back = cal.CalibrationResult.load(tmp_path / "r")
    for name in ("table", "pooled", "points"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(back, name),
                                      check_exact=True)
    assert back.settings == result.settings and back.notes == result.notes
    result.save(tmp_path / "r")  # overwrite in place
    assert "| marin2026:comma | params |" in result.markdown()


def test_figure_axes_labelled(result):
    import matplotlib.pyplot as plt

    fig = plot_calibration(result)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert "nominal" in fig.axes[0].get_xlabel() and "PIT" in fig.axes[1].get_xlabel()
    plt.close(fig)
    plt.close(result.plot())


def test_bad_input():
    with pytest.raises(cal.CalibrationError, match="unknown data set 'nope'"):
        cal.calibrate(["nope"])
    with pytest.raises(cal.CalibrationError, match="unknown cutoff 'big'"):
        cal.calibrate(["chinchilla"], cutoffs=("big",))
    with pytest.raises(cal.CalibrationError, match="variant 'x' must be"):
        cal.calibrate(["chinchilla"], variants={"x": 3})


@pytest.mark.parametrize("argv, msg", [
    (["calibrate", "--dataset", "nope"], "unknown data set 'nope'"),
    (["calibrate", "--cutoff", "big"], "unknown cutoff 'big'"),
    (["calibrate", "--draws", "0"], "--draws must be >= 1"),
])
def test_cli_errors_one_line(argv, msg, capsys):
    from scaling_bayes.cli import main as cli

    rc = cli.main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("scaling-bayes: error:") and msg in err
