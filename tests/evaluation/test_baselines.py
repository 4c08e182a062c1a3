"""Classical baselines: Chinchilla Approach 3 (Epoch replication), its bootstrap, Approach 2."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from scaling_bayes.evaluation import baselines as bl

EPOCH_CSV = SHARED_DATA / "chinchilla_epoch.csv"

# Besiroglu et al. 2024 (Epoch AI), Table 1 / methods.md section 1.3.
EPOCH_PUBLISHED = {"E": 1.817, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
EPOCH_BOOT_SE = {"E": 0.026, "alpha": 0.015, "beta": 0.021, "a": 0.020}

# Hoffmann et al. 2022 Approach-3 constants (TeX-source precision).
CHIN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.3392, "beta": 0.2849}


def chinchilla_loss(N, D, p=CHIN):
    return p["E"] + p["A"] * N ** -p["alpha"] + p["B"] * D ** -p["beta"]


@pytest.fixture(scope="module")
def epoch():
    if not EPOCH_CSV.exists():
        pytest.skip(f"{EPOCH_CSV} not available")
    df = pd.read_csv(EPOCH_CSV)
    df = df[~df["epoch_excluded"].astype(bool)].reset_index(drop=True)
    assert len(df) == 240
    return df


@pytest.fixture(scope="module")
def epoch_fit(epoch):
    return bl.approach3_fit(epoch["N"], epoch["D"], epoch["loss"])


# ----------------------------------------------------------------------------- Approach 3
def test_epoch_replication(epoch, epoch_fit):
    fit = epoch_fit
    assert fit["n_starts"] == 4500
    assert fit["status"] in (0, 2) and fit["grad_max"] < 1e-7
    for k in ("E", "A", "alpha", "beta"):
        assert fit[k] == pytest.approx(EPOCH_PUBLISHED[k], rel=0.01), k
    # The exact optimum of the stated objective on these 240 points has B = 2143.4, 2.8 % above
    # Epoch's published 2085 (Epoch's own notebook procedure re-run on this CSV gives ~2140;
    # Epoch's point is not a stationary point). B's bootstrap SE is 1293, so this is 0.05 SE.
    assert fit["B"] == pytest.approx(EPOCH_PUBLISHED["B"], rel=0.03)
    assert fit["B"] == pytest.approx(2143.4, rel=1e-3)
    assert fit["a"] == pytest.approx(0.5139, abs=5e-4)  # Epoch: a = 0.513
    assert fit["a"] + fit["b"] == pytest.approx(1.0)
    th = fit["theta"]
    assert np.allclose(np.exp(th[:3]), [fit["E"], fit["A"], fit["B"]])
    # G = (alpha A / (beta B))^(1/(alpha+beta))
    G = (fit["alpha"] * fit["A"] / (fit["beta"] * fit["B"])) ** (1 / (fit["alpha"] + fit["beta"]))
    assert fit["G"] == pytest.approx(G, rel=1e-12)
    # Epoch's published point is (slightly) worse under the same objective.
    pub = [np.log(EPOCH_PUBLISHED[k]) for k in ("E", "A", "B")] + [0.348, 0.366]
    f_pub = bl.approach3_objective(pub, epoch["N"], epoch["D"], epoch["loss"])
    assert f_pub > fit["objective"]
    f_here = bl.approach3_objective(th, epoch["N"], epoch["D"], epoch["loss"])
    assert f_here == pytest.approx(fit["objective"], rel=1e-12)


def test_epoch_fit_is_the_optimum(epoch, epoch_fit):
    """An independent numpy objective + scipy Nelder-Mead from our optimum finds nothing better."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    from scipy.special import logsumexp

    lN, lD, lL = (np.log(epoch[c].to_numpy()) for c in ("N", "D", "loss"))

    def f(th):
        e, a, b, al, be = th
        r = logsumexp([np.full_like(lN, e), a - al * lN, b - be * lD], axis=0) - lL
        ar = np.abs(r)
        return np.sum(np.where(ar <= 1e-3, 0.5 * r * r, 1e-3 * (ar - 0.5e-3)))

    th = epoch_fit["theta"]
    assert f(th) == pytest.approx(epoch_fit["objective"], rel=1e-10)
    res = scipy_optimize.minimize(f, th, method="Nelder-Mead",
                                  options={"xatol": 1e-11, "fatol": 1e-16, "maxiter": 20000})
    assert res.fun >= epoch_fit["objective"] * (1 - 1e-12)
    assert np.allclose(res.x, th, rtol=1e-6, atol=1e-8)


def test_synthetic_recovery():
    # 16 x 15 = 240 points: the same shapes as Epoch's data, so the compiled fit is reused.
    N, D = np.meshgrid(np.geomspace(5e7, 1e10, 16), np.geomspace(1e9, 5e11, 15))
    N, D = N.ravel(), D.ravel()
    fit = bl.approach3_fit(N, D, chinchilla_loss(N, D))
    for k, v in CHIN.items():
        assert fit[k] == pytest.approx(v, rel=1e-4), k
    a_true = CHIN["beta"] / (CHIN["alpha"] + CHIN["beta"])
    assert fit["a"] == pytest.approx(a_true, rel=1e-4)
    assert fit["objective"] < 1e-12


