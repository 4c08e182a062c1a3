"""Tests for scaling_bayes.posterior.diagnostics: numpy R-hat / ESS / MCSE against ArviZ, table and gates."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scaling_bayes.posterior import diagnostics as diag
from scaling_bayes.posterior.diagnostics import DiagnosticWarning


def ar1(shape, phi=0.5, seed=0, offsets=None):
    """Stationary AR(1) chains (unit marginal variance) of shape (chain, draw, *event)."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal(shape)
    x = np.empty(shape)
    x[:, 0] = eps[:, 0]
    scale = np.sqrt(1 - phi**2)
    for t in range(1, shape[1]):
        x[:, t] = phi * x[:, t - 1] + scale * eps[:, t]
    if offsets is not None:
        x += np.reshape(offsets, (-1,) + (1,) * (len(shape) - 1))
    return x


def _constant_element():
    x = ar1((4, 200, 2), seed=5)
    x[..., 0] = 3.0
    return x


CASES = {
    "4x1000": lambda: ar1((4, 1000), phi=0.6, seed=1),
    "4x1001_odd": lambda: ar1((4, 1001), phi=0.3, seed=2),
    "2x50": lambda: ar1((2, 50), phi=0.8, seed=3),
    "4x6_tiny": lambda: ar1((4, 6), phi=0.2, seed=4),
    "1x200_one_chain": lambda: ar1((1, 200), phi=0.5, seed=6),
    "negative_phi": lambda: ar1((4, 500), phi=-0.7, seed=7),
    "sticky_phi": lambda: ar1((4, 400), phi=0.98, seed=8),
    "different_means": lambda: ar1((4, 1000), phi=0.5, seed=9, offsets=[0, 0, 0, 1.5]),
    "event_3": lambda: ar1((8, 200, 3), phi=0.4, seed=10),
    "event_2x3": lambda: ar1((4, 100, 2, 3), phi=0.7, seed=11),
    "ties": lambda: np.random.default_rng(12).integers(0, 3, size=(4, 300)).astype(float),
    "binary": lambda: np.random.default_rng(13).integers(0, 2, size=(4, 300)).astype(float),
    "constant_element": _constant_element,
}


# ------------------------------------------------------------------ agreement with ArviZ


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_arviz(case):
    az = pytest.importorskip("arviz")
    x = CASES[case]()
    data = {"x": x}
    with warnings.catch_warnings():  # ArviZ itself warns on constant chains / one chain
        warnings.simplefilter("ignore")
        ref = {
            "rhat": az.rhat(data, method="rank")["x"].values,
            "ess_bulk": az.ess(data, method="bulk")["x"].values,
            "ess_tail": az.ess(data, method="tail")["x"].values,
            "mcse_mean": az.mcse(data, method="mean")["x"].values,
            "mcse_sd": az.mcse(data, method="sd")["x"].values,
        }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = {name: getattr(diag, name)(x) for name in ref}
    for name, expected in ref.items():
        got = np.asarray(ours[name])
        assert got.shape == x.shape[2:], name
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=0, equal_nan=True,
                                   err_msg=f"{name} ({case})")


def test_summary_matches_arviz_functions():
    az = pytest.importorskip("arviz")
    samples = {"a": ar1((4, 500), seed=20), "b": ar1((4, 500, 3), phi=0.8, seed=21)}
    table = diag.summarize(samples)
    for col, fn in [("r_hat", lambda d: az.rhat(d)), ("ess_bulk", lambda d: az.ess(d)),
                    ("ess_tail", lambda d: az.ess(d, method="tail")),
                    ("mcse_mean", lambda d: az.mcse(d))]:
        ref = fn(samples)
        expected = np.concatenate([np.ravel(ref["a"].values), np.ravel(ref["b"].values)])
        np.testing.assert_allclose(table[col].to_numpy(), expected, rtol=1e-8, err_msg=col)


# ------------------------------------------------------------------ behaviour without ArviZ


def test_output_shapes():
    assert np.shape(diag.rhat(ar1((4, 100)))) == ()
    assert np.shape(diag.ess_bulk(ar1((4, 100, 3)))) == (3,)
    assert np.shape(diag.ess_tail(ar1((4, 100, 2, 3)))) == (2, 3)
    assert np.shape(diag.mcse_mean(ar1((4, 100, 5)))) == (5,)
    assert np.shape(diag.mcse_sd(ar1((4, 100)))) == ()


