"""Compute-optimal allocation: closed form vs numeric, Kaplan boundaries, targets, waste, CLI."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.decisions import allocation as al


@pytest.fixture(scope="module")
def chin(epoch_fit):
    return epoch_fit("chinchilla")


@pytest.fixture(scope="module")
def kap(epoch_fit):
    return epoch_fit("kaplan")


BUDGETS = [1e19, 5.76e23, 1e26, 1e30]


def test_closed_form_matches_numeric_on_every_draw(chin):
    cf = al.compute_optimal(chin, BUDGETS)
    nu = al.compute_optimal(chin, BUDGETS, method="numeric")
    assert cf.method == "closed_form" and nu.method == "numeric"
    for q in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
        assert cf.draws[q].shape == (chin.n_chains * chin.n_draws, len(BUDGETS))
        rel = np.abs(nu.draws[q] / cf.draws[q] - 1)
        assert np.all(np.isfinite(rel)) and rel.max() < 1e-6, (q, rel.max())
    assert not nu.boundary.any()
    # C = 6 N D exactly and the closed form identities
    np.testing.assert_allclose(6 * cf.draws["N_opt"] * cf.draws["D_opt"],
                               np.broadcast_to(BUDGETS, cf.draws["N_opt"].shape), rtol=1e-10)
    ex = cf.exponent_draws
    np.testing.assert_allclose(ex["a"] + ex["b"], 1.0)
    th = chin.textbook_draws()
    np.testing.assert_allclose(cf.draws["N_opt"][:, 1], ex["G"] * (5.76e23 / 6) ** ex["a"],
                               rtol=1e-10)
    # at the optimum the reducible terms are in ratio beta : alpha
    N, D = cf.draws["N_opt"][:, 1], cf.draws["D_opt"][:, 1]
    np.testing.assert_allclose(th["alpha"] * th["A"] * N ** -th["alpha"],
                               th["beta"] * th["B"] * D ** -th["beta"], rtol=1e-9)


def test_table_layout_and_chinchilla_tokens_per_param(chin):
    res = al.compute_optimal(chin, [5.76e23, 1e24], quantiles=(0.05, 0.5, 0.95))
    t = res.table
    assert list(t.columns) == ["C", "quantity", "mean", "sd", "q5", "q50", "q95", "boundary"]
    assert len(t) == 2 * 4
    assert set(t["quantity"]) == {"N_opt", "D_opt", "tokens_per_param", "loss_opt"}
    r = res.quantity("tokens_per_param").loc[5.76e23]
    assert 5 <= r["q5"] < r["q50"] < r["q95"] <= 60, r
    assert list(res.exponents.index) == ["a", "b", "G"]
    assert 0.3 < res.exponents.loc["a", "q50"] < 0.7
    t2 = al.compute_optimal(chin, 1e24, quantiles=(0.1, 0.9)).table
    assert {"q10", "q90"} <= set(t2.columns) and "q5" not in t2.columns


def test_flop_models(chin):
    base = al.compute_optimal(chin, [1e22, 1e24])
    custom = al.compute_optimal(chin, [1e22, 1e24], flops=lambda N, D: 6.0 * N * D)
    assert custom.method == "numeric"
    np.testing.assert_allclose(custom.draws["N_opt"], base.draws["N_opt"], rtol=1e-6)
    k8 = al.compute_optimal(chin, [1e24], flops=8.0)
    np.testing.assert_allclose(k8.draws["N_opt"][:, 0], base.draws["N_opt"][:, 1] *
                               (6 / 8) ** k8.exponent_draws["a"], rtol=1e-10)
    # a FLOP model with per-token overhead (e.g. attention): more compute per token -> fewer tokens
    over = al.compute_optimal(chin, [1e24], flops=lambda N, D: 6.0 * N * D + 6.0 * 2e9 * D)
    C_used = 6 * over.draws["N_opt"] * over.draws["D_opt"] + 6 * 2e9 * over.draws["D_opt"]
    np.testing.assert_allclose(C_used, 1e24, rtol=1e-8)


def test_kaplan_numeric_matches_analytic_and_flags_boundaries(kap):
    C = np.array([1e20, 5.76e23, 1e26])
    with warnings.catch_warnings():
        warnings.simplefilter("error", al.AllocationWarning)
        res = al.compute_optimal(kap, C)
    assert res.method == "numeric" and not res.boundary.any()
    th = kap.textbook_draws()
    r = th["alpha_N"] / th["alpha_D"]
    # argmin_N (N_c/N)^r + D_c*6N/C  =>  N^(1+r) = r N_c^r C / (6 D_c)
    N_exact = (r[:, None] * th["N_c"][:, None] ** r[:, None] * C[None] / (6 * th["D_c"][:, None])
               ) ** (1 / (1 + r[:, None]))
    assert np.max(np.abs(res.draws["N_opt"] / N_exact - 1)) < 1e-6
    assert set(res.exponents.index) == {"a", "b"}
    # a bracket that excludes the optimum: every draw is a boundary solution, reported as NaN
    with pytest.warns(al.AllocationWarning, match="no interior compute-optimum"):
        b = al.compute_optimal(kap, C, tpp_bracket=(1e3, 1e9))
    assert np.all(b.boundary == 1.0)
    assert np.all(np.isnan(b.draws["N_opt"]))
    assert (b.table["boundary"] == 1.0).all()
    with pytest.raises(ValueError, match="closed_form"):
        al.compute_optimal(kap, 1e22, method="closed_form")


def test_allocation_per_group_of_a_hierarchical_fit(chin, kap):
    """compute_optimal_by_group / exponents_by_group: compute_optimal of every group's fit,
    stacked with a group column (a stand-in for a HierarchicalFit: its groups and group())."""
    h = types.SimpleNamespace(groups=["x", "y"], group={"x": chin, "y": kap}.__getitem__)
    t = sb.compute_optimal_by_group(h, [1e22, 1e24], warn=False)
    expect = pd.concat([al.compute_optimal(f, [1e22, 1e24], warn=False).table.assign(group=g)
                        for g, f in (("x", chin), ("y", kap))], ignore_index=True)
    pd.testing.assert_frame_equal(t, expect)
    ex = sb.exponents_by_group(h, warn=False)
    assert list(ex["group"]) == ["x"] * 3 + ["y"] * 2
    pd.testing.assert_frame_equal(ex[ex["group"] == "x"].drop(columns="group"),
                                  al.compute_optimal(chin, 1e21).exponents)
    with pytest.raises(TypeError, match="HierarchicalFit"):
        al.compute_optimal_by_group(chin, 1e22)


def test_target_loss(chin):
    r50 = al.target_loss(chin, [2.0, 1.95], prob=0.5)
    r90 = al.target_loss(chin, [2.0, 1.95], prob=0.9)
    assert np.all(r90.compute > r50.compute)
    t = r90.table
    assert set(t["quantity"]) == {"C_required", "N_opt", "D_opt", "tokens_per_param", "loss_opt"}
    assert (t["prob_reached"] >= 0.9).all()
    np.testing.assert_allclose(np.mean(r90.draws["C_required"] <= r90.compute, axis=0),
                               t.groupby("loss", sort=False)["prob_reached"].first(), rtol=0)
    # a lower loss needs more compute
    assert r50.compute[1] > r50.compute[0]
    # the per-draw required compute really gives that loss
    C = r50.draws["C_required"][:, 0]
    back = al.compute_optimal(chin, np.median(C))
    assert abs(back.quantity("loss_opt")["q50"].iloc[0] - 2.0) < 0.01
    with pytest.raises(ValueError, match="not reached"):
        al.target_loss(chin, 1.0, prob=0.5)  # below E


def test_target_loss_numeric_agrees(kap):
    r = al.target_loss(kap, 2.2, prob=0.5)
    assert r.table["prob_reached"].iloc[0] >= 0.5
    assert 1e19 < r.compute[0] < 1e24


def test_inference_optimal(chin):
    res = al.inference_optimal(chin, 5.76e23, inference_tokens=[0.0, 1e12, 1e13])
    d = res.draws
    # no inference: the Chinchilla-optimal model
    np.testing.assert_allclose(d["N"][:, 0], d["N_chinchilla"][:, 0], rtol=1e-4)
    # more inference: smaller models trained longer, and cheaper in total than Chinchilla
    assert np.all(d["N"][:, 2] < d["N"][:, 1]) and np.all(d["N"][:, 1] < d["N_chinchilla"][:, 1])
    assert np.all(d["tokens_per_param"][:, 2] > d["tokens_per_param"][:, 1])
    assert np.all(d["savings_fraction"][:, 1:] > 0)
    # same loss as the Chinchilla-optimal model
    th = chin.textbook_draws()
    L = np.exp(chin.law.log_loss(th, {"N": d["N"][:, 2], "D": d["D_train"][:, 2]}))
    L0 = np.exp(chin.law.log_loss(th, {"N": d["N_chinchilla"][:, 2],
                                       "D": d["D_chinchilla"][:, 2]}))
    np.testing.assert_allclose(L, L0, rtol=1e-9)
    by_loss = al.inference_optimal(chin, loss=2.0, inference_tokens=1e13)
    assert np.isnan(by_loss.table["C"]).all() and (by_loss.table["loss"] == 2.0).all()
    with pytest.raises(ValueError, match="exactly one"):
        al.inference_optimal(chin, 1e23, loss=2.0, inference_tokens=1e12)
    with pytest.raises(ValueError, match="inference_tokens"):
        al.inference_optimal(chin, 1e23, inference_tokens=-1)


def test_compute_waste(chin):
    opt = al.compute_optimal(chin, 5.76e23).table.set_index("quantity")
    N0, D0 = opt.loc["N_opt", "q50"], opt.loc["D_opt", "q50"]
    res = al.compute_waste(chin, [N0, 4 * N0, N0 / 4], [D0, D0 / 4, 4 * D0])
    w = res.draws["waste_fraction"]
    assert np.all(w >= -1e-12) and np.all(w < 1)
    med = np.median(w, axis=0)
    assert med[0] < 0.02 and med[1] > 0.2 and med[2] > 0.2
    assert np.all(res.draws["C_eq"] <= 6 * np.array([N0 * D0] * 3) * (1 + 1e-12))
    assert {"N", "D", "C", "quantity"} <= set(res.table.columns)


BAD = [
    (lambda f: al.compute_optimal(f, 0.0), "compute.*0.0"),
    (lambda f: al.compute_optimal(f, -1e22), "compute.*-1e"),
    (lambda f: al.compute_optimal(f, [1e22, np.nan]), "compute.*nan"),
    (lambda f: al.compute_optimal(f, np.inf), "compute.*inf"),
    (lambda f: al.compute_optimal(f, 1e5), "compute.*1e\\+05"),
    (lambda f: al.compute_optimal(f, 1e40), "compute.*1e\\+40"),
    (lambda f: al.compute_optimal(f, "lots"), "compute"),
    (lambda f: al.compute_optimal(f, 1e22, method="magic"), "method"),
    (lambda f: al.compute_optimal(f, 1e22, flops=-6), "flops"),
    (lambda f: al.compute_optimal(f, 1e22, quantiles=(0.5, 1.5)), "quantiles"),
    (lambda f: al.compute_optimal(f, 1e22, tpp_bracket=(10, 1)), "tpp_bracket"),
    (lambda f: al.target_loss(f, 2.0, prob=0.0), "prob.*0.0"),
    (lambda f: al.target_loss(f, 2.0, prob=1.0), "prob.*1.0"),
    (lambda f: al.target_loss(f, 2.0, prob=1.5), "prob.*1.5"),
    (lambda f: al.target_loss(f, -2.0), "loss.*-2.0"),
    (lambda f: al.compute_waste(f, 0.0, 1e12), "N.*0.0"),
    (lambda f: al.compute_waste(f, 1e9, np.nan), "D.*nan"),
    (lambda f: al.compute_waste(f, [1e9, 2e9], [1e12, 2e12, 3e12]), "broadcast"),
    (lambda f: al.inference_optimal(f, 0.0, inference_tokens=1e12), "compute.*0.0"),
]


@pytest.mark.parametrize("call,match", BAD)
def test_bad_inputs(chin, call, match):
    with pytest.raises(ValueError, match=match):
        call(chin)


@pytest.mark.parametrize("law", ["power_N", "power_D_E", "power_C"])
def test_single_variable_laws_have_no_allocation(law):
    fake = types.SimpleNamespace(law=sb.get_law(law))
    for fn in (lambda: al.compute_optimal(fake, 1e22), lambda: al.target_loss(fake, 2.0),
               lambda: al.compute_waste(fake, 1e9, 1e10)):
        with pytest.raises(ValueError, match=f"law '{law}'.*allocation"):
            fn()


def test_cli_allocate(chin, tmp_path, capsys):
    from scaling_bayes.cli.main import main

    path = chin.save(tmp_path / "fit.nc")
    out = tmp_path / "alloc.csv"
    assert main(["allocate", str(path), "--compute", "5.76e23", "1e24", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tokens_per_param" in printed and str(out) in printed
    df = pd.read_csv(out)
    assert len(df) == 2 * 4 + 3  # 4 quantities per budget + a, b, G
    assert not list(tmp_path.glob(".alloc.csv.*"))  # no temp file left behind
    assert main(["allocate", str(path), "--compute", "-5"]) == 2
    assert "compute" in capsys.readouterr().err
    assert main(["allocate", str(tmp_path / "missing.nc"), "--compute", "1e22"]) == 2
    assert "not found" in capsys.readouterr().err