def test_small_grid_single_stage_is_deterministic():
    # A 32-start grid (<= n_polish) runs every start to the end; two calls agree bit for bit.
    rng = np.random.default_rng(3)
    N = np.geomspace(5e7, 1e10, 40)
    D = np.geomspace(1e9, 5e11, 40)[rng.permutation(40)]
    L = chinchilla_loss(N, D) * np.exp(rng.normal(0, 2e-3, 40))
    grid = {"e": [0.0, 1.0], "a": [0.0, 10.0], "b": [0.0, 10.0], "alpha": [0.3, 1.0],
            "beta": [0.3, 1.0]}
    fit = bl.approach3_fit(N, D, L, grid=grid)
    again = bl.approach3_fit(N, D, L, grid=np.array(list(itertools.product(*grid.values()))))
    assert fit["n_starts"] == 32 and fit["status"] in (0, 2)
    np.testing.assert_array_equal(fit["theta"], again["theta"])
    assert fit["objective"] == again["objective"]
    assert fit["alpha"] == pytest.approx(CHIN["alpha"], abs=0.1)


def test_analytic_gradient_matches_autodiff():
    rng = np.random.default_rng(1)
    N = np.geomspace(1e8, 1e10, 30)
    D = np.geomspace(1e9, 1e11, 30)[rng.permutation(30)]
    L = chinchilla_loss(N, D) * np.exp(rng.normal(0, 3e-3, 30))
    with bl._float64():
        lN, lD, lL = (jnp.log(jnp.asarray(v, dtype=jnp.float64)) for v in (N, D, L))
        TH = jnp.asarray([[0.5, 6.0, 6.0, 0.34, 0.28], [0.3, 5.0, 7.0, 0.3, 0.35],
                          [1.0, 10.0, 3.0, 0.6, 0.1]], dtype=jnp.float64)
        W = jnp.asarray(rng.integers(0, 3, size=(3, 30)), dtype=jnp.float64)
        f, g = jax.jit(bl._value_grad)(TH, lN, lD, lL, W, 1e-3)
        obj = jax.jit(jax.vmap(jax.value_and_grad(
            lambda th, w: bl._objective(th, lN, lD, lL, w, 1e-3))))
        f_ad, g_ad = obj(TH, W)
    assert f.dtype == jnp.float64
    np.testing.assert_allclose(f, f_ad, rtol=1e-12)
    np.testing.assert_allclose(g, g_ad, rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- bootstrap
@pytest.fixture(scope="module")
def epoch_boot(epoch, epoch_fit):
    return bl.approach3_bootstrap(epoch["N"], epoch["D"], epoch["loss"], n_boot=500, seed=0,
                                  start=epoch_fit)


def test_bootstrap_standard_errors(epoch, epoch_fit, epoch_boot):
    boot = epoch_boot
    assert boot["theta"].shape == (500, 5)
    assert set(np.unique(boot["status"])) <= {0, 2}  # converged or at the precision limit
    summ = bl.bootstrap_summary(boot)
    assert list(summ.index) == ["E", "A", "B", "alpha", "beta", "a", "b", "G"]
    assert list(summ.columns) == ["mean", "sd", "q2.5", "q10", "q50", "q90", "q97.5", "n"]
    q = summ[["q2.5", "q10", "q50", "q90", "q97.5"]].to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0)
    for k, se in EPOCH_BOOT_SE.items():
        assert se / 1.5 <= summ.loc[k, "sd"] <= se * 1.5, (k, summ.loc[k, "sd"])
    # The bootstrap distribution is centred near the full-data fit.
    assert abs(summ.loc["a", "q50"] - epoch_fit["a"]) < 0.01
    np.testing.assert_allclose(boot["a"] + boot["b"], 1.0)

    # Chunked (lax.map over batches of 200, padded) gives the same replicates.
    chunked = bl.approach3_bootstrap(epoch["N"], epoch["D"], epoch["loss"], n_boot=500, seed=0,
                                     start=epoch_fit["theta"], batch_size=200)
    np.testing.assert_allclose(chunked["theta"], boot["theta"], rtol=1e-6, atol=1e-8)


def test_bootstrap_summary_handles_nonfinite():
    s = bl.bootstrap_summary({"E": np.array([1.0, 2.0, np.nan, 3.0]), "alpha": np.ones(3)})
    assert list(s.index) == ["E", "alpha"]
    assert s.loc["E", "n"] == 3 and s.loc["E", "mean"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="none of the parameters"):
        bl.bootstrap_summary({"foo": np.ones(3)})


# ----------------------------------------------------------------------------- Approach 2
def _isoflop_data(budgets, half_width=1.3862943611198906, n=9):  # +-ln 4: N_opt/4 .. 4 N_opt
    p = CHIN
    a = p["beta"] / (p["alpha"] + p["beta"])
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    rows = []
    for C in budgets:
        n_opt = G * (C / 6) ** a
        for N in n_opt * np.exp(np.linspace(-half_width, half_width, n)):  # centred in log N
            rows.append((N, C / (6 * N), C))
    N, D, C = map(np.array, zip(*rows, strict=True))
    return N, D, chinchilla_loss(N, D), C, a