def test_iid_chains_are_clean_and_ess_is_plausible():
    x = np.random.default_rng(30).standard_normal((4, 1000))
    assert diag.rhat(x) < 1.01
    assert 3000 < diag.ess_bulk(x) < 5500
    assert 3000 < diag.ess_tail(x) < 5500
    np.testing.assert_allclose(diag.mcse_mean(x), 1 / np.sqrt(4000), rtol=0.2)


def test_autocorrelated_chains_have_theoretical_ess():
    phi = 0.8
    x = ar1((4, 5000), phi=phi, seed=31)
    expected = x.size * (1 - phi) / (1 + phi)
    assert 0.8 * expected < diag.ess_bulk(x) < 1.25 * expected


def test_rhat_large_when_chains_disagree():
    x = ar1((4, 1000), seed=32, offsets=[0, 0, 0, 2.0])
    assert diag.rhat(x) > 1.1
    assert diag.rhat(ar1((4, 1000), seed=32)) < 1.01


def test_rhat_needs_two_chains_and_four_draws():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(diag.rhat(ar1((1, 100))))
        assert np.isfinite(diag.ess_bulk(ar1((1, 100))))
        short = ar1((4, 3))
        for fn in (diag.rhat, diag.ess_bulk, diag.ess_tail, diag.mcse_mean, diag.mcse_sd):
            assert np.isnan(fn(short))


def test_non_finite_samples_give_nan():
    x = ar1((4, 100, 2))
    x[1, 5, 0] = np.nan
    x[2, 7, 1] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(diag.rhat(x)).all()
        assert np.isnan(diag.ess_bulk(x)).all()
        table = diag.summarize({"x": x})
    assert table[["r_hat", "ess_bulk", "ess_tail", "mcse_mean"]].isna().all().all()


