"""The overtraining law (``overtraining``, Gadre et al. 2024, laws/overtraining.py): Chinchilla with
tied exponents, recovery and allocation on a small synthetic sweep, and, under ``-m slow``, the fit
on Epoch AI's Chinchilla points."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_recovery, fit_is_clean, simulate

import scaling_bayes as sb
from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.laws import get_law

#: Smaller than FAST: this law compiles its own program, so keep the run short.
QUICK = {"chains": 4, "warmup": 250, "draws": 300}
OT_TRUTH = {"E": 1.69, "a": 400.0, "b": 1000.0, "eta": 0.15}


def ot_sweep(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 10, n)
    D = N * 10 ** rng.uniform(0, 3, n)  # 1 - 1000 tokens per parameter
    return simulate("overtraining", OT_TRUTH, {"N": N, "D": D}, n, seed=seed)



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
    check_recovery(fit, OT_TRUTH)
    res = sb.compute_optimal(fit, [1e21, 1e24])
    tpp = res.draws["tokens_per_param"]
    th = fit.textbook_draws()
    m_star = (np.asarray(th["b"]) / np.asarray(th["a"])) ** (1 / (2 * np.asarray(th["eta"])))
    np.testing.assert_allclose(tpp[:, 0], m_star.reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(tpp[:, 1], tpp[:, 0], rtol=1e-6)  # M* does not depend on C



@pytest.mark.slow
def test_overtraining_on_epoch_chinchilla(chinchilla_epoch):
    fit = sb.fit(chinchilla_epoch, law="overtraining", seed=0, warn=False)
    assert fit_is_clean(fit)

