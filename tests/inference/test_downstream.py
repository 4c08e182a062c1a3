"""fit_downstream: recovery on simulated sigmoid data, forecasts, sb.predict, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.model.downstream import simulate_downstream
from scaling_bayes.posterior.downstream import DownstreamFitError

SIZES = np.array([1e8, 2e8, 4e8, 8e8, 1.6e9])
MULT = np.array([0.5, 1.0, 2.0, 5.0, 10.0])
TRUTH = dict(eE=0.0, lnA0=-1.2, lnB0=-1.0, alpha=0.35, beta=0.3, tau1=0.01,
             m=float(np.log(1.1)), k=6.0, u=0.6, tau2=0.006)  # L0 = 1.1, ceiling 0.25+0.75*0.6


def _design():
    N = np.repeat(SIZES, MULT.size)
    D = np.tile(MULT, SIZES.size) * 20 * N
    return N, D


def _simulate(seed=3, mode="chained"):
    N, D = _design()
    N0, D0 = float(np.exp(np.log(N).mean())), float(np.exp(np.log(D).mean()))
    s = simulate_downstream(N, D, TRUTH, mode=mode, floor=0.25, N0=N0, D0=D0, log_ref=0.0,
                            log_min=float(np.log(1.4)), seed=seed)
    return pd.DataFrame({"N": N, "D": D, "bpb_task": s["loss"], "acc_task": s["metric"]}), s


@pytest.fixture(scope="module")
def sampler_seed(request):
    return request.config.getoption("--sampler-seed-shift")


@pytest.fixture(scope="module")
def small_fit(sampler_seed):
    df, _ = _simulate()
    return sb.fit_downstream(df, "bpb_task", "acc_task", chance=0.25, chains=2, warmup=300,
                             draws=300, seed=sampler_seed)


def test_simulated_data_look_like_a_ladder():
    df, s = _simulate()
    assert (df["acc_task"] > 0.2).all() and (df["acc_task"] < 0.75).all()
    assert df["bpb_task"].between(0.9, 2.5).all()
    assert s["E"] == pytest.approx(0.7)


def test_recovers_the_sigmoid_and_predicts_inside(small_fit):
    f = small_fit
    th = f.flat()
    for name, value in (("k", TRUTH["k"]), ("L0", 1.1)):
        lo, hi = np.quantile(th[name], [0.01, 0.99])
        assert lo <= value <= hi, f"{name}={value} outside [{lo}, {hi}]"
    # the true chained law at a point beyond the design (2x the largest run) is covered
    N, D = np.array([3.2e9]), np.array([3.2e9 * 100.0])
    N0, D0 = f.ref["N0"], f.ref["D0"]
    true = simulate_downstream(N, D, {**TRUTH, "tau1": 1e-9, "tau2": 1e-9}, floor=0.25,
                               N0=N0, D0=D0, log_ref=0.0, log_min=float(np.log(1.4)),
                               mode="joint")
    p = f.predict(N=N, D=D, quantiles=(0.01, 0.5, 0.99), threshold=0.5)
    assert p["metric_mean_q1"][0] <= true["metric"][0] <= p["metric_mean_q99"][0]
    assert p["loss_mean_q1"][0] <= true["loss"][0] <= p["loss_mean_q99"][0]
    # predictive wider than credible; probabilities in [0, 1] and ordered with the threshold
    assert p["metric_pred_q99"][0] - p["metric_pred_q1"][0] > \
        p["metric_mean_q99"][0] - p["metric_mean_q1"][0]
    lo = f.predict(N=N, D=D, threshold=0.3)["p_above"][0]
    assert 0 <= p["p_above"][0] <= lo <= 1


def test_sb_predict_dispatches_and_checks_arguments(small_fit):
    a = sb.predict(small_fit, N=[1e9, 2e9], D=[2e10, 4e10], seed=1)
    b = small_fit.predict(N=[1e9, 2e9], D=[2e10, 4e10], seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert {"loss_mean_q5", "loss_pred_q95", "metric_mean_q50", "metric_pred_q5"} <= set(a)
    c = sb.predict(small_fit, N=1e9, C=6 * 1e9 * 2e10)
    assert c["D"][0] == pytest.approx(2e10)
    with pytest.raises(DownstreamFitError, match="give two of N, D and C"):
        small_fit.predict(N=1e9)
    with pytest.raises(DownstreamFitError, match="positive"):
        small_fit.predict(N=-1.0, D=1e10)
    with pytest.raises(DownstreamFitError, match="quantiles"):
        small_fit.predict(N=1e9, D=1e10, quantiles=(0.5, 1.5))
    with pytest.raises(ValueError, match="not compute_optimal, structural"):
        sb.predict(small_fit, C=1e20, compute_optimal=True, structural=False)
    assert isinstance(small_fit.check(), list)
    assert set(small_fit.summary().index) >= {"alpha", "k", "L0", "sigma_metric", "ceiling"}


def test_step2_curve_is_monotone(small_fit):
    c = small_fit.curve(np.linspace(0.9, 2.0, 12))
    assert (np.diff(c["metric_q50"]) < 0).all()
    assert (c["metric_q5"] >= 0.25 - 1e-12).all()


def test_save_load_roundtrip(small_fit, tmp_path):
    path = tmp_path / "fit.npz"
    small_fit.save(path)
    g = sb.load_downstream(path)
    assert g.mode == small_fit.mode and g.floor == small_fit.floor
    for k, v in small_fit.posterior.items():
        np.testing.assert_array_equal(g.posterior[k], v)
    pd.testing.assert_frame_equal(g.predict(N=1e9, D=2e10), small_fit.predict(N=1e9, D=2e10))
    (tmp_path / "junk.npz").write_bytes(b"not a file")
    with pytest.raises(DownstreamFitError, match="cannot read"):
        sb.load_downstream(tmp_path / "junk.npz")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["chained", "joint"])
def test_recovery_full_sampler(mode, sampler_seed):
    df, _ = _simulate(seed=11, mode=mode)
    f = sb.fit_downstream(df, "bpb_task", "acc_task", chance=0.25, mode=mode,
                          seed=sampler_seed)
    s = f.summary()
    assert s["r_hat"].max() <= 1.01
    th = f.flat()
    for name, value in (("k", 6.0), ("L0", 1.1)):
        lo, hi = np.quantile(th[name], [0.01, 0.99])
        assert lo <= value <= hi, f"{name}={value} outside [{lo}, {hi}]"


@pytest.mark.slow
def test_direct_mode_fits_the_metric_alone(sampler_seed):
    df, _ = _simulate(seed=5)
    f = sb.fit_downstream(df, "bpb_task", "acc_task", chance=0.25, mode="direct",
                          chains=2, warmup=500, draws=500, seed=sampler_seed)
    p = f.predict(N=df["N"], D=df["D"], quantiles=(0.05, 0.95))
    inside = (p["metric_pred_q5"] <= df["acc_task"]) & (df["acc_task"] <= p["metric_pred_q95"])
    assert inside.mean() >= 0.7
    assert "loss_mean" not in p
