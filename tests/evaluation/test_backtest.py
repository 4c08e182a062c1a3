"""Held-out extrapolation backtest: scores, baseline, validation, figure, CLI."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.evaluation import backtest as bt
from scaling_bayes.plots.backtest import plot_backtest

SMALL = {"chains": 4, "warmup": 200, "draws": 200, "seed": 0}
A3_GRID = {"e": [0.0, 0.5], "a": [5.0, 10.0], "b": [5.0, 10.0], "alpha": [0.5], "beta": [0.5]}


@pytest.fixture(scope="module")
def chin():
    return sb.load_dataset("chinchilla", drop_excluded=True)


@pytest.fixture(scope="module")
def result(chin):
    return bt.backtest(chin, ("chinchilla", "kaplan"), holdout_above_compute=1e21, n_boot=40,
                       baseline_options={"grid": A3_GRID}, **SMALL)


def test_backtest_table(result, chin):
    t = result.table
    assert list(t.index) == ["chinchilla", "kaplan", "approach3"]
    n_hold = int((chin["C"] > 1e21).sum())
    assert (t["n_holdout"] == n_hold).all() and (t["n_train"] == len(chin) - n_hold).all()
    for c in ("cover50", "cover80", "cover95"):
        assert t[c].between(0, 1).all(), c
    bay = t[t["kind"] == "bayes"]
    assert np.isfinite(bay[["lpd_sum", "lpd_mean", "crps"]].to_numpy(float)).all()
    assert bay["lpd_sum"].to_numpy() == pytest.approx(n_hold * bay["lpd_mean"].to_numpy())
    assert (t["median_are"] <= t["max_are"]).all() and (t["median_are"] >= 0).all()
    # the Chinchilla form extrapolates within a few percent on these data
    assert t.loc["chinchilla", "median_are"] < 0.05
    assert t.loc["chinchilla", "lpd_sum"] > t.loc["kaplan", "lpd_sum"]
    a3 = t.loc["approach3"]
    assert np.isnan(a3["lpd_sum"]) and np.isfinite(a3["crps"]) and "lpd is NaN" in a3["note"]
    assert set(result.fits) == {"chinchilla", "kaplan"}
    assert result.holdout_mask.sum() == n_hold


def test_backtest_predictions(result, chin):
    p = result.predictions
    assert set(p["method"]) == {"chinchilla", "kaplan", "approach3"}
    c = p[p["method"] == "chinchilla"]
    assert (c["C"] > 1e21).all() and len(c) == int((chin["C"] > 1e21).sum())
    assert (c["pred_q2.5"] <= c["pred_q25"]).all() and (c["pred_q75"] <= c["pred_q97.5"]).all()
    assert np.isfinite(c["lpd"]).all()
    np.testing.assert_allclose(c["rel_error"], c["median"] / c["loss"] - 1)
    # coverage in the table is recomputed from these bounds
    inside = ((c["loss"] >= c["pred_q2.5"]) & (c["loss"] <= c["pred_q97.5"])).mean()
    assert result.table.loc["chinchilla", "cover95"] == pytest.approx(inside)


def test_scores_against_closed_forms():
    from scipy import stats

    from scaling_bayes.model.likelihoods import LIKELIHOODS

    y = np.array([0.1, -0.3])
    mu, s = np.array([[0.0, 0.0]]), np.array([[0.2]])
    np.testing.assert_allclose(LIKELIHOODS["student_t"].logpdf(y[None], mu, s, 4.0)[0],
                               stats.t.logpdf(y, 4.0, 0.0, 0.2))
    np.testing.assert_allclose(LIKELIHOODS["normal"].logpdf(y[None], mu, s, 4.0)[0],
                               stats.norm.logpdf(y, 0.0, 0.2))
    # CRPS of a N(0, 1) predictive at y = 0 is (sqrt(2) - 1)/sqrt(pi)
    draws = np.random.default_rng(0).standard_normal((200_000, 1))
    assert bt._crps(draws, np.zeros(1))[0] == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi),
                                                             rel=0.01)


def test_plot_backtest(result):
    import matplotlib.pyplot as plt

    fig = plot_backtest(result)
    assert len(fig.axes) == 3
    assert all("observed" in ax.get_xlabel() for ax in fig.axes)
    assert "predicted" in fig.axes[0].get_ylabel()
    plt.close(fig)


def test_invalid_cutoffs(chin):
    with pytest.raises(ValueError, match=r"holdout_above_compute=1e\+30 .* holds out no rows"):
        bt.backtest(chin, holdout_above_compute=1e30)
    with pytest.raises(ValueError, match="holds out all 240 rows"):
        bt.backtest(chin, holdout_above_params=1.0)
    with pytest.raises(ValueError, match="exactly one"):
        bt.backtest(chin)
    with pytest.raises(ValueError, match="exactly one"):
        bt.backtest(chin, holdout_above_compute=1e21, holdout_above_params=1e9)
    with pytest.raises(ValueError, match="finite and > 0"):
        bt.backtest(chin, holdout_above_params=float("nan"))
    with pytest.raises(ValueError, match="must be a number"):
        bt.backtest(chin, holdout_above_params="big")
    # 5 training rows: too few for the 6-parameter Chinchilla law (5 + sigma needs 7)
    cut = np.sort(chin["C"].to_numpy())[4]
    with pytest.raises(ValueError, match="leaves 5 training rows; law 'chinchilla' needs at "
                                         "least 7"):
        bt.backtest(chin, holdout_above_compute=cut)
    with pytest.raises(ValueError, match="240 booleans"):
        bt.backtest(chin, holdout=lambda d: np.ones(3, bool))
    with pytest.raises(ValueError, match="unknown law|nope"):
        bt.backtest(chin, laws=["nope"], holdout_above_compute=1e21)


def test_cli_backtest_end_to_end(tmp_path, capsys, monkeypatch, result):
    from scaling_bayes.cli import compare as cli_compare
    from scaling_bayes.cli import main as cli
    from scaling_bayes.cli import plan as cli_plan

    p = cli.build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    if "backtest" not in sub.choices:
        orig = cli_plan.register
        monkeypatch.setattr(cli_plan, "register",
                            lambda s: (orig(s), cli_compare.register(s)))
    out = tmp_path / "bt"
    rc = cli.main(["backtest", "--dataset", "chinchilla", "--laws", "chinchilla",
                   "--holdout-above-compute", "1e21", "--warmup", "200", "--draws", "200",
                   "--n-boot", "0", "--no-progress", "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "cover95" in cap.out and "approach3" in cap.out
    t = pd.read_csv(out / "backtest.csv", index_col=0)
    assert list(t.index) == ["chinchilla", "approach3"]
    assert np.isnan(t.loc["approach3", "cover95"])  # n_boot=0: no baseline intervals
    pr = pd.read_csv(out / "backtest_predictions.csv")
    assert {"method", "N", "D", "C", "loss", "median", "pred_q2.5", "pred_q97.5"} <= set(pr)
    assert (out / "backtest.png").stat().st_size > 5000
