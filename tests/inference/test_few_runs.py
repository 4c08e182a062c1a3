"""Fits with fewer runs than free parameters (issue 20): allowed with proper priors, one
prior-dominated line, degenerate designs still refused or warned."""

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUTH

import scaling_bayes as sb
from scaling_bayes.data.observations import NoSpreadError, TooFewRowsError, design_warnings
from scaling_bayes.laws.base import get_law
from scaling_bayes.model.priors import Prior, is_proper, prior_sd
from scaling_bayes.posterior.contraction import (
    PriorDominatedWarning,
    prior_contraction,
    prior_dominated_message,
)

TINY = {"chains": 2, "warmup": 300, "draws": 300}


def ladder(N, D, sigma=0.005, seed=0):
    law = get_law("chinchilla")
    th = {k: np.float64(v) for k, v in TRUTH["chinchilla"].items()}
    N, D = np.asarray(N, float), np.asarray(D, float)
    mu = np.asarray(law.log_loss(th, {"N": N, "D": D}))
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"N": N, "D": D, "loss": np.exp(mu + sigma * rng.standard_normal(N.size))})


FIVE = ladder([2e7, 4e7, 8e7, 1.6e8, 3.2e8], [1e9, 4e8 * 5, 2e9, 6e9, 4e9])


def test_five_runs_fit_with_prior_dominated_line():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fit = sb.fit(FIVE, seed=0, **TINY)
    msgs = [str(x.message) for x in w if issubclass(x.category, PriorDominatedWarning)]
    assert len(msgs) == 1
    assert "prior-dominated" in msgs[0] and "5 runs for 6 free parameters" in msgs[0]
    for site in ("E", "lnA0", "lnB0", "alpha", "beta", "sigma"):
        assert f"{site} " in msgs[0]
    c = prior_contraction(fit)
    assert list(c.index) == ["E", "lnA0", "lnB0", "alpha", "beta", "sigma"]
    assert np.all(np.isfinite(c["ratio"])) and np.all(c["ratio"] > 0)
    # the data (5 runs at 0.5% noise) do pin the noise scale and the reducible terms' level
    assert c.loc["sigma", "ratio"] < 0.9
    assert prior_dominated_message(fit) == msgs[0]
    p = sb.predict(fit, N=[3.2e8, 1e10], D=[4e9, 2e11])
    assert np.all(np.isfinite(p["pred_q50"]))
    # the structural term falls back to its prior: no within-data backtests on 5 runs
    assert fit.extrapolation is not None and fit.extrapolation.info["n_backtests"] == 0
    assert "prior only" in fit.extrapolation.describe()


def test_enough_runs_no_prior_dominated_line():
    df = ladder(np.geomspace(2e7, 1e9, 8), np.geomspace(1e9, 4e10, 8)[[0, 3, 1, 5, 2, 7, 4, 6]])
    fit = sb.fit(df, seed=0, extrapolation="none", warn=False, **TINY)
    assert prior_dominated_message(fit) is None


def test_one_size_still_refused():
    df = ladder([1e8] * 4, [1e9, 2e9, 4e9, 8e9])
    with pytest.raises(NoSpreadError, match="column 'N'.*single value"):
        sb.fit(df, **TINY)


def test_collinear_few_runs_still_warned():
    N = np.array([2e7, 5e7, 1e8, 3e8])
    msgs = design_warnings(sb.load_data(ladder(N, 20 * N)), get_law("chinchilla"))
    assert len(msgs) == 1 and "not separately identifiable" in msgs[0]
    # two runs are always on one line: a positive slope is flagged too
    two = design_warnings(sb.load_data(ladder(N[:2], 10 * N[:2])), get_law("chinchilla"))
    assert any("not separately identifiable" in m for m in two)


def test_check_for_law_rule_unchanged_without_proper_priors():
    sd = sb.load_data(FIVE)
    with pytest.raises(TooFewRowsError, match="at least 7"):
        sd.check_for_law(get_law("chinchilla"))
    sd.check_for_law(get_law("chinchilla"), allow_few=True)


def test_is_proper_and_prior_sd():
    assert is_proper(Prior("Normal", loc=0.0, scale=1.0))
    assert not is_proper(Prior("ImproperUniform"))
    assert not is_proper(Prior("Normal", loc=0.0, scale=float("inf")))
    assert prior_sd(Prior("Normal", loc=3.0, scale=0.7)) == pytest.approx(0.7)
    ln = Prior("LogNormal", loc=-1.2, scale=0.6)
    draws = np.exp(-1.2 + 0.6 * np.random.default_rng(0).standard_normal(400_000))
    assert prior_sd(ln) == pytest.approx(np.std(draws), rel=0.02)
    assert prior_sd(Prior("HalfNormal", scale=1.0)) == pytest.approx(0.6028, abs=1e-3)
    assert prior_sd(Prior("Uniform", low=0.0, high=1.0)) == pytest.approx(12 ** -0.5, rel=0.02)


def test_one_row_refused_even_with_proper_priors():
    one = sb.load_data(FIVE.iloc[:1])
    with pytest.raises(TooFewRowsError, match="1 row; at least 7 are needed.*at least 2 even "
                                              "with proper priors"):
        one.check_for_law(get_law("chinchilla"), allow_few=True)
