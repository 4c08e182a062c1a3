"""Laws of issue 8: data_constrained (Muennighoff 2023),
overtraining (Gadre 2024), kaplan_learning_curve (Kaplan 2020 §5) and user-defined laws
(custom_law): recovery on small synthetic sweeps (60 rows, padded to 64 like the other tests),
their helpers, and, under ``-m slow``, the fits on real data."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import FAST, TRUTH, synthetic
from jax.scipy.special import logsumexp

import scaling_bayes as sb
from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.decisions.epochs import compute_optimal_unique, epoch_value
from scaling_bayes.laws import (
    KAPLAN_2020_LEARNING_CURVE,
    LAWS,
    MUENNIGHOFF_2023,
    get_law,
    kaplan_min_conversions,
)
from scaling_bayes.model.custom import custom_law
from scaling_bayes.posterior.fit import FitFileError

#: Smaller than FAST: these laws compile their own programs, so keep the default run short.
QUICK = {"chains": 4, "warmup": 250, "draws": 300}
#: The custom Chinchilla law samples unpivoted amplitudes with log-scale exponents: log A and
#: log alpha lie on a curved ridge (log A ~ log A_ref + alpha * log N_ref) that the Laplace
#: whitening, being linear, cannot straighten, so bulk ESS per draw is ~0.25 (the built-in,
#: pivoted law: ~0.8). At 4 x 300 draws max R-hat was 1.006-1.021 over sampler seeds 0-5 (the
#: 1.01 threshold inside the noise); at 4 x 1000 (500 warmup) 1.002-1.007, min bulk and tail
#: ESS >= 950, each fit ~1 s.
CUSTOM = {"chains": 4, "warmup": 500, "draws": 1000}

OT_TRUTH = {"E": 1.69, "a": 400.0, "b": 1000.0, "eta": 0.15}


def _simulate(law_name, theta, cols, n=60, sigma=0.01, seed=0):
    from scaling_bayes._core.env import enable_x64_on_cpu

    enable_x64_on_cpu()
    law = get_law(law_name)
    rng = np.random.default_rng(seed + 100)
    mu = np.asarray(
        law.log_loss({k: np.float64(v) for k, v in theta.items()}, {v: cols[v] for v in law.inputs})
    )
    return pd.DataFrame({**cols, "loss": np.exp(mu + sigma * rng.standard_normal(n))})


def dc_sweep(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 9.5, n)
    U = 10 ** rng.uniform(8, 10, n)
    epochs = np.maximum(1.0, 10 ** rng.uniform(-0.3, 2.0, n))
    return _simulate(
        "data_constrained", MUENNIGHOFF_2023, {"N": N, "D": U * epochs, "U": U}, n, seed=seed
    )


def lc_sweep(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 9.3, n)
    S = 10 ** rng.uniform(3, 5, n)
    B = 2.0 ** rng.integers(19, 23, n)  # 0.5M - 4M tokens per step
    return _simulate(
        "kaplan_learning_curve",
        KAPLAN_2020_LEARNING_CURVE,
        {"N": N, "D": S * B, "S": S},
        n,
        seed=seed,
    )


def ot_sweep(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 10, n)
    D = N * 10 ** rng.uniform(0, 3, n)  # 1 - 1000 tokens per parameter
    return _simulate("overtraining", OT_TRUTH, {"N": N, "D": D}, n, seed=seed)


def _check_recovery(fit, truth, level=0.9):
    s = fit.summary()
    assert fit.divergences == 0
    assert (s["r_hat"] <= 1.01).all(), s["r_hat"]
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    for name, value in truth.items():
        d = fit.draws(name).reshape(-1)
        lo, hi = np.quantile(d, [lo_q, hi_q])
        assert lo <= value <= hi, f"{name}={value} outside {level:.0%} interval [{lo}, {hi}]"


# ----------------------------------------------------------------------------- custom laws
def _chinchilla_fn(th, x):
    return logsumexp(
        jnp.stack(
            jnp.broadcast_arrays(
                jnp.log(th["E"]),
                jnp.log(th["A"]) - th["alpha"] * jnp.log(x["N"]),
                jnp.log(th["B"]) - th["beta"] * jnp.log(x["D"]),
            )
        ),
        axis=0,
    )


CHIN_PRIORS = {
    "E": "LogNormal(loc=0.5, scale=0.6)",
    "A": "LogNormal(loc=6.0, scale=2.0)",
    "B": "LogNormal(loc=6.0, scale=2.0)",
    "alpha": "LogNormal(loc=-1.2, scale=0.6)",
    "beta": "LogNormal(loc=-1.2, scale=0.6)",
}


@pytest.fixture
def user_chinchilla():
    name = "test_user_chinchilla"
    LAWS.unregister(name)
    law = custom_law(name, _chinchilla_fn, CHIN_PRIORS, inputs=("N", "D"))
    assert LAWS.get(name) is law and sb.custom_law is custom_law
    yield law
    LAWS.unregister(name)


def test_custom_law_recovers_and_allocates_like_builtin(user_chinchilla, small_fit, tmp_path):
    assert user_chinchilla.name in sb.list_laws()
    # the data of conftest's small_fit (built-in law); on them E sits near the 90% edge
    fit = sb.fit(synthetic("chinchilla"), law=user_chinchilla.name, seed=0, warn=False, **CUSTOM)
    # On these data E's truth sits at the ~97% posterior quantile (a property of the data
    # realization, not of the sampler: 0.967 under the built-in law), so a 95% interval
    # has it inside or outside by Monte Carlo noise (outside for sampler seeds 1 and 4 of 0-5);
    # the 99% interval holds it for every seed (upper end 1.705-1.712 over seeds 0-5).
    _check_recovery(fit, TRUTH["chinchilla"], level=0.99)
    # the same allocation as the built-in law's (numeric vs closed form), within MC error
    C = [1e22, 1e24]
    mine = sb.compute_optimal(fit, C)
    ref = sb.compute_optimal(small_fit, C)
    assert mine.method == "numeric"
    for q in ("N_opt", "tokens_per_param", "loss_opt"):
        a, b = np.log(mine.draws[q]), np.log(ref.draws[q])
        mc = 4 * np.sqrt(a.var(axis=0) / 500 + b.var(axis=0) / 500) + 1e-9
        assert np.all(np.abs(np.median(a, axis=0) - np.median(b, axis=0)) < mc), q
    # forecasts work, and the fit reloads by name only where the law is defined again
    pred = sb.predict(fit, N=[70e9], D=[1.4e12])
    assert np.isfinite(pred.filter(like="mean_q").to_numpy()).all()
    path = tmp_path / "user.nc"
    fit.save(path)
    LAWS.unregister(user_chinchilla.name)
    with pytest.raises(FitFileError, match="custom_law"):
        sb.load_fit(path)
    custom_law(user_chinchilla.name, _chinchilla_fn, CHIN_PRIORS)
    again = sb.load_fit(path)
    np.testing.assert_array_equal(again.posterior["alpha"], fit.posterior["alpha"])


def test_custom_law_bad_input_is_caught_early():
    with pytest.raises(ValueError, match="inputs must be"):
        custom_law("x1", _chinchilla_fn, CHIN_PRIORS, inputs=("N", "Q"), register=False)
    with pytest.raises(ValueError, match="failed at prior medians"):
        custom_law("x2", lambda th, x: th["missing"] * x["N"], CHIN_PRIORS, register=False)
    with pytest.raises(ValueError, match="already registered"):
        custom_law("chinchilla", _chinchilla_fn, CHIN_PRIORS)
    with pytest.raises(ValueError, match="reserved"):
        custom_law("x3", _chinchilla_fn, {"sigma": "HalfNormal(1.0)"}, register=False)
    law = custom_law("x4", _chinchilla_fn, {**CHIN_PRIORS, "lnX": "Normal(0, 1)"}, register=False)
    assert "x4" not in LAWS
    assert {s.name: s.domain for s in law.sites}["lnX"] == "real"
    assert {s.name: s.domain for s in law.sites}["A"] == "positive"


# ----------------------------------------------------------------------------- data constrained
def test_data_constrained_recovery_and_epoch_value():
    df = dc_sweep()
    # 4 x 300 draws: max R-hat 1.006-1.013 over sampler seeds 0-5 (1.01 inside the noise);
    # 4 x 1000 (500 warmup): 1.0013-1.0032, min tail ESS >= 1800, under 1.5 s a fit
    fit = sb.fit(df, law="data_constrained", seed=0, warn=False, **CUSTOM)
    _check_recovery(fit, MUENNIGHOFF_2023, level=0.95)
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


# ----------------------------------------------------------------------------- overtraining
def test_overtraining_is_chinchilla_with_tied_exponents():
    enable_x64_on_cpu()
    law, chin = get_law("overtraining"), get_law("chinchilla")
    th = OT_TRUTH
    N, D = np.array([1e8, 1e9, 7e10]), np.array([2e9, 1e11, 1.4e12])
    M, C = D / N, 6 * N * D
    expected = th["E"] + (th["a"] * M ** th["eta"] + th["b"] * M ** -th["eta"]) * C ** -th["eta"]
    np.testing.assert_allclose(np.exp(law.log_loss(th, {"N": N, "D": D})), expected, rtol=1e-12)
    eq = {
        "E": th["E"],
        "alpha": 2 * th["eta"],
        "beta": 2 * th["eta"],
        "A": th["a"] * 6 ** -th["eta"],
        "B": th["b"] * 6 ** -th["eta"],
    }
    np.testing.assert_allclose(
        law.log_loss(th, {"N": N, "D": D}), chin.log_loss(eq, {"N": N, "D": D}), rtol=1e-12
    )


@pytest.mark.slow  # default-run budget: the tied-exponent identity above is the quick check
def test_overtraining_recovery_and_allocation():
    fit = sb.fit(ot_sweep(), law="overtraining", seed=0, warn=False, **QUICK)
    _check_recovery(fit, OT_TRUTH)
    res = sb.compute_optimal(fit, [1e21, 1e24])
    tpp = res.draws["tokens_per_param"]
    th = fit.textbook_draws()
    m_star = (np.asarray(th["b"]) / np.asarray(th["a"])) ** (1 / (2 * np.asarray(th["eta"])))
    np.testing.assert_allclose(tpp[:, 0], m_star.reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(tpp[:, 1], tpp[:, 0], rtol=1e-6)  # M* does not depend on C


# ----------------------------------------------------------------------------- learning curve
@pytest.mark.slow  # its own compiled program with a Newton solve: ~80 s on a busy 2-core machine
def test_kaplan_learning_curve_recovery():
    fit = sb.fit(lc_sweep(), law="kaplan_learning_curve", seed=0, warn=False, **FAST)
    _check_recovery(fit, KAPLAN_2020_LEARNING_CURVE)


def test_kaplan_learning_curve_solves_its_implicit_loss():
    enable_x64_on_cpu()
    law = get_law("kaplan_learning_curve")
    th = KAPLAN_2020_LEARNING_CURVE
    N, S, B = np.array([1e8, 1e9]), np.array([2e3, 5e4]), np.array([2.0**21, 2.0**22])
    L = np.exp(np.asarray(law.log_loss(th, {"N": N, "D": S * B, "S": S})))
    s_min = kaplan_min_conversions(S, B, L)["S_min"]
    expected = (th["N_c"] / N) ** th["alpha_N"] + (th["S_c"] / s_min) ** th["alpha_S"]
    np.testing.assert_allclose(L, expected, rtol=1e-10)


# ----------------------------------------------------------------------------- real data (slow)
def _clean(fit):
    s = fit.summary()
    return fit.divergences == 0 and s["r_hat"].max() <= 1.01 and s["ess_bulk"].min() >= 400


def gemstones_learning_curve():
    """Example data of kaplan_learning_curve: Gemstones constant-LR checkpoints (batch 2048 x
    2048 tokens = D/step), every second checkpoint from 20B tokens on."""
    g = sb.load_dataset("gemstones2025")
    g = g[g["phase"] == "constant_lr_checkpoint"]
    k = g.groupby("run_name").cumcount()
    return g[(k % 2 == 1)].reset_index(drop=True)


@pytest.mark.slow
def test_data_constrained_on_datablations():
    fit = sb.fit(sb.load_dataset("muennighoff2023"), law="data_constrained", seed=0, warn=False)
    assert _clean(fit)
    s = fit.summary()
    assert 1.0 < s.loc["R_D_star", "q50"] < 100.0


@pytest.mark.slow
def test_overtraining_on_epoch_chinchilla(chinchilla_epoch):
    fit = sb.fit(chinchilla_epoch, law="overtraining", seed=0, warn=False)
    assert _clean(fit)


@pytest.mark.slow
def test_kaplan_learning_curve_on_gemstones():
    fit = sb.fit(gemstones_learning_curve(), law="kaplan_learning_curve", seed=0, warn=False)
    assert _clean(fit)
