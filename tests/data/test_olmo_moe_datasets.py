"""The OLMo ladder and active-sl MoE data sets (scaling_bayes.data.datasets); the moe_power law."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

import scaling_bayes as sb
from scaling_bayes.data import datasets
from scaling_bayes.data.observations import load_data
from scaling_bayes.evaluation.examples import EXAMPLE_TRUTH, synthetic_example
from scaling_bayes.laws import get_law

BUNDLED_DATA = Path(datasets.__file__).resolve().parent / "files"
TASKS = ("mmlu_avg_test", "hellaswag_val", "arc_challenge_test", "arc_easy_test", "piqa_val",
         "csqa_val", "socialiqa_val", "openbookqa_test", "winogrande_val", "boolq_val")


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path


# ----------------------------------------------------------------------------- OLMo ladder
def test_olmo_ladder_is_the_final_checkpoint_of_each_run():
    df = sb.load_dataset("olmo_ladder")
    assert list(df.columns[:4]) == ["N", "D", "C", "loss"] and len(df) == 24
    assert df["run"].is_unique
    for col in ("N", "D", "C", "loss"):
        assert df[col].dtype == np.float64 and df[col].notna().all() and (df[col] > 0).all()
    for col in ("size", "xC", "rerun", "step", "lr", *(f"{m}_{t}" for t in TASKS
                                                         for m in ("bpb", "acc"))):
        assert col in df.columns, col
    # 4 sizes x (0.5, 1, 2, 5, 10 xC + a 1xC rerun)
    assert sorted(df["size"].unique()) == ["190M", "1B", "370M", "760M"]
    assert df.groupby("size").size().eq(6).all() and df["rerun"].sum() == 4
    assert set(df["xC"]) == {0.5, 1.0, 2.0, 5.0, 10.0}
    assert (df.loc[df["rerun"], "xC"] == 1.0).all()
    np.testing.assert_array_equal(df["C"], 6.0 * df["N"] * df["D"])
    np.testing.assert_array_equal(df["loss"], df["loss_c4_en"])
    # the final checkpoint: the largest step of the run's curve, at the end of its LR decay
    curves = sb.load_dataset("olmo_ladder_curves")
    last = curves.loc[curves.groupby("run")["step"].idxmax()].set_index("run")
    mine = df.set_index("run")
    for col in ("step", "D", "loss", "lr"):
        np.testing.assert_array_equal(mine[col], last.loc[mine.index, col])
    # tokens grow with the multiple of the Chinchilla count: ~20 tokens/param at 1xC
    tpp = df["D"] / df["N"] / df["xC"]
    assert tpp.between(19, 21).all(), tpp
    assert df.attrs["dataset"] == "olmo_ladder" and "2412.04403" in df.attrs["source"]
    assert "6ND" in df.attrs["flop_convention"]
    assert (df["C_ladder"] / df["C"]).between(1.3, 1.7).all()
    # it loads as scaling data: N from the N column (not the "size" alias), D from D
    d = load_data(df)
    np.testing.assert_array_equal(d.N, df["N"])
    np.testing.assert_array_equal(d.D, df["D"])


def test_olmo_ladder_final_rows_match_the_shared_csv():
    raw = pd.read_csv(_shared("olmo_ladder_190m_1b.csv"))
    want = raw.loc[raw.groupby("file")["step"].idxmax()].set_index("file").sort_index()
    got = sb.load_dataset("olmo_ladder").set_index("run").sort_index()
    assert list(got.index) == list(want.index)
    np.testing.assert_array_equal(got["D"], want["tokens"])
    np.testing.assert_array_equal(got["N"], want["N"].astype(float))
    np.testing.assert_array_equal(got["loss"], want["loss_c4_en"])
    np.testing.assert_array_equal(got["bpb_hellaswag_val"], want["bpb_hellaswag_val"])


def test_olmo_ladder_curves_long_format():
    df = sb.load_dataset("olmo_ladder_curves")
    assert list(df.columns[:4]) == ["N", "D", "C", "loss"] and len(df) == 2459
    assert df[["N", "D", "C", "loss"]].notna().all().all()
    assert df["run"].nunique() == 24
    assert df.groupby("run").size().between(37, 163).all()
    for _, g in df.groupby("run"):
        assert g["step"].is_monotonic_increasing and g["D"].is_monotonic_increasing
        assert g["N"].nunique() == 1
    assert (df["lr"] > 0).all() and df["step"].min() == 50
    np.testing.assert_array_equal(df["C"], 6.0 * df["N"] * df["D"])
    assert df.attrs["dataset"] == "olmo_ladder_curves"


def test_bundled_olmo_file_is_the_shared_csv_gzipped():
    bundled = BUNDLED_DATA / datasets._DATASETS["olmo_ladder"].filename
    assert bundled.name.endswith(".csv.gz") and bundled.stat().st_size < 1_000_000
    assert datasets._DATASETS["olmo_ladder_curves"].filename == bundled.name
    assert gzip.decompress(bundled.read_bytes()) == _shared(bundled.name[:-3]).read_bytes()


# ----------------------------------------------------------------------------- MoE
def test_moe_activesl_columns_and_rows():
    df = sb.load_dataset("moe_activesl")
    assert list(df.columns) == ["N", "loss", "experts"] and len(df) == 193
    assert "D" not in df.columns and "C" not in df.columns  # the source has no token count
    for col in df.columns:
        assert df[col].dtype == np.float64 and df[col].notna().all() and (df[col] > 0).all()
    assert sorted(df["experts"].unique()) == [2.0**k for k in range(10)]
    assert df["N"].nunique() == 5 and df["N"].max() == 368123904.0
    assert df.attrs["dataset"] == "moe_activesl" and "2604.22753" in df.attrs["source"]
    assert "token count" in datasets._load_moe_activesl.__doc__
    assert "token count" in sb.list_datasets()["moe_activesl"]
    d = load_data(df)
    assert d.D is None and d.C is None
    np.testing.assert_array_equal(d.get("experts"), df["experts"])


def test_moe_activesl_matches_the_shared_csv():
    raw = pd.read_csv(_shared("moe_activesl_train.csv"))
    df = sb.load_dataset("moe_activesl")
    np.testing.assert_array_equal(df["N"], raw["dense_parameter_count"])
    np.testing.assert_array_equal(df["experts"], raw["num_experts"])
    np.testing.assert_array_equal(df["loss"], raw["loss_validation"])


# ----------------------------------------------------------------------------- moe_power
def test_moe_power_formula():
    law = get_law("moe_power")
    assert law.inputs == ("N", "experts") and law.param_names == ("E", "B", "alpha", "beta")
    t = EXAMPLE_TRUTH["moe_power"]
    theta = {k: np.float64(v) for k, v in t.items()}
    N, E = np.array([1.5e7, 3e8, 1.3e9]), np.array([1.0, 8.0, 512.0])
    want = t["E"] + t["B"] / (N ** t["alpha"] * E ** t["beta"])
    np.testing.assert_allclose(law(theta, N=N, experts=E), want, rtol=1e-6)  # float32 or 64
    assert "moe_power" in sb.list_laws() and "L = E + B/(N^alpha" in sb.list_laws()["moe_power"]


def test_moe_power_recovers_known_parameters():
    # data seed 0: the least-squares-like posterior mean lies within 1 sd of every truth
    # (|z| < 1.0), so a miss points at the sampler, not at the draw
    df = synthetic_example("moe_power", seed=0)
    fit = sb.fit(df, law="moe_power", seed=0, chains=4, warmup=1000, draws=1000, warn=False)
    s = fit.summary()
    assert fit.divergences == 0
    assert (s["r_hat"] <= 1.01).all(), s["r_hat"]
    assert (s["ess_bulk"] >= 400).all(), s["ess_bulk"]
    assert list(fit.check()) == []
    draws = fit.textbook_draws()
    for name, truth in EXAMPLE_TRUTH["moe_power"].items():
        lo, hi = np.quantile(np.ravel(draws[name]), [0.025, 0.975])
        assert lo <= truth <= hi, f"moe_power: {name}={truth} outside 95% interval [{lo}, {hi}]"
    assert 0.005 < s.loc["sigma", "q50"] < 0.02  # data noise is 0.01


def test_moe_power_fits_the_real_moe_data_cleanly():
    fit = sb.fit(sb.load_dataset("moe_activesl"), law="moe_power", seed=0, warn=False)
    s = fit.summary()
    assert list(fit.check()) == [], fit.check()
    assert fit.divergences == 0 and (s["r_hat"] <= 1.01).all() and (s["ess_bulk"] >= 400).all()
    # loose bounds around the posterior recorded in the issue report (E ~1.62, alpha ~0.20,
    # beta ~0.078, sigma ~0.015)
    assert 1.3 < s.loc["E", "q50"] < 1.9
    assert 0.14 < s.loc["alpha", "q50"] < 0.26 and 0.05 < s.loc["beta", "q50"] < 0.11
    assert 0.012 < s.loc["sigma", "q50"] < 0.019
