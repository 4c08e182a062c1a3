"""A small simulation-based calibration of the Chinchilla law in the default run; the full
one (200 simulations per law) is benchmarks/sbc.py, with results in benchmarks/sbc/."""

import numpy as np
import pytest

from scaling_bayes.evaluation.sbc import chi2_sf, sbc, uniformity_test
from scaling_bayes.plots.sbc import plot_sbc


def test_small_sbc_chinchilla(tmp_path):
    r = sbc("chinchilla", n_sims=24, warmup=300, draws=300, thin=6, seed=0)
    assert r.settings["n_used"] == 24
    assert list(r.ranks.columns) == ["E", "lnA0", "lnB0", "alpha", "beta", "sigma"]
    assert r.ranks.to_numpy().min() >= 0 and r.ranks.to_numpy().max() <= r.n_ranks == 200
    assert r.passed, r.tests  # no parameter rejected at the 1% level
    plot_sbc(r, tmp_path / "sbc.png")
    assert (tmp_path / "sbc.png").stat().st_size > 10_000


def test_uniformity_test_detects_non_uniform_ranks():
    rng = np.random.default_rng(0)
    assert uniformity_test(rng.integers(0, 101, 400), 100)[2] > 0.01
    assert uniformity_test(rng.integers(0, 30, 400), 100)[2] < 1e-6  # ranks piled low


@pytest.mark.parametrize("x, k, expected", [(16.919, 9, 0.05), (21.666, 9, 0.01),
                                            (3.841, 1, 0.05), (0.0, 4, 1.0)])
def test_chi2_survival(x, k, expected):
    assert abs(chi2_sf(x, k) - expected) < 2e-4


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_sims"):
        sbc("chinchilla", n_sims=1)
    with pytest.raises(ValueError, match="unknown law"):
        sbc("nope")


def test_settings_objects():
    import scaling_bayes as sb

    with pytest.raises(sb.SettingsError, match="chains=2 disagrees with sampler.chains=4"):
        sbc("chinchilla", n_sims=2, sampler=sb.NUTSSettings(), chains=2)
    with pytest.raises(ValueError, match="unknown likelihood"):
        sbc("chinchilla", n_sims=2, model=sb.ModelSettings("cauchy"))
