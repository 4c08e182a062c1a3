"""Kaplan et al.'s learning-curve law (``kaplan_learning_curve``, Kaplan 2020 §5): its implicit
loss, recovery on a small synthetic sweep (``-m slow``) and the fit on the Gemstones constant-LR
checkpoints (``-m slow``; ``gemstones_learning_curve()`` builds the example data the README
quotes)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FAST, check_recovery, fit_is_clean, simulate

import scaling_bayes as sb
from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.laws import KAPLAN_2020_LEARNING_CURVE, get_law, kaplan_min_conversions


def lc_sweep(n=60, seed=0):
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 9.3, n)
    S = 10 ** rng.uniform(3, 5, n)
    B = 2.0 ** rng.integers(19, 23, n)  # 0.5M - 4M tokens per step
    return simulate(
        "kaplan_learning_curve",
        KAPLAN_2020_LEARNING_CURVE,
        {"N": N, "D": S * B, "S": S},
        n,
        seed=seed,
    )



@pytest.mark.slow  # its own compiled program with a Newton solve: ~80 s on a busy 2-core machine
def test_kaplan_learning_curve_recovery():
    fit = sb.fit(lc_sweep(), law="kaplan_learning_curve", seed=0, warn=False, **FAST)
    check_recovery(fit, KAPLAN_2020_LEARNING_CURVE)


def test_kaplan_learning_curve_solves_its_implicit_loss():
    enable_x64_on_cpu()
    law = get_law("kaplan_learning_curve")
    th = KAPLAN_2020_LEARNING_CURVE
    N, S, B = np.array([1e8, 1e9]), np.array([2e3, 5e4]), np.array([2.0**21, 2.0**22])
    L = np.exp(np.asarray(law.log_loss(th, {"N": N, "D": S * B, "S": S})))
    s_min = kaplan_min_conversions(S, B, L)["S_min"]
    expected = (th["N_c"] / N) ** th["alpha_N"] + (th["S_c"] / s_min) ** th["alpha_S"]
    np.testing.assert_allclose(L, expected, rtol=1e-10)



def gemstones_learning_curve():
    """Example data of kaplan_learning_curve: Gemstones constant-LR checkpoints (batch 2048 x
    2048 tokens = D/step), every second checkpoint from 20B tokens on."""
    g = sb.load_dataset("gemstones2025")
    g = g[g["phase"] == "constant_lr_checkpoint"]
    k = g.groupby("run_name").cumcount()
    return g[(k % 2 == 1)].reset_index(drop=True)



@pytest.mark.slow
def test_kaplan_learning_curve_on_gemstones():
    fit = sb.fit(gemstones_learning_curve(), law="kaplan_learning_curve", seed=0, warn=False)
    assert fit_is_clean(fit)