def test_approach2_recovers_exponent_on_symmetric_grid():
    budgets = np.array([6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21])
    N, D, L, C, a_true = _isoflop_data(budgets)
    # Extra rows without a budget label are ignored.
    N, D, L = (np.concatenate([v, v[:4] * 1.3]) for v in (N, D, L))
    C_label = np.concatenate([C, np.full(4, np.nan)])
    res = bl.approach2_fit(N, D, L, C_label)
    assert res["n_budgets"] == 9
    assert abs(res["a"] - a_true) < 0.02
    # On a grid centred in log N the vertex shift is the same at every budget (it depends only on
    # alpha, beta and the grid), so the exponent is exact and only the intercept is biased.
    assert res["a"] == pytest.approx(a_true, abs=1e-6)
    assert res["a"] + res["b"] == pytest.approx(1.0)
    assert res["a_se"] < 1e-6
    t = res["table"]
    assert list(t.columns[:7]) == ["C", "N_opt", "D_opt", "L_opt", "curvature", "n_points",
                                   "interior"]
    assert len(t) == 9 and t["interior"].all() and (t["curvature"] > 0).all()
    np.testing.assert_allclose(t["D_opt"], t["C"] / (6 * t["N_opt"]))


def test_approach2_epoch(epoch):
    res = bl.approach2_fit(epoch["N"], epoch["D"], epoch["loss"], epoch["C_isoflop_nominal"])
    assert res["n_budgets"] == 9
    assert res["a"] == pytest.approx(0.5134, abs=1e-3)  # Hoffmann's Approach 2: 0.49 (0.462, 0.534)
    assert 0.01 < res["a_se"] < 0.1


def test_approach2_errors():
    N, D, L, C, _ = _isoflop_data([1e19, 1e20, 1e21], n=5)
    with pytest.raises(ValueError, match=r"C=1e\+20 has 2 points"):
        keep = ~((C == 1e20) & (np.arange(C.size) % 5 > 1))
        bl.approach2_fit(N[keep], D[keep], L[keep], C[keep])
    L_bad = L.copy()
    m = C == 1e21
    L_bad[m] = 5.0 - (np.log(N[m]) - np.log(N[m]).mean()) ** 2  # concave
    with pytest.raises(ValueError, match=r"C=1e\+21.*not convex"):
        bl.approach2_fit(N, D, L_bad, C)
    with pytest.raises(ValueError, match="at least 2 IsoFLOP budgets"):
        bl.approach2_fit(N, D, L, np.where(C == 1e19, C, np.nan))
    with pytest.raises(ValueError, match="C_budget must be 1-D with the same length"):
        bl.approach2_fit(N, D, L, C[:-1])
    with pytest.raises(ValueError, match="C_budget must be finite and > 0"):
        bl.approach2_fit(N, D, L, np.where(C == 1e19, -1.0, C))


# ----------------------------------------------------------------------------- input checks
def test_input_errors():
    N = np.geomspace(1e8, 1e10, 6)
    D = np.geomspace(1e9, 1e11, 6)
    L = chinchilla_loss(N, D)
    with pytest.raises(ValueError, match="D has length 5"):
        bl.approach3_fit(N, D[:5], L)
    with pytest.raises(ValueError, match="loss has non-finite values at rows \\[2\\]"):
        bl.approach3_fit(N, D, np.where(np.arange(6) == 2, np.nan, L))
    with pytest.raises(ValueError, match="N must be > 0"):
        bl.approach3_fit(-N, D, L)
    with pytest.raises(ValueError, match="D must be 1-D"):
        bl.approach3_fit(N, D[:, None], L)
    with pytest.raises(ValueError, match="at least 5 rows"):
        bl.approach3_fit(N[:4], D[:4], L[:4])
    with pytest.raises(ValueError, match="loss must be a 1-D array of numbers"):
        bl.approach3_fit(N, D, ["x"] * 6)
    with pytest.raises(ValueError, match="grid must be"):
        bl.approach3_fit(N, D, L, grid=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="grid is missing axes"):
        bl.approach3_fit(N, D, L, grid={"e": [0.0]})
    with pytest.raises(ValueError, match="delta must be"):
        bl.approach3_fit(N, D, L, delta=0.0)
    with pytest.raises(ValueError, match="at least 5 rows"):
        bl.approach3_bootstrap(N[:3], D[:3], L[:3])
    with pytest.raises(ValueError, match="n_boot must be"):
        bl.approach3_bootstrap(N, D, L, n_boot=0, start=np.zeros(5))
    with pytest.raises(ValueError, match="start must be theta"):
        bl.approach3_bootstrap(N, D, L, start=np.zeros(4))
    with pytest.raises(ValueError, match="N has length 5"):
        bl.approach2_fit(N[:5], D, L, np.ones(6))
