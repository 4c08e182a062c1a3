"""forecast_run: bands along a planned run, a run in progress, schedules compared (issue 17)."""

import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.data.schedules import cosine, wsd
from scaling_bayes.decisions.curves import ForecastError, ScheduleComparison
from scaling_bayes.model.curves import simulate_curves

TRUTH = {"E": 2.0, "A": 400.0, "alpha_N": 0.3, "B": 2.2, "alpha_S": 0.5, "C": 0.15,
         "gamma": 0.0}


def ladder(sizes=(1e8, 2e8, 4e8, 8e8), lengths=(3000, 9000), every=150, seed=0):
    """The simulated ladder of tests/inference/test_fit_curves.py (same shapes: the compiled
    programs are shared)."""
    runs = {}
    for N in sizes:
        for T in lengths:
            runs[f"{N:.0e}-{T}"] = (N, cosine(T, 1e-3, warmup=150, final=0.1))
        runs[f"{N:.0e}-wsd"] = (N, wsd(lengths[-1], 1e-3, warmup=150, decay_frac=0.2))
    return simulate_curves(TRUTH, runs, every=every, seed=seed)


RUN = "4e+08-9000"


@pytest.fixture(scope="module")
def fit_and_data():
    df = ladder()
    # a run in progress: RUN is logged up to step 4500 only
    cut = (df["run"] == RUN) & (df["step"] > 4500)
    fit = sb.fit_curves(df[~cut], seed=0, chains=2, warmup=250, draws=200, warn=False)
    return fit, df


def test_forecast_bands_along_a_planned_run(fit_and_data):
    fit, _ = fit_and_data
    fc = sb.forecast_run(fit, N=1.6e9, tokens=8000 * 5e5, lr=cosine(8000, 1e-3, warmup=150))
    t = fc.table
    assert t["step"].iloc[-1] == 8000 and t["step"].is_monotonic_increasing
    assert (t["pred_lo"] <= t["mean_lo"]).all() and (t["mean_hi"] <= t["pred_hi"]).all()
    assert (t["mean_lo"] <= t["loss"]).all() and (t["loss"] <= t["mean_hi"]).all()
    np.testing.assert_allclose(t["tokens"], t["step"] * 5e5)
    assert "CurveForecast N=1.6e+09 final step 8000" in repr(fc)
    assert fc.final_draws.shape == (400,)
    # beyond the data (a 2x larger model) the 99% credible band covers the noise-free truth
    wide = sb.forecast_run(fit, N=1.6e9, lr=cosine(8000, 1e-3, warmup=150), level=0.99).final
    truth = np.exp(np.asarray(sb.get_law("lr_annealing").log_loss(
        TRUTH, {"N": np.array([1.6e9]), "S1": t["S1"].to_numpy()[-1:],
                "S2": t["S2"].to_numpy()[-1:]})))[0]
    assert wide["mean_lo"] <= truth <= wide["mean_hi"]
    assert wide["mean_hi"] - wide["mean_lo"] > fc.final["mean_hi"] - fc.final["mean_lo"]


def test_run_in_progress_is_continued_from_its_own_curve(fit_and_data):
    fit, df = fit_and_data
    run = RUN
    fc = sb.forecast_run(fit, run=run, lr=cosine(9000, 1e-3, warmup=150, final=0.1))
    truth = df[df["run"] == run].iloc[-1]
    f = fc.final
    assert f["pred_lo"] <= truth["loss"] <= f["pred_hi"]
    assert abs(f["loss"] / truth["loss"] - 1) < 0.01
    # the default schedule of a run is its own logged one (up to its last checkpoint)
    assert sb.forecast_run(fit, run=run).final["step"] == 4500


def test_cooldown_versus_cosine(fit_and_data):
    fit, _ = fit_and_data
    T = 8000
    cmp = sb.forecast_run(fit, N=4e8, lr={"cosine": cosine(T, 1e-3, warmup=150),
                                          "wsd@6400": wsd(T, 1e-3, warmup=150, decay_start=6400),
                                          "constant": sb.schedules.constant(T, 1e-3)})
    assert isinstance(cmp, ScheduleComparison)
    tab = cmp.table
    assert list(tab.index) == ["cosine", "wsd@6400", "constant"]
    assert tab.loc["cosine", "diff_vs_cosine"] == 0.0
    # the paired differences of the final losses cover the true ones (99% here: one interval
    # per schedule, fixed seeds)
    law = sb.get_law("lr_annealing")
    true = {}
    for name, lr in (("cosine", cosine(T, 1e-3, warmup=150)),
                     ("wsd@6400", wsd(T, 1e-3, warmup=150, decay_start=6400)),
                     ("constant", sb.schedules.constant(T, 1e-3))):
        s1, s2 = sb.schedules.schedule_features(lr)
        true[name] = float(np.exp(law.log_loss(TRUTH, {"N": np.array([4e8]), "S1": s1[-1:],
                                                       "S2": s2[-1:]}))[0])
    cmp99 = sb.forecast_run(fit, N=4e8, level=0.99, lr={
        "cosine": cosine(T, 1e-3, warmup=150),
        "wsd@6400": wsd(T, 1e-3, warmup=150, decay_start=6400),
        "constant": sb.schedules.constant(T, 1e-3)}).table
    for name in ("wsd@6400", "constant"):
        d = true[name] - true["cosine"]
        assert cmp99.loc[name, "diff_lo"] <= d <= cmp99.loc[name, "diff_hi"], (name, d)
        assert tab.loc[name, "diff_lo"] <= tab.loc[name, "diff_vs_cosine"] <= tab.loc[
            name, "diff_hi"]
    assert 0 <= tab.loc["constant", "p_lower"] <= 1


@pytest.mark.parametrize("kwargs, word", [
    ({"N": 1e9}, "lr: give the learning rate"),
    ({"lr": cosine(100, 1e-3)}, "N \\(model size"),
    ({"N": 1e9, "lr": [1e-3]}, "1-D array"),
    ({"run": "nope"}, "run 'nope' is not in the fit"),
    ({"run": RUN, "lr": cosine(1000, 1e-3)}, "fewer than the 4500 run"),
    ({"N": 1e9, "lr": cosine(100, 1e-3), "level": 1.5}, "level"),
])
def test_forecast_errors(fit_and_data, kwargs, word):
    fit, _ = fit_and_data
    with pytest.raises(ForecastError, match=word):
        sb.forecast_run(fit, **kwargs)
