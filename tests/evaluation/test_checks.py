import numpy as np
import pytest
from conftest import synthetic

from scaling_bayes.evaluation.checks import posterior_predictive, prior_predictive
from scaling_bayes.plots.checks import plot_predictive_check


def test_posterior_predictive_is_calibrated_on_well_specified_data(small_fit, tmp_path):
    c = posterior_predictive(small_fit, seed=0, max_draws=500)
    assert c.replicated.shape == (500, 60) and c.mean.shape == (500, 60)
    s = c.summary()
    assert 0.75 <= s["coverage_90"] <= 1.0 and 0.3 <= s["coverage_50"] <= 0.7
    r = c.residuals()
    assert {"N", "D", "C", "residual", "band_lo", "band_hi", "pit"} <= set(r.columns)
    assert abs(np.median(r["residual"])) < 0.01
    np.testing.assert_array_equal(c.replicated, posterior_predictive(small_fit, seed=0,
                                                                     max_draws=500).replicated)
    plot_predictive_check(c, tmp_path / "ppc.png")
    assert (tmp_path / "ppc.png").stat().st_size > 10_000


def test_posterior_predictive_flags_a_misspecified_law():
    import scaling_bayes as sb

    # a pure power law in N cannot describe data that also depend on D
    f = sb.fit(synthetic("chinchilla"), law="power_N", seed=0, chains=2, warmup=200, draws=200,
               warn=False)
    r = posterior_predictive(f).residuals()
    slope = np.polyfit(np.log(r["D"]), r["residual"], 1)[0]
    assert slope < -0.01  # residuals trend with log D: the missing data term shows


def test_prior_predictive_is_broad_but_finite(tmp_path):
    c = prior_predictive(synthetic("chinchilla"), "chinchilla", n_draws=300, seed=0)
    assert c.replicated.shape == (300, 60) and np.isfinite(c.replicated).all()
    lo, hi = c.summary()["replicated_loss_range"]
    assert lo < 1.0 < 5.0 < hi  # priors cover far more than the data's 2-4 nats
    plot_predictive_check(c, tmp_path / "prior.png")


def test_bad_arguments(small_fit):
    with pytest.raises(ValueError, match="max_draws"):
        posterior_predictive(small_fit, max_draws=0)
    with pytest.raises(ValueError, match="n_draws"):
        prior_predictive(synthetic("chinchilla"), n_draws=0)
    with pytest.raises(ValueError, match="unknown likelihood"):
        prior_predictive(synthetic("chinchilla"), likelihood="cauchy")
