"""Design of the next runs: targets, candidates, the linear and reweighting approximations, the
greedy batch, identifiability, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import FAST

import scaling_bayes as sb
from scaling_bayes.decisions.design import DesignError, Target, resolve_target

C_STAR = 1e23  # 2e21 is about the largest Chinchilla run


@pytest.fixture(scope="module")
def chin(epoch_fit):
    return epoch_fit("chinchilla")


@pytest.fixture(scope="module")
def res(chin):
    return sb.design.next_runs(chin, budget=3e21, target=C_STAR)


def test_facade_and_result(res, chin):
    assert sb.design.next_runs is not None and "next_runs" in dir(sb.design)
    t = res.table
    for c in ("candidate", "N", "D", "tokens_per_param", "cost", "sd_after", "reduction",
              "reduction_per_flop", "in_batch", "batch_order"):
        assert c in t.columns, c
    # ranked by value per FLOP, every candidate within the budget by default
    assert np.all(np.diff(t.reduction_per_flop.to_numpy()) <= 0)
    assert (t.cost <= 3e21 * (1 + 1e-9)).all()
    np.testing.assert_allclose(t.cost, 6 * t.N * t.D)
    # sd now is the posterior sd of log N_opt at C*
    x = np.log(sb.compute_optimal(chin, C_STAR).draws["N_opt"][:, 0])
    assert res.sd_now == pytest.approx(np.std(x, ddof=1), rel=1e-6)
    # one run never makes the target more uncertain; gains are below the current sd
    assert (t.sd_after <= res.sd_now + 1e-12).all() and (t.sd_after > 0).all()
    assert "N_opt" in res.describe() or "model size" in res.describe()


def test_batch_fits_budget_and_accounts_for_chosen_runs(res):
    b = res.batch
    assert len(b) >= 1 and b.cost.sum() <= 3e21 * (1 + 1e-9)
    np.testing.assert_allclose(b.cum_cost, np.cumsum(b.cost))
    sd = b.sd_after.to_numpy()
    assert np.all(np.diff(sd) <= 1e-12) and res.sd_batch == pytest.approx(sd[-1])
    # the batch is valued jointly: its sd is above what adding the single-run gains would give
    single = res.table.set_index("candidate").loc[b.candidate]
    additive = res.sd_now - (res.sd_now - single.sd_after).sum()
    assert res.sd_batch > additive
    assert set(res.table.loc[res.table.in_batch, "candidate"]) == set(b.candidate)


def test_a_repeated_run_is_worth_less_the_second_time(chin):
    cand = pd.DataFrame({"N": [3e9, 3e9], "D": [6e10, 6e10]})
    r = sb.design.next_runs(chin, cand, budget=1e30, target=C_STAR)
    first_gain = r.sd_now - r.batch.sd_after.iloc[0]
    assert len(r.batch) == 2
    second_gain = r.batch.sd_after.iloc[0] - r.batch.sd_after.iloc[1]
    assert 0 < second_gain < first_gain


def test_linear_is_the_best_linear_predictor_error(chin):
    """For one candidate the linear sd is sqrt(Var t - Cov(t, y)^2 / Var y), checked against
    simulated outcomes: the residual variance of regressing t on simulated y."""
    cand = pd.DataFrame({"N": [2e10], "D": [4e11]})
    r = sb.design.next_runs(chin, cand, budget=1e30, target=C_STAR)
    t = np.log(sb.compute_optimal(chin, C_STAR).draws["N_opt"][:, 0])
    th = chin.textbook_draws()
    m = np.log(th["E"] + th["A"] * 2e10 ** -th["alpha"] + th["B"] * 4e11 ** -th["beta"])
    sig = chin.posterior["sigma"].reshape(-1)
    rng = np.random.default_rng(0)
    nu = chin.config.nu
    reps = [m + sig * rng.standard_t(nu, m.size) for _ in range(20)]
    y = np.concatenate(reps)
    tt = np.tile(t, 20)
    resid = np.var(tt) - np.cov(tt, y)[0, 1] ** 2 / np.var(y)
    assert r.table.sd_after.iloc[0] == pytest.approx(math.sqrt(resid), rel=0.05)


def test_reweight_agrees_with_linear_on_moderate_runs(chin):
    cand = pd.DataFrame({"N": [1e9, 4e9, 1e10, 3e8], "D": [2e10, 8e10, 1e10, 1e9]})
    lin = sb.design.next_runs(chin, cand, budget=1e30, target=C_STAR)
    rw = sb.design.next_runs(chin, cand, budget=1e30, target=C_STAR, method="reweight",
                             n_outcomes=32)
    a = lin.table.sort_values("candidate")
    b = rw.table.sort_values("candidate")
    assert "ess" in b.columns and (b.ess > 1).all()
    red_a = (lin.sd_now - a.sd_after.to_numpy()) / lin.sd_now
    red_b = (rw.sd_now - b.sd_after.to_numpy()) / rw.sd_now
    # the same ordering of the clearly different candidates, similar relative reductions
    assert np.argmax(red_a) == np.argmax(red_b)
    assert np.all(np.abs(red_a - red_b) < 0.15)


def test_targets(chin):
    assert resolve_target(1e24) == Target("N_opt", compute=1e24)
    t = resolve_target({"compute": 1e24, "quantity": "tokens_per_param"})
    assert t.quantity == "tokens_per_param"
    t = resolve_target(pd.DataFrame({"N": [7e10, 1e11], "D": [1.4e12, 2e12]}))
    assert t.quantity == "loss" and len(t.N) == 2
    r = sb.design.next_runs(chin, budget=3e21, target={"N": 7e10, "D": 1.4e12})
    assert r.sd_now > 0 and len(r.batch) >= 1 and len(r.target_runs) == 1
    r2 = sb.design.next_runs(chin, budget=3e21, target={"compute": C_STAR,
                                                        "quantity": "tokens_per_param"})
    tpp = sb.compute_optimal(chin, C_STAR).draws["tokens_per_param"][:, 0]
    assert r2.sd_now == pytest.approx(np.std(np.log(tpp), ddof=1), rel=1e-6)


def test_cost_column(chin):
    cand = pd.DataFrame({"N": [1e9, 1e9], "D": [2e10, 2.01e10], "flops": [1e20, 1e17]})
    r = sb.design.next_runs(chin, cand, budget=2e20, target=C_STAR, cost="flops")
    assert r.table.cost.tolist() == sorted(r.table.cost.tolist())  # the cheap one ranks first
    assert r.batch.candidate.tolist() == [1, 0]  # both fit; the cheap one is taken first


def test_kaplan_numeric_allocation(epoch_fit):
    r = sb.design.next_runs(epoch_fit("kaplan"), budget=3e21, target=C_STAR, max_runs=3)
    assert 1 <= len(r.batch) <= 3 and np.isfinite(r.sd_now)


@pytest.mark.parametrize("kwargs, match", [
    ({"budget": None, "target": 1e23}, "budget is required"),
    ({"budget": -1.0, "target": 1e23}, "budget must be positive"),
    ({"budget": 1e21, "target": None}, "target is required"),
    ({"budget": 1e21, "target": {"compute": 1e23, "quantity": "speed"}}, "quantity 'speed'"),
    ({"budget": 1e21, "target": {"params": 1e9}}, "target"),
    ({"budget": 1e21, "target": 1e23, "method": "magic"}, "method must be one of"),
    ({"budget": 1e21, "target": 1e23, "candidates": pd.DataFrame({"N": [1e9]})},
     "lack column"),
    ({"budget": 1e21, "target": 1e23, "candidates": pd.DataFrame({"N": [-1.0], "D": [1e9]})},
     "column 'N' must be positive"),
    ({"budget": 1e21, "target": 1e23, "cost": "flops"}, "cost column 'flops'"),
    ({"budget": 1.0, "target": 1e23}, "no candidate run costs at most"),
])
def test_bad_input(chin, kwargs, match):
    with pytest.raises(DesignError, match=match):
        sb.design.next_runs(chin, **kwargs)
    assert issubclass(DesignError, sb.ScalingBayesError)


def _ladder(seed=0):
    """3 sizes x 3 token counts plus one larger run (as tests/evaluation/test_design_check.py:
    the same shapes, so the compiled program is shared)."""
    rng = np.random.default_rng(seed)
    N, D = (x.reshape(-1) for x in np.meshgrid([1e7, 3e7, 1e8], [2e8, 1e9, 5e9],
                                                indexing="ij"))
    N = np.concatenate([N, [3e8]])
    D = np.concatenate([D, [6e9]])
    L = (1.8 + 450 * N ** -0.34 + 2000 * D ** -0.36) * np.exp(0.01 * rng.standard_normal(N.size))
    return pd.DataFrame({"N": N, "D": D, "loss": L})


def test_identifiability_of_a_small_ladder():
    """Ten runs leave the irreducible loss E loosely determined (its posterior sd is a sizeable
    part of the prior's): with a strict contraction bar it is flagged, the suggested run
    shrinks it and the message says so in words."""
    fit = sb.fit(_ladder(), law="chinchilla", chains=2, warmup=300, draws=400, seed=0,
                 warn=False, extrapolation="none")
    ident = sb.design.identifiability(fit, min_contraction=0.99)
    t = ident.table.set_index("parameter")
    assert t.contraction["E"] < 0.99 and t.poor["E"] and not t.poor["sigma"]
    default = sb.design.identifiability(fit).table.set_index("parameter")
    assert (default.poor <= t.poor).all()  # a stricter bar flags at least as much
    for k in t.index[t.poor]:
        assert t.fix_sd[k] < t.post_sd[k]
        assert any(f"({k}) is poorly identified" in m for m in ident.messages)
    assert "the run that helps most within the budget is N =" in str(ident)


@pytest.mark.slow
def test_identifiability_of_a_collinear_sweep():
    """Every run at D = 20 N: the data-level warning and a poorly identified pair, with a run
    off the D = 20N line proposed to fix it."""
    rng = np.random.default_rng(3)
    N = np.geomspace(1e7, 1e9, 60)  # 60 rows, FAST settings: the compiled program is shared
    D = 20 * N
    L = (1.8 + 450 * N ** -0.34 + 2000 * D ** -0.36) * np.exp(0.01 * rng.standard_normal(60))
    fit = sb.fit(pd.DataFrame({"N": N, "D": D, "loss": L}), law="chinchilla", seed=0,
                 warn=False, **FAST)
    ident = sb.design.identifiability(fit)
    text = str(ident)
    assert "not separately identifiable" in text and "poorly identified" in text
    poor = ident.table[ident.table.poor]
    assert len(poor) >= 1
    assert poor.fix_sd.lt(poor.post_sd).all()
    ratio = poor.fix_D / poor.fix_N
    assert ((ratio < 10) | (ratio > 40)).any()  # some fix leaves the D = 20N line


def test_identifiability_well_identified(chin):
    ident = sb.design.identifiability(chin)
    t = ident.table.set_index("parameter")
    assert (t.contraction[["alpha", "beta"]] > 0.9).all()
    assert len(ident.messages) >= 1


def test_discrepancy_makes_runs_near_the_target_worth_more(chin):
    """With a shared misfit term, repeated runs saturate and, for a planned run, a run next to
    it gains against a distant high-leverage one."""
    plan = {"N": 7e10, "D": 1.4e12}
    cand = pd.DataFrame({"N": [3e10, 3e8], "D": [6e11, 3e11]})  # near the plan / far from it
    kw = dict(budget=1e30, target=plan)
    plain = sb.design.next_runs(chin, cand, **kw).table.sort_values("candidate")
    disc = sb.design.next_runs(chin, cand, discrepancy=(0.01, 0.5), **kw)
    d = disc.table.sort_values("candidate")
    gain = lambda t, sd0: (sd0 - t.sd_after.to_numpy()) / sd0  # noqa: E731
    g_plain = gain(plain, sb.design.next_runs(chin, cand, **kw).sd_now)
    g_disc = gain(d, disc.sd_now)
    assert g_disc[0] / g_disc[1] > g_plain[0] / g_plain[1]
    # the planned run's real loss carries the discrepancy: more uncertain than the law's mean
    assert disc.sd_now > sb.design.next_runs(chin, cand, **kw).sd_now
    # N_opt target: the same runs repeated saturate sooner with the shared misfit
    rep = pd.DataFrame({"N": [3e9] * 4, "D": [6e10] * 4})
    a = sb.design.next_runs(chin, rep, budget=1e30, target=C_STAR)
    b = sb.design.next_runs(chin, rep, budget=1e30, target=C_STAR, discrepancy=(0.01, 1.0))
    assert b.sd_batch > a.sd_batch
    with pytest.raises(DesignError, match="method='linear' only"):
        sb.design.next_runs(chin, rep, budget=1e30, target=C_STAR, method="reweight",
                            discrepancy=(0.01, 1.0))
    with pytest.raises(DesignError, match="discrepancy"):
        sb.design.next_runs(chin, rep, budget=1e30, target=C_STAR, discrepancy=(0.01, -1))
