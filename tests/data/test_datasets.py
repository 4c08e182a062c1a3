"""Bundled real data sets: scaling_bayes.data.datasets."""

from __future__ import annotations

import ast
import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA

from scaling_bayes.data import datasets
from scaling_bayes.data.datasets import UnknownDatasetError, list_datasets, load_dataset

NAMES = list(list_datasets())
STANDARD = ["N", "D", "C", "loss"]
REQUIRED = {
    "chinchilla", "porian2024", "muennighoff2023", "gemstones2025", "opt_trajectories",
    "marin2026", "xlstm2025",
}
BUNDLED_DATA = Path(datasets.__file__).resolve().parent / "files"

EXPECTED_ROWS = {
    # name: (rows, rows with drop_excluded=True)
    "chinchilla": (245, 240),
    "porian2024": (1745, 1745),
    "muennighoff2023": (296, 296),
    "gemstones2025": (1169, 1169),
    "opt_trajectories": (142, 142),
    "marin2026": (273, 258),
    "xlstm2025": (429, 429),
    "llama3_digitized": (133, 133),
    "bnsl_4digit_addition": (17, 14),
    "olmo_ladder": (24, 24),
    "olmo_ladder_curves": (2459, 2459),
    "moe_activesl": (193, 193),
}
#: Data sets with only these standard columns: a one-dimensional learning curve (no model size
#: in the source) and the MoE sweep (no token count in the source).
ONE_D = {"bnsl_4digit_addition": ["D", "loss"], "moe_activesl": ["N", "loss"]}


def test_required_names_bundled():
    assert REQUIRED <= set(NAMES)
    assert set(EXPECTED_ROWS) == set(NAMES)
    for name, desc in list_datasets().items():
        assert isinstance(desc, str) and desc and "\n" not in desc, name


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("drop_excluded", [False, True])
def test_loads_with_standard_columns(name, drop_excluded):
    df = load_dataset(name, drop_excluded=drop_excluded)
    assert isinstance(df, pd.DataFrame)
    standard = ONE_D.get(name, STANDARD)
    assert list(df.columns[: len(standard)]) == standard
    assert len(set(df.columns)) == len(df.columns)
    assert "source_file" not in df.columns
    for col in standard:
        assert df[col].dtype == np.float64, (name, col)
        values = df[col].to_numpy()
        assert np.all(np.isfinite(values)), (name, col)
        assert np.all(values > 0), (name, col)
    assert len(df) == EXPECTED_ROWS[name][int(drop_excluded)]
    assert df.index.equals(pd.RangeIndex(len(df)))
    assert df.attrs["dataset"] == name
    assert df.attrs["source"]
    assert df.attrs["flop_convention"]


@pytest.mark.parametrize("name", NAMES)
def test_returns_a_fresh_copy(name):
    df = load_dataset(name)
    expected = df.copy(deep=True)
    df.loc[:, "loss"] = -1.0
    df["N"] = 0.0
    df.iloc[0, 1] = 123.0
    df[df.columns[-1]] = 0
    df.attrs["dataset"] = "mutated"
    again = load_dataset(name)
    pd.testing.assert_frame_equal(again, expected)
    assert again.attrs["dataset"] == name


def test_chinchilla():
    df = load_dataset("chinchilla")
    assert len(df) == 245
    assert {"C_isoflop_nominal", "epoch_excluded"} <= set(df.columns)
    assert df["epoch_excluded"].sum() == 5
    assert df["C_isoflop_nominal"].notna().sum() == 129
    np.testing.assert_allclose(df["D"], df["C"] / (6 * df["N"]), rtol=1e-6)
    kept = load_dataset("chinchilla", drop_excluded=True)
    assert len(kept) == 240
    assert not kept["epoch_excluded"].any()
    # the excluded points are the 5 highest losses
    assert df.loc[df["epoch_excluded"], "loss"].min() > kept["loss"].max()


def test_porian_grouping_columns():
    df = load_dataset("porian2024")
    for col in ["dataset", "setting", "hparams", "warmup", "decay", "N_convention", "loss_type"]:
        assert col in df.columns
    assert df.groupby(["dataset", "setting"]).ngroups == 15
    np.testing.assert_allclose(df["C"], 6 * df["N"] * df["D"], rtol=1e-6)