def test_constant_chains_emit_no_numpy_warnings():
    const = np.full((4, 1000), 2.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(diag.rhat(const))
        # As ArviZ: the ESS of a constant is the number of draws, its mcse_mean 0, mcse_sd NaN.
        assert diag.ess_bulk(const) == const.size
        assert diag.ess_tail(const) == const.size
        assert diag.mcse_mean(const) == 0
        assert np.isnan(diag.mcse_sd(const))
        table = diag.summarize({"c": const, "v": _constant_element(), "y": ar1((4, 1000))})
        msgs = diag.check(table, divergences=0, n_draws_total=4000)
    assert np.isnan(table.loc["c", "r_hat"]) and np.isnan(table.loc["v[0]", "r_hat"])
    assert np.isfinite(table.loc["v[1]", "r_hat"])
    assert table.loc["c", "sd"] == 0
    # one line for the NaN R-hats, naming both constant parameters (and not y)
    (nan_line,) = [m for m in msgs if m.startswith("r_hat is NaN")]
    assert "constant across draws" in nan_line
    names = nan_line.split(": ", 1)[1].split(" (")[0].split(", ")
    assert names == ["c", "v[0]"], nan_line
    assert not any("y" in m.split(": ", 1)[1].split(" (")[0] for m in msgs)


# ------------------------------------------------------------------ summary table


def test_summary_columns_index_and_quantiles():
    samples = {
        "a": ar1((4, 500), seed=40),
        "b": ar1((4, 500, 3), seed=41),
        "c": ar1((4, 500, 2, 2), seed=42),
    }
    table = diag.summarize(samples)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["mean", "sd", "q5", "q50", "q95", "mcse_mean", "ess_bulk",
                                   "ess_tail", "r_hat"]
    assert list(table.index) == ["a", "b[0]", "b[1]", "b[2]",
                                 "c[0,0]", "c[0,1]", "c[1,0]", "c[1,1]"]
    flat = {"a": samples["a"].reshape(-1)}
    flat.update({f"b[{i}]": samples["b"][..., i].reshape(-1) for i in range(3)})
    flat.update({f"c[{i},{j}]": samples["c"][..., i, j].reshape(-1)
                 for i in range(2) for j in range(2)})
    for name, draws in flat.items():
        row = table.loc[name]
        np.testing.assert_allclose(row["mean"], draws.mean(), rtol=1e-12)
        np.testing.assert_allclose(row["sd"], draws.std(ddof=1), rtol=1e-12)
        np.testing.assert_allclose(row[["q5", "q50", "q95"]].to_numpy(dtype=float),
                                   np.quantile(draws, [0.05, 0.5, 0.95]), rtol=1e-12)
    # The diagnostic columns are those of the per-array functions.
    np.testing.assert_allclose(table.loc[["b[0]", "b[1]", "b[2]"], "r_hat"],
                               diag.rhat(samples["b"]), rtol=1e-12)
    np.testing.assert_allclose(table.loc["a", "ess_bulk"], diag.ess_bulk(samples["a"]),
                               rtol=1e-12)
    np.testing.assert_allclose(table.loc["a", "ess_tail"], diag.ess_tail(samples["a"]),
                               rtol=1e-12)
    np.testing.assert_allclose(table.loc["a", "mcse_mean"], diag.mcse_mean(samples["a"]),
                               rtol=1e-12)


def test_summary_custom_quantiles_and_names():
    x = ar1((4, 300), seed=43)
    samples = {"a": x, "b": 2 * x, "z": ar1((2, 100), seed=44)}  # different (chain, draw) shapes
    table = diag.summarize(samples, quantiles=(0.025, 0.5, 0.975, 0.1), names=["z", "a"])
    assert list(table.index) == ["z", "a"]
    assert list(table.columns[2:6]) == ["q2.5", "q50", "q97.5", "q10"]
    np.testing.assert_allclose(table.loc["a", ["q2.5", "q97.5"]].to_numpy(dtype=float),
                               np.quantile(x.reshape(-1), [0.025, 0.975]), rtol=1e-12)
    np.testing.assert_allclose(table.loc["z", "r_hat"], diag.rhat(samples["z"]), rtol=1e-12)
    with pytest.raises(KeyError, match="nope"):
        diag.summarize(samples, names=["nope"])


# ------------------------------------------------------------------ gates


def test_check_clean_chains_give_no_messages():
    rng = np.random.default_rng(50)
    table = diag.summarize({"a": rng.standard_normal((4, 1000)),
                            "b": rng.standard_normal((4, 1000, 2))})
    assert diag.check(table, divergences=0, n_draws_total=4000) == []


def test_check_messages_name_parameter_value_and_threshold():
    samples = {
        "good": np.random.default_rng(51).standard_normal((4, 1000)),
        "split": ar1((4, 1000), seed=52, offsets=[0, 0, 0, 3.0]),
        "sticky": ar1((4, 200), phi=0.99, seed=53),
    }
    table = diag.summarize({k: v for k, v in samples.items() if k != "sticky"})
    msgs = diag.check(table, divergences=0, n_draws_total=4000)
    assert isinstance(msgs, list) and isinstance(msgs, diag.Problems)
    rhat_msgs = [m for m in msgs if m.startswith("r_hat")]
    assert len(rhat_msgs) == 1
    (m,) = rhat_msgs
    assert m.startswith("r_hat > 1.01") and f"split {table.loc['split', 'r_hat']:.3f}" in m
    assert not any("good" in m for m in msgs)
    # the advice is not an element (len counts problems) but ends the printed block
    a = msgs.advice
    assert "target_accept" in a and "draws" in a and "reparameterize" in a and "priors" in a
    assert not any(a in m for m in msgs)
    assert msgs.lines() == [*msgs, f"try: {a}"]

    sticky = diag.summarize({"sticky": samples["sticky"]})
    msgs = diag.check(sticky, divergences=0, n_draws_total=800, ess_min=400)
    bulk = [m for m in msgs if m.startswith("ess_bulk < 400")]
    tail = [m for m in msgs if m.startswith("ess_tail < 400")]
    assert len(bulk) == 1 and len(tail) == 1
    assert bulk[0].endswith(f": sticky {sticky.loc['sticky', 'ess_bulk']:.0f}")
    assert tail[0].endswith(f": sticky {sticky.loc['sticky', 'ess_tail']:.0f}")
    # Thresholds are configurable.
    assert not [m for m in diag.check(sticky, divergences=0, n_draws_total=800, rhat_max=10,
                                      ess_min=1) if "sticky" in m]


def test_check_groups_parameters_one_line_per_kind_worst_first():
    """Issue 14: six parameters with a low tail ESS make one line, not six, and the advice is
    given once."""
    samples = {f"p{i}": ar1((4, 250), phi=0.9 + 0.01 * i, seed=60 + i) for i in range(6)}
    table = diag.summarize(samples)
    assert (table["ess_tail"] < 400).all() and (table["ess_bulk"] < 400).all()
    msgs = diag.check(table, divergences=3, n_draws_total=1000, rhat_max=10)
    assert len(msgs) == 3, msgs  # ess_bulk, ess_tail, divergences
    bulk, tail, div = msgs
    assert bulk.startswith("ess_bulk < 400 (") and tail.startswith("ess_tail < 400 (")
    listed = tail.split("): ", 1)[1].split(", ")
    assert [x.split()[0] for x in listed] == list(table["ess_tail"].sort_values().index)
    assert [x.split()[1] for x in listed] == [f"{v:.0f}" for v in
                                              table["ess_tail"].sort_values()]
    assert div.startswith("3 divergent transitions in 1000 draws (0.30%)")
    # advice of both kinds, once
    assert msgs.advice.count("target_accept") == 1 and "0.95" in msgs.advice
    assert "more draws" in msgs.advice and "Student-t" in msgs.advice
    text = msgs.block()
    assert text.splitlines() == ["diagnostics:", *(f"  {m}" for m in msgs),
                                 f"  try: {msgs.advice}"]
    assert text.count("target_accept") == 1
    # long lists are cut, worst first, the rest counted
    many = diag.summarize({f"q{i}": ar1((4, 100), phi=0.95, seed=80 + i) for i in range(14)})
    line = [m for m in diag.check(many, divergences=0, n_draws_total=400, rhat_max=10)
            if m.startswith("ess_bulk")][0]
    assert line.endswith(f"and {14 - diag.MAX_LISTED} more")
    assert line.count(", ") == diag.MAX_LISTED - 1


def test_check_values_keep_their_side_of_the_threshold():
    table = pd.DataFrame({"r_hat": [1.0104, 1.2], "ess_bulk": [399.7, 1e4],
                          "ess_tail": [1e4, 1e4]}, index=["a", "b"])
    msgs = diag.check(table, divergences=0, n_draws_total=4000)
    assert msgs[0] == "r_hat > 1.01 (chains disagree): b 1.200, a 1.0104"
    assert msgs[1].endswith(": a 399.7")


def test_check_nan_ess_and_uncomputable_rhat():
    x = ar1((4, 200), seed=70)
    x[1, 5] = np.nan
    table = diag.summarize({"bad": x, "ok": ar1((4, 1000), seed=71)})
    msgs = diag.check(table, divergences=0, n_draws_total=800)
    (rh,) = [m for m in msgs if m.startswith("r_hat is NaN")]
    assert "bad (not computable" in rh and "ok" not in rh
    (ess,) = [m for m in msgs if m.startswith("ESS is NaN")]
    assert ess.endswith(": bad")
    assert "stuck chains or non-finite draws" in msgs.advice


def test_check_divergences_and_tree_depth():
    table = diag.summarize({"a": np.random.default_rng(54).standard_normal((4, 1000))})
    msgs = diag.check(table, divergences=12, n_draws_total=4000, tree_depth_hits=40,
                      max_tree_depth=10, what_to_try="Try the 'chinchilla' law instead.")
    assert len(msgs) == 2
    div, depth = msgs
    assert "12 divergent" in div and "4000" in div and "0.30%" in div
    assert "40 of 4000" in depth and "tree depth 10" in depth and "1.00%" in depth
    a = msgs.advice
    assert "target_accept" in a and "0.95" in a and "Student-t" in a
    assert "max_tree_depth (e.g. 12)" in a
    # the model-specific advice is given once, at the end
    assert a.endswith("Try the 'chinchilla' law instead.") and a.count("chinchilla") == 1
    assert not any("chinchilla" in m for m in msgs)
    assert diag.check(table, divergences=0, n_draws_total=4000, tree_depth_hits=0,
                      max_tree_depth=10) == []


def test_warn_issues_diagnostic_warnings_pointing_at_caller():
    assert issubclass(DiagnosticWarning, UserWarning)
    with pytest.warns(DiagnosticWarning) as record:
        diag.warn(["first problem", "second problem"])
    # one warning: the whole block
    assert [str(w.message) for w in record] == [
        "diagnostics:\n  first problem\n  second problem"]
    assert all(Path(w.filename).resolve() == Path(__file__).resolve() for w in record)
    problems = diag.Problems(["r_hat > 1.01 (chains disagree): a 1.2"], advice="run longer.")
    with pytest.warns(DiagnosticWarning) as record:
        diag.warn(problems, title="diagnostics of the x fit:")
    assert [str(w.message) for w in record] == [
        "diagnostics of the x fit:\n  r_hat > 1.01 (chains disagree): a 1.2\n  try: run longer."]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diag.warn([])  # nothing to say, nothing raised
        diag.warn(diag.Problems())
    assert diag.Problems() == [] and diag.block(diag.Problems()) == ""


def test_module_imports_only_light_dependencies():
    path = Path(diag.__file__).resolve()
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('_diag', {str(path)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "heavy = [m for m in ('arviz', 'scipy', 'xarray', 'jax', 'numpyro', 'matplotlib')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
