"""Parameter recovery on synthetic data for every law, plus sampler behaviour."""

import numpy as np
import pytest
from conftest import FAST, TRUTH, synthetic

import scaling_bayes as sb
from scaling_bayes.inference.engine import bucket_size, chunk_length


@pytest.mark.parametrize("law", list(TRUTH))
def test_recovery_truth_inside_90_interval(law):
    # 90% intervals miss the truth 10% of the time per parameter, so on one fixed data set a
    # few of these ~26 checks would fail by chance; data seed 1 is one where none does. The
    # calibration itself (coverage over many data sets) is test_coverage.py (-m slow).
    fit = sb.fit(synthetic(law, seed=1), law=law, seed=0, warn=False, **FAST)
    s = fit.summary()
    assert fit.divergences == 0
    assert (s["r_hat"] <= 1.01).all(), s["r_hat"]
    for name, truth in TRUTH[law].items():
        lo, hi = s.loc[name, "q5"], s.loc[name, "q95"]
        assert lo <= truth <= hi, f"{law}: {name}={truth} outside 90% interval [{lo}, {hi}]"
    assert 0.005 < s.loc["sigma", "q50"] < 0.02  # data noise is 0.01


def test_reproducible_and_seed_sensitive(small_fit):
    again = sb.fit(synthetic("chinchilla"), law="chinchilla", seed=0, warn=False, **FAST)
    assert again.meta["data_hash"] == small_fit.meta["data_hash"]
    for k in small_fit.posterior:
        np.testing.assert_array_equal(small_fit.posterior[k], again.posterior[k])
    other = sb.fit(synthetic("chinchilla"), law="chinchilla", seed=1, warn=False, **FAST)
    assert not np.array_equal(other.posterior["alpha"], small_fit.posterior["alpha"])


def test_fit_records_provenance(small_fit):
    f = small_fit
    assert f.posterior["alpha"].shape == (4, FAST["draws"])
    assert f.log_likelihood.shape == (4, FAST["draws"], 60)
    assert f.meta["data_hash"] == f.data.hash()
    assert {"jax", "numpyro", "scaling_bayes"} <= set(f.meta["versions"])
    assert f.config.seed == 0 and f.config.chains == 4
    # pivots are inside the data and textbook draws match the sampler parameterization
    for v, r in f.ref.items():
        assert f.data.get(v).min() <= r <= f.data.get(v).max()
    A = np.exp(f.posterior["lnA0"] + f.posterior["alpha"] * np.log(f.ref["N"]))
    np.testing.assert_allclose(A, f.posterior["A"], rtol=1e-12)


def test_pivot_decorrelates_amplitude_and_exponent(small_fit):
    p = small_fit.posterior
    textbook = abs(np.corrcoef(np.log(p["A"]).ravel(), p["alpha"].ravel())[0, 1])
    pivoted = abs(np.corrcoef(p["lnA0"].ravel(), p["alpha"].ravel())[0, 1])
    assert textbook > 0.95 and pivoted < textbook


def test_idata_has_required_groups(small_fit):
    idata = small_fit.idata
    for g in ("posterior", "log_likelihood", "observed_data", "sample_stats", "constant_data"):
        assert g in idata.groups()
    for name in ("E", "A", "B", "alpha", "beta", "sigma"):
        assert name in idata.posterior
    assert idata.log_likelihood["log_loss"].shape == (4, FAST["draws"], 60)
    assert "diverging" in idata.sample_stats


def test_summary_table(small_fit):
    s = small_fit.summary()
    assert list(s.index) == ["E", "A", "B", "alpha", "beta", "sigma"]
    for col in ("mean", "sd", "q5", "q50", "q95", "r_hat", "ess_bulk", "ess_tail"):
        assert col in s.columns
    assert set(small_fit.summary("sampled").index) == {"E", "lnA0", "lnB0", "alpha", "beta",
                                                       "sigma"}


def test_student_t_resists_an_outlier():
    df = synthetic("chinchilla")
    df.loc[0, "loss"] *= 1.5
    kw = dict(law="chinchilla", seed=0, warn=False, **FAST)
    t = sb.fit(df, likelihood="student_t", **kw).summary()
    n = sb.fit(df, likelihood="normal", **kw).summary()
    truth = TRUTH["chinchilla"]["alpha"]
    assert abs(t.loc["alpha", "q50"] - truth) < abs(n.loc["alpha", "q50"] - truth)
    assert t.loc["sigma", "q50"] < n.loc["sigma", "q50"]