def test_muennighoff_columns():
    df = load_dataset("muennighoff2023")
    np.testing.assert_allclose(df["epochs"], df["D"] / df["U_unique_tokens"], rtol=1e-6)
    np.testing.assert_allclose(df["C"], 6 * df["N"] * df["D"], rtol=1e-6)


def test_gemstones_columns():
    df = load_dataset("gemstones2025")
    assert {"phase", "width", "depth", "step", "run_name", "C_6ND"} <= set(df.columns)
    assert df["phase"].value_counts().to_dict() == {
        "constant_lr_checkpoint": 770, "constant_lr_half_lr_ablation": 200, "after_cooldown": 199,
    }
    np.testing.assert_array_equal(df["C"], df["C_6ND"])
    np.testing.assert_allclose(df["C"], 6 * df["N"] * df["D"], rtol=1e-6)


def test_opt_nominal_sizes_and_loss():
    df = load_dataset("opt_trajectories")
    assert {"model", "step", "perplexity"} <= set(df.columns)
    assert sorted(df["N"].unique()) == [125e6, 1.3e9, 6.7e9, 13e9, 30e9, 175e9]
    np.testing.assert_allclose(df["loss"], np.log(df["perplexity"]), rtol=1e-6)
    np.testing.assert_array_equal(df["C"], df["C_6ND"])


def test_marin_flops_and_exclusion():
    df = load_dataset("marin2026")
    for col in ["train_dataset", "budget_in_name", "validation_optimal_run", "C_6ND"]:
        assert col in df.columns
    assert df["validation_optimal_run"].sum() == 15
    regular = df[~df["validation_optimal_run"]]
    # source FLOP number, not 6ND: name budget is forward-pass FLOPs for regular runs
    np.testing.assert_allclose(regular["C"], 3 * regular["budget_in_name"], rtol=1e-3)
    assert not np.allclose(df["C"], df["C_6ND"], rtol=1e-2)
    kept = load_dataset("marin2026", drop_excluded=True)
    assert not kept["validation_optimal_run"].any()


def test_xlstm_completed_only():
    df = load_dataset("xlstm2025")
    raw = pd.read_csv(BUNDLED_DATA / "xlstm2025_isoflop.csv")
    assert len(df) == int(raw["completed"].sum()) == 429
    assert set(df["run_id"]) == set(raw.loc[raw["completed"], "run_id"])
    np.testing.assert_array_equal(df["C"], df["C_6ND"])
    assert set(df["arch"]) == {"transformer_llama", "xlstm_mlstm"}


def test_unknown_name_lists_available():
    with pytest.raises(UnknownDatasetError) as info:
        load_dataset("chinchila")
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "chinchila" in message
    for name in NAMES:
        assert name in message
    with pytest.raises(UnknownDatasetError):
        load_dataset(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_loader_docstrings(name):
    loader = getattr(datasets, f"_load_{name}")
    doc = loader.__doc__ or ""
    assert "Source" in doc
    assert "Licence" in doc
    assert "Caveat" in doc
    assert "loss" in doc and "nats" in doc
    assert name in (load_dataset.__doc__ or "")


def test_module_docstring_explains_standard_columns():
    doc = datasets.__doc__ or ""
    for col in STANDARD:
        assert f"``{col}``" in doc


@pytest.mark.parametrize("name", NAMES)
def test_bundled_csv_matches_shared_source(name):
    filename = datasets._DATASETS[name].filename
    bundled = BUNDLED_DATA / filename
    assert bundled.is_file()
    gz = filename.endswith(".gz")  # bundled gzip-compressed: compare the decompressed bytes
    shared = SHARED_DATA / (filename[:-3] if gz else filename)
    if not shared.is_file():
        pytest.skip(f"{SHARED_DATA} not available")
    content = gzip.decompress(bundled.read_bytes()) if gz else bundled.read_bytes()
    assert content == shared.read_bytes()


def test_module_imports_are_cheap_and_jax_free():
    # Static check (independent of what scaling_bayes/__init__.py may import): the module
    # never imports jax/numpyro/arviz, and at top level imports only the standard library.
    tree = ast.parse(Path(datasets.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"jax", "jaxlib", "numpyro", "arviz"}
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # the package's floor (_core: errors, vocabulary) imports only the standard library
            if not node.module.startswith("scaling_bayes._core"):
                top.add(node.module.split(".")[0])
    assert top <= set(sys.stdlib_module_names) | {"__future__"}, top
