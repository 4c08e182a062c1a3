"""Posterior and predictive loss forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scaling_bayes.decisions.forecast import predict


@pytest.fixture(scope="module")
def chin(epoch_fit):
    return epoch_fit("chinchilla")


def _nested(df, lo="q5", hi="q95"):
    """Predictive interval around the credible one around the median. Beyond the data the
    structural term dominates both intervals and the noise adds little, so a predictive bound
    (a sample quantile of other draws: 4 noise draws per posterior draw) may sit inside the
    credible one by its Monte Carlo error: the sd of a 5% sample quantile of S draws is
    ~sqrt(0.05*0.95/S)/phi(1.645) = 0.075 sd at S = 800, i.e. ~5% of the 90% half-width. The
    slack allowed is 15% of the credible half-width (3 Monte Carlo sd); inside the data the
    noise dominates and the bounds are far apart."""
    slack = 0.15 * (df[f"mean_{hi}"] - df[f"mean_{lo}"]) / 2
    return bool(np.all(df[f"pred_{lo}"] <= df[f"mean_{lo}"] + slack) and
                np.all(df[f"mean_{lo}"] <= df["mean_q50"]) and
                np.all(df["mean_q50"] <= df[f"mean_{hi}"]) and
                np.all(df[f"mean_{hi}"] <= df[f"pred_{hi}"] + slack))


def test_columns_shapes_and_nesting(chin):
    N = np.geomspace(1e8, 1e12, 7)
    df = predict(chin, N=N[:, None], D=np.array([1e10, 1e12, 1e14])[None, :])
    assert len(df) == 21
    assert list(df.columns) == ["N", "D", "mean", "mean_sd", "mean_q5", "mean_q50", "mean_q95",
                                "pred_q5", "pred_q50", "pred_q95"]
    assert _nested(df)
    assert np.all(df["mean_sd"] > 0)
    # broadcasting scalars and lists; the same values as a direct evaluation of the law
    one = predict(chin, N=70e9, D=1.4e12, structural=False)
    th = chin.textbook_draws()
    direct = np.exp(np.asarray(chin.law.log_loss(th, {"N": 70e9, "D": 1.4e12})))
    assert one["mean"].iloc[0] == pytest.approx(direct.mean(), rel=1e-10)
    assert one["mean_q50"].iloc[0] == pytest.approx(np.median(direct), rel=1e-10)
    wide = predict(chin, N=[1e9, 70e9], D=1.4e12, quantiles=(0.025, 0.5, 0.975))
    assert {"mean_q2.5", "pred_q97.5"} <= set(wide.columns)
    assert _nested(wide, "q2.5", "q97.5")


def test_predictive_width_matches_sigma(chin):
    df = predict(chin, N=np.geomspace(1e8, 1e10, 5), D=1e10, n_noise=20)
    # predictive half-width in log space ~ t-quantile * sigma (posterior spread is small here)
    half = np.log(df["pred_q95"] / df["pred_q5"]) / 2
    sigma = np.median(chin.posterior["sigma"])
    assert np.all(half > 1.5 * sigma) and np.all(half < 4 * sigma)


def test_seed(chin):
    a = predict(chin, N=[1e9, 1e10], D=1e11, seed=1)
    b = predict(chin, N=[1e9, 1e10], D=1e11, seed=1)
    c = predict(chin, N=[1e9, 1e10], D=1e11, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["pred_q5"], c["pred_q5"], rtol=0, atol=0)
    np.testing.assert_array_equal(a["mean_q5"], c["mean_q5"])  # credible part is exact


def test_compute_optimal_frontier(chin):
    from scaling_bayes.decisions.allocation import compute_optimal

    C = [1e20, 5.76e23, 1e26]
    df = predict(chin, C=C, compute_optimal=True)
    assert list(df.columns[:4]) == ["C", "N_opt", "D_opt", "boundary"]
    assert _nested(df)
    alloc = compute_optimal(chin, C).quantity("loss_opt")
    # the allocation's loss at the optimum is the law's (parameter uncertainty only)
    bare = predict(chin, C=C, compute_optimal=True, structural=False)
    np.testing.assert_allclose(bare["mean"], alloc["mean"], rtol=1e-12)
    np.testing.assert_allclose(df["N_opt"], compute_optimal(chin, C).quantity("N_opt")["q50"])
    # loss falls with compute; uncertainty grows with extrapolation, more with the structural
    # term (the epoch fit's data end near 1e22 FLOPs: 1e26 is four decades beyond)
    assert np.all(np.diff(df["mean"]) < 0) and df["mean_sd"].iloc[2] > df["mean_sd"].iloc[0]
    assert df["mean_sd"].iloc[2] > 2 * bare["mean_sd"].iloc[2]
    assert df["mean_sd"].iloc[0] == pytest.approx(bare["mean_sd"].iloc[0], rel=0.05)


BAD = [
    (dict(N=0.0, D=1e12), "N.*0.0"),
    (dict(N=-1e9, D=1e12), "N.*-1"),
    (dict(N=1e9, D=np.nan), "D.*nan"),
    (dict(N=1e9, D=np.inf), "D.*inf"),
    (dict(N=[1e9, 2e9], D=[1e12, 2e12, 3e12]), "broadcast"),
    (dict(N=1e9), "needs inputs N, D; missing D"),
    (dict(C=1e22), "compute_optimal=True"),
    (dict(N=1e9, D=1e11, C=1e22), "does not use C"),
    (dict(C=1e22, N=1e9, compute_optimal=True), "do not also pass N"),
    (dict(compute_optimal=True), "needs C"),
    (dict(C=1e5, compute_optimal=True), "C.*1e\\+05"),
    (dict(N=1e9, D=1e11, quantiles=(0.0, 0.5)), "quantiles"),
    (dict(N=1e9, D=1e11, seed=-1), "seed"),
    (dict(N=1e9, D=1e11, n_noise=0), "n_noise"),
]


@pytest.mark.parametrize("kwargs,match", BAD)
def test_bad_inputs(chin, kwargs, match):
    with pytest.raises(ValueError, match=match):
        predict(chin, **kwargs)


def test_cli_predict(chin, tmp_path, capsys):
    from scaling_bayes.cli.main import main

    path = chin.save(tmp_path / "fit.nc")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(path), "--params", "70e9", "1e9", "--tokens", "1.4e12",
                 "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) == 2 and "pred_q95" in df.columns
    assert "pred_q95" in capsys.readouterr().out
    assert main(["predict", str(path), "--compute", "5.76e23", "--compute-optimal"]) == 0
    assert "N_opt" in capsys.readouterr().out
    assert main(["predict", str(path), "--params", "70e9"]) == 2
    assert "missing D" in capsys.readouterr().err
    assert main(["predict", str(path), "--params", "0", "--tokens", "1e12"]) == 2