def test_diagnostics_warn_loudly():
    # two warmup iterations and ten draws cannot converge: warnings must name parameters
    import warnings

    from scaling_bayes.posterior.diagnostics import DiagnosticWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb.fit(synthetic("power_N"), law="power_N", seed=0, chains=4, warmup=2, draws=10)
    msgs = [str(w.message) for w in caught if issubclass(w.category, DiagnosticWarning)]
    assert len(msgs) == 1, msgs  # one block: a line per kind of problem, then the advice
    title, *lines = msgs[0].splitlines()
    assert title == "diagnostics of the power_N fit:" and lines[-1].startswith("  try: "), msgs
    problems = [ln.strip() for ln in lines[:-1]]
    assert any(m.startswith(("r_hat >", "ess_bulk <", "ess_tail <")) for m in problems), msgs
    named = ("N_c", "alpha_N", "l0", "sigma", "divergent", "tree depth")
    assert all(any(k in m for k in named) for m in problems), msgs


@pytest.mark.parametrize("kw, match", [
    ({"chains": 0}, "chains must be an integer"),
    ({"draws": -5}, "draws must be an integer"),
    ({"warmup": 1.5}, "warmup must be an integer"),
    ({"seed": -1}, "seed must be an integer"),
    ({"target_accept": 1.2}, "target_accept must be in"),
    ({"likelihood": "cauchy"}, "unknown likelihood 'cauchy'"),
    ({"nu": 0}, "nu .* must be > 0"),
    ({"law": "chinchila"}, "unknown law"),
    ({"priors": {"A": "Normal(0, 1)"}}, "derived"),
    ({"ref": {"Q": 1.0}}, "ref: 'Q'"),
])
def test_bad_settings_fail_before_compiling(kw, match):
    with pytest.raises(ValueError, match=match):
        sb.fit(synthetic("chinchilla"), **{"law": "chinchilla", **kw})


def test_buckets_and_chunks():
    assert [bucket_size(n) for n in (1, 16, 17, 60, 240, 1000)] == [16, 16, 20, 64, 256, 1024]
    assert all(bucket_size(n) >= n and bucket_size(n) <= 1.25 * n + 16 for n in range(1, 5000, 37))
    assert chunk_length(1000, 1000) == 100 and chunk_length(997, 1000) == 1
    assert chunk_length(0, 300) == 15


def test_settings_objects_validate_and_record_todays_keys():
    from scaling_bayes.model.settings import resolve_settings

    with pytest.raises(sb.SettingsError, match=r"chains must be an integer in \[1, 512\], got 0"):
        sb.NUTSSettings(chains=0)
    with pytest.raises(ValueError, match="unknown likelihood 'cauchy'"):
        sb.ModelSettings(likelihood="cauchy")
    assert sb.ModelSettings(nu=5).nu == 5.0 and isinstance(sb.ModelSettings(nu=5).nu, float)
    config = sb.SamplerConfig.combine(sb.NUTSSettings(seed=3), sb.ModelSettings("normal"))
    # saved in every fit file as this dict: the keys must not change (``extrapolation`` was
    # added in issue 16; files without it load with "none", what their fits had)
    assert list(config.to_dict()) == ["seed", "chains", "warmup", "draws", "likelihood", "nu",
                                      "extrapolation", "target_accept", "max_tree_depth",
                                      "dense_mass", "n_starts"]
    assert config.nuts == sb.NUTSSettings(seed=3) and config.model == sb.ModelSettings("normal")
    # keywords fill in; given with the object they must agree with it
    nuts, model = resolve_settings(None, None, chains=2, nu=3)
    assert nuts == sb.NUTSSettings(chains=2) and model == sb.ModelSettings(nu=3.0)
    assert resolve_settings(sb.NUTSSettings(chains=2), chains=2)[0].chains == 2
    with pytest.raises(sb.SettingsError, match="chains=3 disagrees with sampler.chains=2"):
        resolve_settings(sb.NUTSSettings(chains=2), chains=3)
    with pytest.raises(sb.SettingsError, match="nu=5 disagrees with model.nu=4.0"):
        resolve_settings(model=sb.ModelSettings(), nu=5)
    # a fit's config holds both
    assert resolve_settings(config) == (config.nuts, config.model)


def test_sampler_object_gives_the_keyword_fit():
    df = synthetic("power_N")
    kw = dict(law="power_N", warn=False)
    a = sb.fit(df, seed=0, likelihood="normal", **FAST, **kw)
    b = sb.fit(df, sampler=sb.NUTSSettings(seed=0, **FAST), model=sb.ModelSettings("normal"),
               **kw)
    assert a.config == b.config
    for k in a.posterior:
        np.testing.assert_array_equal(a.posterior[k], b.posterior[k])
    # a fit's config is a valid sampler argument (keywords must agree with it)
    with pytest.raises(sb.SettingsError, match="disagrees with sampler.seed"):
        sb.fit(df, sampler=a.config, seed=a.config.seed + 1, **kw)
