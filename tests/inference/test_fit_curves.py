"""fit_curves: recovery on simulated curves, the correlated likelihood against iid, files,
errors (issue 17)."""

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.data.schedules import cosine, wsd
from scaling_bayes.model.curves import simulate_curves
from scaling_bayes.model.settings import SettingsError

#: Textbook truth of the simulations (lr_annealing; S1 in lr x steps, S2 with lam = 0.999).
TRUTH = {"E": 2.0, "A": 400.0, "alpha_N": 0.3, "B": 2.2, "alpha_S": 0.5, "C": 0.15,
         "gamma": 0.0}


def ladder(sizes=(1e8, 2e8, 4e8, 8e8), lengths=(3000, 9000), every=150, seed=0, **noise):
    runs = {}
    for N in sizes:
        for T in lengths:
            runs[f"{N:.0e}-{T}"] = (N, cosine(T, 1e-3, warmup=150, final=0.1))
        runs[f"{N:.0e}-wsd"] = (N, wsd(lengths[-1], 1e-3, warmup=150, decay_frac=0.2))
    return simulate_curves(TRUTH, runs, every=every, seed=seed, **noise)


@pytest.fixture(scope="module")
def small_fit():
    return sb.fit_curves(ladder(), seed=0, chains=2, warmup=250, draws=200, warn=False)


def test_recovers_the_law_on_simulated_curves(small_fit):
    fit = small_fit
    s = fit.summary(quantiles=(0.025, 0.975))
    for p in ("alpha_S", "B", "C"):
        lo, hi = s.loc[p, "q2.5"], s.loc[p, "q97.5"]
        assert lo <= TRUTH[p] <= hi, (p, lo, hi)
    # the loss surface itself: the law's median within 0.5% of the noise-free loss everywhere
    df = ladder()
    cd = fit.data
    t = cd.table.merge(df[["run", "step", "mu"]], on=["run", "step"])
    med = np.exp(np.median(fit.log_law(t["N"], t["S1"], t["S2"]), axis=0))
    assert np.max(np.abs(med / t["mu"] - 1)) < 0.005
    assert fit.divergences <= 5


def test_fit_is_a_curvefit_with_noise_parameters(small_fit):
    fit = small_fit
    assert isinstance(fit, sb.CurveFit) and fit.noise == "ar1"
    assert {"sigma", "ell", "E", "alpha_N"} <= set(fit.summary().index)
    assert fit.flat("sigma").shape == (400,)
    assert "CurveFit law=lr_annealing" in repr(fit)


def test_save_load_roundtrip(small_fit, tmp_path):
    path = small_fit.save(tmp_path / "curves.nc")
    back = sb.load_fit(path)
    assert isinstance(back, sb.CurveFit) and back.noise == small_fit.noise
    for k, v in small_fit.posterior.items():
        np.testing.assert_array_equal(back.posterior[k], v)
    pd.testing.assert_frame_equal(back.data.table, small_fit.data.table)
    assert back.ref == small_fit.ref and back.config == small_fit.config


def test_errors_are_clear():
    df = ladder()
    with pytest.raises(SettingsError, match="fit_curves fits laws of N, S1 and S2"):
        sb.fit_curves(df, law="chinchilla")
    with pytest.raises(SettingsError, match="noise must be one of"):
        sb.fit_curves(df, noise="ar2")
    with pytest.raises(sb.DataError, match="single model size"):
        sb.fit_curves(df[df["N"] == 1e8])
    with pytest.raises(sb.DataError, match="'run'"):
        sb.fit_curves(df.drop(columns="run"))


def _width(fit, N=1.6e9, T=9000):
    fc = sb.forecast_run(fit, N=N, lr=cosine(T, 1e-3, warmup=150))
    return float(fc.final["mean_hi"] - fc.final["mean_lo"])


@pytest.mark.slow
def test_every_checkpoint_vs_every_tenth():
    """AR(1): keeping every checkpoint or every 10th leaves the 90% credible interval of a
    forecast (a larger model, beyond the data) nearly unchanged; iid shrinks it ~sqrt(10)."""
    df = ladder(every=50, seed=3, sigma=0.004, ell=0.5)
    kw = dict(seed=0, chains=4, warmup=500, draws=500, warn=False)
    w = {}
    for noise in ("ar1", "iid"):
        for thin in (1, 10):
            w[noise, thin] = _width(sb.fit_curves(df, noise=noise, thin=thin, **kw))
    ar1 = w["ar1", 10] / w["ar1", 1]
    iid = w["iid", 10] / w["iid", 1]
    assert 0.8 < ar1 < 1.35, w
    assert iid > 2.0, w


@pytest.mark.slow
def test_run_effect_model_fits_forecasts_and_saves(tmp_path):
    df = ladder(seed=5, tau=0.003)
    fit = sb.fit_curves(df, noise="ar1_run", seed=0, chains=2, warmup=250, draws=200, warn=False)
    assert fit.posterior["run_effect"].shape == (2, 200, 12)
    assert {"tau", "ell", "sigma"} <= set(fit.summary().index)
    assert "run_effect[1e+08-3000]" in fit.summary("all").index
    new = sb.forecast_run(fit, N=1.6e9, lr=cosine(9000, 1e-3, warmup=150)).final
    assert new["pred_lo"] < new["loss"] < new["pred_hi"]
    # at a run's own last checkpoint the forecast is that checkpoint (offset + carried residual)
    old = sb.forecast_run(fit, run="1e+08-3000").final
    observed = df.loc[df["run"] == "1e+08-3000", "loss"].iloc[-1]
    np.testing.assert_allclose([old["loss"], old["pred_lo"], old["pred_hi"]], observed, rtol=1e-9)
    back = sb.load_fit(fit.save(tmp_path / "run.nc"))
    np.testing.assert_array_equal(back.posterior["run_effect"], fit.posterior["run_effect"])
