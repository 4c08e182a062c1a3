"""forecast_run: bands along a planned run, a run in progress, schedules compared (issue 17)."""

import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.data.schedules import cosine, wsd
from scaling_bayes.decisions.curves import ForecastError, ScheduleComparison
from scaling_bayes.model.curves import simulate_curves

TRUTH = {"E": 2.0, "A": 400.0, "alpha_N": 0.3, "B": 2.2, "alpha_S": 0.5, "C": 0.15,
         "gamma": 0.0}


@pytest.fixture(scope="module")
def fit_and_data():
    runs = {}
    for N in (1e8, 2e8, 4e8):
        for T in (3000, 8000):
            runs[f"{N:.0e}-{T}"] = (N, cosine(T, 1e-3, warmup=150))
    df = simulate_curves(TRUTH, runs, every=200, seed=1)
    # a run in progress: the 4e8 x 8000 run is logged up to step 4000 only
    cut = (df["run"] == "4e+08-8000") & (df["step"] > 4000)
    fit = sb.fit_curves(df[~cut], seed=0, chains=2, warmup=200, draws=150, warn=False)
    return fit, df


def test_forecast_bands_along_a_planned_run(fit_and_data):
    fit, _ = fit_and_data
    fc = sb.forecast_run(fit, N=8e8, tokens=8000 * 5e5, lr=cosine(8000, 1e-3, warmup=150))
    t = fc.table
    assert t["step"].iloc[-1] == 8000 and t["step"].is_monotonic_increasing
    assert (t["pred_lo"] <= t["mean_lo"]).all() and (t["mean_hi"] <= t["pred_hi"]).all()
    assert (t["mean_lo"] <= t["loss"]).all() and (t["loss"] <= t["mean_hi"]).all()
    np.testing.assert_allclose(t["tokens"], t["step"] * 5e5)
    assert "CurveForecast N=8e+08 final step 8000" in repr(fc)
    assert fc.final_draws.shape == (300,)


def test_run_in_progress_is_continued_from_its_own_curve(fit_and_data):
    fit, df = fit_and_data
    run = "4e+08-8000"
    fc = sb.forecast_run(fit, run=run, lr=cosine(8000, 1e-3, warmup=150))
    truth = df[df["run"] == run].iloc[-1]
    f = fc.final
    assert f["pred_lo"] <= truth["loss"] <= f["pred_hi"]
    assert abs(f["loss"] / truth["loss"] - 1) < 0.01
    # the default schedule of a run is its own logged one (up to its last checkpoint)
    assert sb.forecast_run(fit, run=run).final["step"] == 4000


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
    # no annealing at all ends higher than the cosine: the law's annealing term
    assert tab.loc["constant", "diff_lo"] > 0 and tab.loc["constant", "p_lower"] < 0.05


@pytest.mark.parametrize("kwargs, word", [
    ({"N": 1e9}, "lr: give the learning rate"),
    ({"lr": cosine(100, 1e-3)}, "N \\(model size"),
    ({"N": 1e9, "lr": [1e-3]}, "1-D array"),
    ({"run": "nope"}, "run 'nope' is not in the fit"),
    ({"N": 1e9, "lr": cosine(100, 1e-3), "level": 1.5}, "level"),
])
def test_forecast_errors(fit_and_data, kwargs, word):
    fit, _ = fit_and_data
    with pytest.raises(ForecastError, match=word):
        sb.forecast_run(fit, **kwargs)
