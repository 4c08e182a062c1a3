"""The learning-rate annealing law (``lr_annealing``, Tissue et al. 2024 + a model-size term):
formula, the sampler's level/slope parametrization, SBC (issue 17). Recovery on simulated
curves with the curve likelihood: tests/inference/test_fit_curves.py."""

import jax
import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.data.schedules import cosine, schedule_features
from scaling_bayes.evaluation.sbc import sbc
from scaling_bayes.laws import LR_ANNEALING

jax.config.update("jax_enable_x64", True)

THETA = {"E": 2.0, "A": 400.0, "alpha_N": 0.3, "B": 2.2, "alpha_S": 0.5, "C": 0.15,
         "gamma": 0.1}


def test_formula_and_registry():
    law = sb.get_law("lr_annealing")
    assert law is LR_ANNEALING and law.inputs == ("N", "S1", "S2")
    N, S1, S2 = np.array([1e8, 1e9]), np.array([3.0, 10.0]), np.array([0.0, 0.8])
    expect = 2.0 + 400 * N**-0.3 + 2.2 * S1**-0.5 - 0.15 * N**-0.1 * S2
    np.testing.assert_allclose(law(THETA, N=N, S1=S1, S2=S2), expect, rtol=1e-12)
    assert "lr_annealing" in sb.list_laws()


def test_sampler_parametrization_is_level_and_slope_at_the_pivot():
    law = LR_ANNEALING
    ref = {"N": 3e8, "S1": 5.0, "S2": 0.9}
    phi = {"lnG0": np.log(3.0), "lnD0": np.log(0.2), "alpha_N": 0.25, "lnB0": -1.0,
           "alpha_S": 0.5, "lnC0": -2.0, "gamma": 0.0}
    th = {k: float(v) for k, v in law.to_textbook(phi, ref).items()}
    size = lambda N: th["E"] + th["A"] * N ** -th["alpha_N"]  # noqa: E731
    np.testing.assert_allclose(size(3e8), 3.0, rtol=1e-12)  # the level G0 at N0
    h = 1e-6  # the slope -dL/dlog N at N0
    slope = -(size(3e8 * np.exp(h)) - size(3e8 * np.exp(-h))) / (2 * h)
    np.testing.assert_allclose(slope, 0.2, rtol=1e-6)
    np.testing.assert_allclose(th["E"], 3.0 - 0.2 / 0.25, rtol=1e-12)


def test_constant_rate_has_no_annealing_term():
    lr = sb.schedules.constant(5000, 1e-3, warmup=100)
    s1, s2 = schedule_features(lr)
    law = LR_ANNEALING
    L = law(THETA, N=np.full(5000, 1e8), S1=s1, S2=s2)
    np.testing.assert_allclose(L, 2.0 + 400 * 1e8**-0.3 + 2.2 * s1**-0.5, rtol=1e-12)
    # annealing (the same steps with a cosine decay) lowers the end of the curve below the
    # power law in S1 alone
    c1, c2 = schedule_features(cosine(5000, 1e-3, warmup=100))
    Lc = law(THETA, N=np.array([1e8]), S1=c1[-1:], S2=c2[-1:])
    assert Lc[0] < 2.0 + 400 * 1e8**-0.3 + 2.2 * c1[-1] ** -0.5


@pytest.mark.slow
def test_sbc_lr_annealing():
    """Simulation-based calibration of the law and its priors (the single-law iid model on a
    curve-like design: cosine checkpoints of 4 sizes x 3 lengths)."""
    rows = []
    for N in (1e8, 2e8, 4e8, 8e8):
        for T in (3000, 6000, 12000):
            s1, s2 = schedule_features(cosine(T, 1e-3, warmup=150))
            for s in np.linspace(600, T, 4).astype(int):
                rows.append({"N": N, "D": s * 5e5, "S1": s1[s - 1], "S2": s2[s - 1]})
    import pandas as pd

    design = pd.DataFrame(rows)
    r = sbc("lr_annealing", n_sims=40, design=design, warmup=300, draws=300, thin=6, seed=0)
    assert r.settings["n_used"] >= 36
    assert r.passed, r.tests
