"""Laws of scaling_bayes.laws.bnsl, .transfer, .moe: BNSL, transfer, downstream error, routed MoE.

Default run: formulas, registry and documentation, covariate columns, and one small synthetic
recovery fit per law (60 rows -> padded 64, conftest.FAST). ``-m slow``: the BNSL paper's
extrapolation split on the bundled 4-digit-addition data, at default sampler settings, and the
two-break recovery.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest
from conftest import FAST

import scaling_bayes as sb
from scaling_bayes.data.observations import COVARIATES, MissingColumnError, load_data
from scaling_bayes.evaluation.examples import EXAMPLE_TRUTH, synthetic_example
from scaling_bayes.laws import INPUT_DESCRIPTIONS, get_law, make_bnsl
from scaling_bayes.model.priors import resolve_priors

jax.config.update("jax_enable_x64", True)
LAWS = ("bnsl1", "bnsl2", "transfer", "downstream_error", "routed_moe")


def _theta(law):
    return {k: np.float64(v) for k, v in EXAMPLE_TRUTH[law].items()}


# ----------------------------------------------------------------------------- formulas
def test_registered_and_documented():
    listed = sb.list_laws()
    for name in LAWS:
        law = get_law(name)
        assert name in listed and "L =" in listed[name]
        assert set(law.param_names) == set(EXAMPLE_TRUTH[name])
        for p in (*law.params, *law.sites):
            assert p.description
        priors = resolve_priors(law)
        assert set(priors) == {*law.site_names, "sigma"}
        for v in law.inputs:
            assert v in INPUT_DESCRIPTIONS
            assert v in ("N", "D", "C") or v in COVARIATES


def test_bnsl_formula_matches_the_paper():
    # Caballero et al. 2022 eq. 1: y = a + b x^-c0 prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i)
    x = np.logspace(1, 6, 50)
    for name in ("bnsl1", "bnsl2"):
        t = EXAMPLE_TRUTH[name]
        y = t["b"] * x ** -t["c0"]
        for i in (1, 2) if name == "bnsl2" else (1,):
            c, d, f = t[f"c{i}"], t[f"d{i}"], t[f"f{i}"]
            y = y * (1 + (x / d) ** (1 / f)) ** (-c * f)
        np.testing.assert_allclose(get_law(name)(_theta(name), D=x), t["a"] + y, rtol=1e-10)


def test_bnsl_factory():
    law = make_bnsl(3, var="N", name="bnsl3_N")
    assert law.inputs == ("N",)
    assert {"d1", "d2", "d3", "c3", "f3"} <= set(law.param_names)
    assert {"u1", "g2", "g3"} <= set(law.site_names)
    # breaks are ordered for any sampler values: d_(i+1) / d_i = exp(g_(i+1)) > 1
    phi = {s.name: 0.5 for s in law.sites}
    th = law.to_textbook(phi, {"N": 1e9})
    assert th["d1"] < th["d2"] < th["d3"]
    with pytest.raises(ValueError, match="n_breaks"):
        make_bnsl(0)


def test_other_formulas():
    L = np.linspace(1.5, 5.0, 20)
    t = EXAMPLE_TRUTH["transfer"]
    np.testing.assert_allclose(
        get_law("transfer")(_theta("transfer"), L_train=L), np.exp(t["a"]) * L ** t["b"], rtol=1e-12
    )
    t = EXAMPLE_TRUTH["downstream_error"]
    L = np.linspace(2.0, 5.0, 20)  # above L* = log(k/eps)/gamma = 1.9, where err > 0
    np.testing.assert_allclose(
        get_law("downstream_error")(_theta("downstream_error"), L_train=L),
        t["eps"] - t["k"] * np.exp(-t["gamma"] * L),
        rtol=1e-10,
    )
    t = EXAMPLE_TRUTH["routed_moe"]
    N, E = np.logspace(7, 10, 20), 2.0 ** np.arange(20)
    expected = np.exp(
        t["a"] * np.log(N) + t["b"] * np.log(E) + t["c"] * np.log(N) * np.log(E) + t["d"]
    )
    np.testing.assert_allclose(
        get_law("routed_moe")(_theta("routed_moe"), N=N, experts=E), expected, rtol=1e-12
    )
    # Clark et al.'s S-BASE magnitude: a 1.3B dense model near 2.7 nats, experts help
    dense = get_law("routed_moe")(
        _theta("routed_moe"), N=np.array([1.3e9]), experts=np.array([1.0])
    )
    moe = get_law("routed_moe")(_theta("routed_moe"), N=np.array([1.3e9]), experts=np.array([64.0]))
    assert 2.0 < float(dense[0]) < 3.5 and float(moe[0]) < float(dense[0])


def test_downstream_error_is_floored_below_zero_error():
    # the law predicts err <= 0 below L* = log(k/eps)/gamma; its log stays finite there
    t = EXAMPLE_TRUTH["downstream_error"]
    L_star = np.log(t["k"] / t["eps"]) / t["gamma"]
    out = np.asarray(
        get_law("downstream_error").log_loss(
            _theta("downstream_error"), {"L_train": np.array([0.5 * L_star, L_star, 2 * L_star])}
        )
    )
    assert np.all(np.isfinite(out)) and out[0] == out[1] < out[2]


# ----------------------------------------------------------------------------- data
def test_covariate_columns_by_alias_and_clear_errors():
    df = pd.DataFrame(
        {
            "N": [1e8, 2e8, 4e8],
            "num_experts": [1, 8, 64],
            "train_loss": [3.1, 2.9, 2.8],
            "loss": [3.3, 3.0, 2.9],
        }
    )
    d = load_data(df)
    np.testing.assert_array_equal(d.get("experts"), [1, 8, 64])
    np.testing.assert_array_equal(d.get("L_train"), [3.1, 2.9, 2.8])
    with pytest.raises(MissingColumnError, match="n_experts"):
        load_data(pd.DataFrame({"N": [1e8, 2e8], "loss": [3.0, 2.9]})).get("experts")
    with pytest.raises(MissingColumnError, match="L_train"):
        sb.fit(pd.DataFrame({"loss": [3.0, 2.9, 2.8, 2.7]}), law="transfer")


def test_bnsl_dataset():
    df = sb.load_dataset("bnsl_4digit_addition")
    assert list(df.columns) == ["D", "loss", "split"]
    assert len(df) == 17 and (df["split"] == "extrapolate").sum() == 3
    assert df.loc[df["split"] == "extrapolate", "D"].min() > df.loc[df["split"] == "fit", "D"].max()
    kept = sb.load_dataset("bnsl_4digit_addition", drop_excluded=True)
    assert len(kept) == 14 and set(kept["split"]) == {"fit"}
    d = load_data(kept)
    assert d.N is None and d.C is None and d.get("D").max() == 736


# ----------------------------------------------------------------------------- recovery
def _recover(law, seed=0, level=0.95, **kw):
    # Data seeds are ones where the least-squares estimate lies within 2 standard errors of the
    # truth (checked with scipy), so that a miss points at the sampler, not at the draw.
    df = synthetic_example(law, seed=seed)
    fit = sb.fit(df, law=law, seed=0, warn=False, **{**FAST, **kw})
    s = fit.summary()
    assert fit.divergences == 0, law
    assert (s["r_hat"] <= 1.01).all(), s["r_hat"]
    draws = fit.textbook_draws()
    q = (1 - level) / 2
    for name, truth in EXAMPLE_TRUTH[law].items():
        lo, hi = np.quantile(np.ravel(draws[name]), [q, 1 - q])
        assert lo <= truth <= hi, f"{law}: {name}={truth} outside {level:.0%} interval [{lo}, {hi}]"
    assert 0.005 < s.loc["sigma", "q50"] < 0.02  # data noise is 0.01
    return fit


@pytest.fixture(scope="module")
def moe_fit():
    return _recover("routed_moe")


def test_recovery_bnsl1():
    fit = _recover("bnsl1")
    # forecasts: the fitted curve beyond the data, with intervals, via the standard predict
    p = sb.forecast.predict(fit, D=[1e5, 1e6])
    assert (p["pred_q5"] < p["mean_q50"]).all() and (p["mean_q50"] < p["pred_q95"]).all()
    assert np.all(np.abs(p["mean_q50"] / EXAMPLE_TRUTH["bnsl1"]["a"] - 1) < 0.05)


def test_recovery_transfer():
    _recover("transfer")


def test_recovery_downstream_error():
    fit = _recover("downstream_error")
    p = sb.predict(fit, L_train=[2.0, 5.0])
    t = EXAMPLE_TRUTH["downstream_error"]
    truth = t["eps"] - t["k"] * np.exp(-t["gamma"] * np.array([2.0, 5.0]))
    assert np.all((p["pred_q5"] <= truth) & (truth <= p["pred_q95"]))


def test_recovery_routed_moe(moe_fit):
    s = moe_fit.summary()
    assert s.loc["c", "q95"] > 0  # Clark et al.: experts help less as N grows (c > 0)


def test_predict_with_covariates(moe_fit):
    p = sb.predict(moe_fit, N=[1e9, 1e10], experts=[1, 64], quantiles=(0.05, 0.5, 0.95))
    assert list(p.columns[:2]) == ["N", "experts"]
    assert {"mean", "mean_q5", "mean_q95", "pred_q5", "pred_q95"} <= set(p.columns)
    assert (p["pred_q5"] < p["mean_q50"]).all() and (p["mean_q50"] < p["pred_q95"]).all()
    with pytest.raises(ValueError, match="missing.*experts"):
        sb.predict(moe_fit, N=[1e9])
    with pytest.raises(ValueError, match="needs inputs"):
        sb.forecast.predict(moe_fit, N=[1e9])


def test_cli_fit_with_a_covariate(tmp_path, capsys):
    from scaling_bayes.cli.main import main

    csv = tmp_path / "transfer.csv"
    synthetic_example("transfer", seed=1).rename(columns={"L_train": "train_loss"}).to_csv(
        csv, index=False
    )
    code = main(
        [
            "fit",
            str(csv),
            "--law",
            "transfer",
            "--chains",
            "4",
            "--warmup",
            "500",
            "--draws",
            "1000",
            "--out",
            str(tmp_path / "out"),
            "--no-plots",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "0 divergences" in out and "WARNING" not in out


# ----------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_recovery_bnsl2():
    _recover("bnsl2", seed=2)


@pytest.mark.slow
def test_bnsl_extrapolation_on_4digit_addition():
    """The paper's split: fit the 14 smallest training sets, predict the 3 held-out ones."""
    full = sb.load_dataset("bnsl_4digit_addition")
    # Near noise-free data (sigma ~ 0.0008) and a long left tail of a (with c1, d1, b): a curved
    # ridge that chains cross rarely, where 0.2% of transitions hit tree depth 10. With 8 x 2000
    # draws R-hat was 1.017-1.028 on one machine (the tail visited by 2 of 8 chains); the margin
    # of 1.01 was Monte Carlo noise. 8 x 4000 draws after 2000 warmup with tree depth 12: R-hat
    # 1.005, bulk ESS >= 2680 (seed 0), tail ESS ok, no depth hits, so the thresholds (R-hat
    # 1.01, ESS 400) sit several Monte Carlo sd away.
    fit = sb.fit(
        sb.load_dataset("bnsl_4digit_addition", drop_excluded=True),
        law="bnsl1",
        seed=0,
        warn=False,
        chains=8,
        warmup=2000,
        draws=4000,
        max_tree_depth=12,
    )
    s = fit.summary()
    assert fit.divergences == 0
    assert (s["r_hat"] <= 1.01).all() and (s["ess_bulk"] >= 400).all(), s
    held = full[full["split"] == "extrapolate"]
    p = sb.forecast.predict(fit, D=held["D"].to_numpy(), quantiles=(0.025, 0.5, 0.975))
    obs = held["loss"].to_numpy()
    rel = np.abs(p["mean_q50"].to_numpy() / obs - 1)
    inside = (p["pred_q2.5"].to_numpy() <= obs) & (obs <= p["pred_q97.5"].to_numpy())
    assert rel.max() < 0.05, rel
    assert inside.all(), p
