"""Issue 2 acceptance on real data: Epoch AI's 240 Chinchilla points, default settings."""

import pytest

import scaling_bayes as sb

# Besiroglu et al. 2024 (Epoch AI) replication of Chinchilla Approach 3 (methods.md §1.3)
EPOCH = {"E": 1.817, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}


@pytest.fixture(scope="module")
def epoch_fit(chinchilla_epoch):
    assert len(chinchilla_epoch) == 240
    return sb.fit(chinchilla_epoch, law="chinchilla", seed=0)  # default settings


def test_default_fit_is_clean(epoch_fit):
    s = epoch_fit.summary()
    assert epoch_fit.divergences == 0
    assert (s["r_hat"] <= 1.01).all()
    assert (s["ess_bulk"] >= 1000).all(), s["ess_bulk"]
    assert epoch_fit.check() == []


def test_consistent_with_epoch_replication(epoch_fit):
    s = epoch_fit.summary()
    for name, value in EPOCH.items():
        assert s.loc[name, "q5"] <= value <= s.loc[name, "q95"], (name, value, s.loc[name])
