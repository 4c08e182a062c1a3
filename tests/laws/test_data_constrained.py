"""The data-constrained law (``data_constrained``, Muennighoff et al. 2023): recovery on a small
synthetic sweep (60 rows, padded to 64), its epoch value and compute-optimal allocation of unique
data, the reduction to Chinchilla for fresh data, and, under ``-m slow``, the fit on the
DataBlations runs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_recovery, fit_is_clean, simulate

import scaling_bayes as sb
from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.decisions.epochs import compute_optimal_unique, epoch_value
from scaling_bayes.laws import MUENNIGHOFF_2023, get_law

#: Sampler settings of the recovery fit (see the comment in the test).
SETTINGS = {"chains": 4, "warmup": 500, "draws": 1000}


def dc_sweep(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 9.5, n)
    U = 10 ** rng.uniform(8, 10, n)
    epochs = np.maximum(1.0, 10 ** rng.uniform(-0.3, 2.0, n))
    return simulate(
        "data_constrained", MUENNIGHOFF_2023, {"N": N, "D": U * epochs, "U": U}, n, seed=seed
    )



def test_data_constrained_recovery_and_epoch_value():
    df = dc_sweep()
    # 4 x 300 draws: max R-hat 1.006-1.013 over sampler seeds 0-5 (1.01 inside the noise);
    # 4 x 1000 (500 warmup): 1.0013-1.0032, min tail ESS >= 1800, under 1.5 s a fit
    fit = sb.fit(df, law="data_constrained", seed=0, warn=False, **SETTINGS)
    check_recovery(fit, MUENNIGHOFF_2023, level=0.95)
    ev = epoch_value(fit, epochs=[1, 4, 16, 64], unique_tokens=1e9, N=1e8)
    eff = ev[ev.quantity == "effective_epochs"].set_index("epochs")
    assert eff.loc[1.0, "mean"] == pytest.approx(1.0)
    assert eff["q50"].is_monotonic_increasing
    assert (eff["q95"] <= 1 + fit.draws("R_D_star").max()).all()
    loss = ev[ev.quantity == "loss"].set_index("epochs")["q50"]
    assert loss.is_monotonic_decreasing  # more epochs still help, with diminishing returns
    # forecasts with the third input; the same numbers as epoch_value's loss
    pred = sb.predict(fit, N=1e8, D=[1e9, 4e9, 1.6e10, 6.4e10], U=1e9)
    np.testing.assert_allclose(pred["mean_q50"], loss.to_numpy(), rtol=1e-10)
    assert (pred["pred_q5"] < pred["mean_q5"]).all() and (pred["pred_q95"] > pred["mean_q95"]).all()
    with pytest.raises(ValueError, match="missing U"):
        sb.predict(fit, N=1e8, D=1e9)
    # compute-optimal allocation when only U unique tokens exist: more epochs at larger budgets
    res = compute_optimal_unique(fit, [1e19, 1e21], unique_tokens=1e9)
    ep = res.quantity("epochs")["q50"].to_numpy()
    assert res.method == "numeric" and 1.0 <= ep[0] < ep[1]


def test_data_constrained_reduces_to_chinchilla_for_fresh_data():
    enable_x64_on_cpu()
    law, chin = get_law("data_constrained"), get_law("chinchilla")
    th = dict(MUENNIGHOFF_2023)
    N, D = np.array([1e7, 1e8]), np.array([1e10, 1e11])  # N below N_opt(U=D): no excess
    a = law.log_loss(th, {"N": N, "D": D, "U": D})
    b = chin.log_loss({k: th[k] for k in chin.param_names}, {"N": N, "D": D})
    np.testing.assert_allclose(a, b, rtol=1e-12)



@pytest.mark.slow
def test_data_constrained_on_datablations():
    fit = sb.fit(sb.load_dataset("muennighoff2023"), law="data_constrained", seed=0, warn=False)
    assert fit_is_clean(fit)
    s = fit.summary()
    assert 1.0 < s.loc["R_D_star", "q50"] < 100.0

