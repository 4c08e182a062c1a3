"""The design's cheap approximations against real refits, and the baseline designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.evaluation.design_check import (
    isoflop_grid,
    random_runs,
    refit_check,
    tpp_ladder,
)


def _ladder(seed=0):
    rng = np.random.default_rng(seed)
    N, D = (x.reshape(-1) for x in np.meshgrid([1e7, 3e7, 1e8], [2e8, 1e9, 5e9],
                                                indexing="ij"))
    N = np.concatenate([N, [3e8]])
    D = np.concatenate([D, [6e9]])
    L = (1.8 + 450 * N ** -0.34 + 2000 * D ** -0.36) * np.exp(0.01 * rng.standard_normal(N.size))
    return pd.DataFrame({"N": N, "D": D, "loss": L})


@pytest.fixture(scope="module")
def ladder_fit():
    return sb.fit(_ladder(), law="chinchilla", chains=2, warmup=300, draws=400, seed=0,
                  warn=False, extrapolation="none")


def _check(fit, n_outcomes, draws):
    target = 100 * 6 * 3e8 * 6e9
    runs = pd.DataFrame({"N": [1e9, 1e7], "D": [4e9, 2e8]})  # informative, nearly useless
    return refit_check(fit, runs, target, n_outcomes=n_outcomes, draws=draws, warmup=draws,
                       seed=1)


def test_approximations_track_real_refits(ladder_fit):
    """The expected sd after one run, from the draws, vs refits on simulated outcomes: the
    informative run is informative in the refits too, and the linear sd (an upper bound on the
    expected posterior sd for a Gaussian posterior) is close to the refits'."""
    out = _check(ladder_fit, n_outcomes=3, draws=300)
    big, small = out.iloc[0], out.iloc[1]
    assert big.sd_refit < 0.85 * small.sd_refit
    assert big.sd_linear < big.sd_now and small.sd_linear > 0.95 * small.sd_now
    for _, r in out.iterrows():
        assert 0.6 < r.sd_linear / r.sd_refit < 1.5, out.to_string()
        assert 0.6 < r.sd_reweight / r.sd_refit < 1.5, out.to_string()


@pytest.mark.slow
def test_approximations_track_real_refits_closely(ladder_fit):
    out = _check(ladder_fit, n_outcomes=8, draws=600)
    for _, r in out.iterrows():
        tol = 0.25 + 3 * r.sd_refit_se / r.sd_refit
        assert abs(r.sd_linear / r.sd_refit - 1) < tol, out.to_string()


def test_baselines_spend_the_budget():
    iso = isoflop_grid(1e19)
    assert len(iso) == 10
    np.testing.assert_allclose((6 * iso.N * iso.D).sum(), 1e19)
    c = 6 * iso.N * iso.D
    assert len(np.unique(np.round(np.log10(c), 6))) == 2  # two IsoFLOP levels
    lad = tpp_ladder(1e19)
    np.testing.assert_allclose(lad.D / lad.N, 20)
    np.testing.assert_allclose((6 * lad.N * lad.D).sum(), 1e19)
    cand = pd.DataFrame({"N": np.geomspace(1e7, 1e9, 30), "D": np.geomspace(1e9, 1e10, 30)})
    r = random_runs(cand, 1e18, seed=0)
    assert 0 < (6 * r.N * r.D).sum() <= 1e18
    assert not r.equals(random_runs(cand, 1e18, seed=1))
