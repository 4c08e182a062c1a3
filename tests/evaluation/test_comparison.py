"""Model comparison (PSIS-LOO, stacking, allocations, Approach-3 rows), conventions, CLI."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from scaling_bayes.evaluation import comparison as cm
from scaling_bayes.plots import comparison as plot_cm

#: a small Approach-3 start grid (the default 4500-start grid is exercised in test_baselines)
A3_GRID = {"e": [0.0, 0.5], "a": [5.0, 10.0], "b": [5.0, 10.0], "alpha": [0.5], "beta": [0.5]}


@pytest.fixture(scope="module")
def fits(epoch_fit):  # shared with the allocation/forecast/plot tests (conftest.py)
    return {"chinchilla": epoch_fit("chinchilla"), "kaplan": epoch_fit("kaplan")}


@pytest.fixture(scope="module")
def result(fits):
    with warnings.catch_warnings():
        warnings.simplefilter("error", cm.ComparisonWarning)  # no bad Pareto k expected here
        return cm.compare(fits, budgets=(5.76e23, 1e26), baselines={"grid": A3_GRID},
                          n_boot=40, points={"N": [70e9], "D": [1.4e12]})


def test_compare_table(result):
    t = result.table
    assert list(t.index[:2]) == ["chinchilla", "kaplan"]  # Chinchilla predicts far better
    bay = t[t["kind"] == "bayes"]
    assert bay["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert bay.loc["chinchilla", "elpd_diff"] == 0.0
    assert bay.loc["kaplan", "elpd_diff"] > 4 * bay.loc["kaplan", "dse"] > 0
    for c in ("elpd_loo", "se", "p_loo", "elpd_waic", "p_waic", "a", "b", "a_q5", "a_q95"):
        assert np.isfinite(bay[c].astype(float)).all(), c
    assert (bay["n_pareto_k_bad"] == 0).all()
    assert ((bay["a"] > 0.4) & (bay["a"] < 0.65)).all()
    assert np.allclose(bay["a"] + bay["b"], 1.0, atol=1e-6)
    # the baseline row: allocation numbers, no LOO
    a3 = t.loc["approach3"]
    assert np.isnan(a3["elpd_loo"]) and np.isnan(a3["weight"]) and "LOO" in a3["note"]
    assert 0.45 < a3["a"] < 0.58 and a3["a_q5"] < a3["a"] < a3["a_q95"]


def test_compare_allocations_and_forecasts(result):
    al = result.allocations
    assert set(al["method"]) == {"chinchilla", "kaplan", "approach3"}
    tpp = al[(al["quantity"] == "tokens_per_param") & (al["C"] == 5.76e23)].set_index("method")
    assert 10 < tpp.loc["chinchilla", "estimate"] < 30
    assert (tpp["q5"] <= tpp["q95"]).all()
    assert al.loc[al["quantity"] == "a", "C"].isna().all()
    fc = result.forecasts
    assert list(fc["method"]) == ["chinchilla", "kaplan"] and (fc["pred_q5"] < fc["pred_q95"]).all()
    pw = result.pointwise()
    assert pw.shape == (240, 4)


def test_compare_plot(result):
    import matplotlib.pyplot as plt

    fig = plot_cm.plot_comparison(result)
    assert len(fig.axes) == 3
    assert all(ax.get_xlabel() for ax in fig.axes)
    assert "ELPD" in fig.axes[0].get_xlabel()
    plt.close(fig)


def test_compare_rejects_bad_input(fits):
    f = fits["chinchilla"]
    sub = dataclasses.replace(f, data=f.data.subset(np.arange(200)))
    with pytest.raises(ValueError, match="same data.*'other'"):
        cm.compare({"chinchilla": f, "other": sub})
    with pytest.raises(ValueError, match="no fits"):
        cm.compare({})
    with pytest.raises(TypeError, match="not a Fit"):
        cm.compare({"x": 3})
    with pytest.raises(ValueError, match="reserved"):
        cm.compare({"approach3": f})
    with pytest.raises(ValueError, match="budgets"):
        cm.compare({"c": f}, budgets=[-1.0])


def test_single_fit_and_pareto_warning(fits):
    f = fits["kaplan"]
    r = cm.compare({"kaplan": f})
    assert r.table.loc["kaplan", "weight"] == 1.0 and r.table.loc["kaplan", "elpd_diff"] == 0
    # an outlier far in the tails makes its LOO term unreliable: a warning, and a count
    ll = f.log_likelihood.copy()
    rng = np.random.default_rng(0)
    ll[..., 0] = -50 + 8 * rng.standard_normal(ll.shape[:2])
    g = dataclasses.replace(f, log_likelihood=ll)
    g.__dict__.pop("idata", None)
    with pytest.warns(cm.ComparisonWarning, match="Pareto k"):
        r = cm.compare({"bad": g})
    assert r.table.loc["bad", "n_pareto_k_bad"] >= 1


def test_compare_conventions_synthetic():
    """Two 'conventions' of the same runs: N counted with and without a size-dependent
    embedding block; the exponent a differs between them and both fits run in one program."""
    from conftest import TRUTH

    from scaling_bayes.laws.base import get_law

    rng = np.random.default_rng(1)
    n = 60
    N = 10 ** rng.uniform(7.5, 10.5, n)
    D = 10 ** rng.uniform(9, 12, n)
    law = get_law("chinchilla")
    th = {k: np.float64(v) for k, v in TRUTH["chinchilla"].items()}
    loss = np.exp(np.asarray(law.log_loss(th, {"N": N, "D": D})) + 0.01 * rng.standard_normal(n))
    emb = 2e3 * N ** (1 / 3) * 50  # embedding parameters grow like N^(1/3)
    df = pd.concat([pd.DataFrame({"N": N, "D": D, "loss": loss, "conv": "total"}),
                    pd.DataFrame({"N": np.maximum(N - emb, N / 5), "D": D, "loss": loss,
                                  "conv": "non_embedding"})], ignore_index=True)
    res = cm.compare_conventions(df, by="conv", chains=4, warmup=200, draws=200)
    t = res.table
    assert set(t.index) == {"total", "non_embedding"}
    assert {"a", "a_q5", "a_q95", "b", "tpp@5.76e+23", "divergences"} <= set(t.columns)
    assert 0.35 < t.loc["total", "a"] < 0.6
    assert t.loc["non_embedding", "a"] != t.loc["total", "a"]
    assert set(res.allocations["method"]) == {"total", "non_embedding"}
    import matplotlib.pyplot as plt

    fig = plot_cm.plot_conventions(res)
    assert all(ax.get_xlabel() for ax in fig.axes)
    plt.close(fig)
    with pytest.raises(ValueError, match="column 'nope'"):
        cm.compare_conventions(df, by="nope")


def test_porian_convention_subset():
    df = cm.porian_conventions("refinedweb")
    assert set(df["N_convention"]) == set(cm.PORIAN_CONVENTION_SETTINGS)
    assert df.groupby("N_convention")["setting"].nunique().eq(1).all()
    assert set(cm.porian_conventions("openwebtext2")["N_convention"]) == {
        "nonembedding_excl_head", "nonembedding_plus_output_head"}
    with pytest.raises(ValueError, match="datasets"):
        cm.porian_conventions("c4")


# ----------------------------------------------------------------------------- CLI
@pytest.fixture
def main():
    from scaling_bayes.cli import main as cli

    return cli.main


def test_cli_compare_end_to_end(main, tmp_path, capsys, fits):
    out = tmp_path / "cmp"
    rc = main(["compare", "--dataset", "chinchilla", "--laws", "kaplan,chinchilla", "--warmup",
               "200", "--draws", "200", "--no-progress", "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "elpd_loo" in cap.out and "kaplan" in cap.out
    t = pd.read_csv(out / "comparison.csv", index_col=0)
    assert list(t.index) == ["chinchilla", "kaplan"]
    assert t["weight"].sum() == pytest.approx(1.0)
    assert {"method", "C", "quantity", "q5", "q95"} <= set(pd.read_csv(out / "allocations.csv"))
    assert (out / "comparison.png").stat().st_size > 5000


@pytest.mark.parametrize("argv, msg", [
    (["compare", "--dataset", "chinchilla", "--laws", "kaplan,nope"], "nope"),
    (["compare", "--laws", "kaplan"], "either a CSV path or --dataset"),
    (["compare", "missing.csv", "--laws", "kaplan"], "not found"),
    (["compare", "--dataset", "chinchilla", "--draws", "0"], "--draws"),
    (["backtest", "--dataset", "chinchilla"], "exactly one of"),
    (["backtest", "--dataset", "chinchilla", "--holdout-above-compute", "abc"], "not a number"),
    (["backtest", "--dataset", "chinchilla", "--holdout-above-compute", "1e30"], "no rows"),
    (["backtest", "--dataset", "chinchilla", "--holdout-above-params", "-1"], "> 0"),
])
def test_cli_bad_input_one_line_exit_2(main, capsys, argv, msg):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scaling-bayes: error:") and msg in err
