import json

import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes._core.io import atomic_write
from scaling_bayes.posterior.fit import FitFileError


def test_save_load_is_lossless(small_fit, tmp_path):
    path = small_fit.save(tmp_path / "fit.nc")
    g = sb.load_fit(path)
    for k in small_fit.posterior:
        np.testing.assert_array_equal(small_fit.posterior[k], g.posterior[k])
    for k in small_fit.sample_stats:
        np.testing.assert_array_equal(small_fit.sample_stats[k], g.sample_stats[k])
        assert small_fit.sample_stats[k].dtype == g.sample_stats[k].dtype
    np.testing.assert_array_equal(small_fit.log_likelihood, g.log_likelihood)
    np.testing.assert_array_equal(small_fit.posterior_predictive, g.posterior_predictive)
    for k in ("N", "D", "C", "loss"):
        np.testing.assert_array_equal(getattr(small_fit.data, k), getattr(g.data, k))
    assert g.config == small_fit.config and g.ref == small_fit.ref
    assert g.priors == small_fit.priors and g.meta == small_fit.meta
    assert g.law is small_fit.law
    assert g.summary().equals(small_fit.summary())
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_extra_columns_survive(tmp_path):
    df = sb.load_dataset("chinchilla", drop_excluded=True).iloc[:40].copy()
    df["run"] = [f"run-{i}" for i in range(40)]
    f = sb.fit(df, law="power_N", seed=0, chains=2, warmup=50, draws=50, warn=False)
    g = sb.load_fit(f.save(tmp_path / "f.nc"))
    assert list(g.data.extra.columns) == list(f.data.extra.columns)
    assert g.data.extra["run"].tolist() == df["run"].tolist()
    assert g.data.extra["epoch_excluded"].dtype == bool


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("precious")

    def boom(tmp):
        with open(tmp, "w") as fh:
            fh.write("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, boom)
    assert target.read_text() == "precious"
    assert list(tmp_path.iterdir()) == [target]


def test_load_errors(small_fit, tmp_path):
    with pytest.raises(FileNotFoundError):
        sb.load_fit(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(FitFileError, match="not a scaling_bayes fit"):
        sb.load_fit(junk)
    # a fit written in another format version says so
    path = small_fit.save(tmp_path / "f.nc")
    import h5py

    with h5py.File(path, "r+") as h5:
        info = json.loads(h5["posterior"].attrs["scaling_bayes"])
        info["meta"]["format_version"] = 99
        info["meta"]["versions"]["scaling_bayes"] = "9.9.9"
        h5["posterior"].attrs["scaling_bayes"] = json.dumps(info)
    with pytest.raises(FitFileError, match="written by scaling_bayes 9.9.9 in fit format 99"):
        sb.load_fit(path)


def test_saved_file_matches_arviz_own_writer(small_fit, tmp_path):
    """Fit.save writes with xarray alone (no ArviZ import); the file must be what ArviZ itself
    writes for the same data: same groups, variables, dimensions, coordinates and values."""
    import arviz as az

    from scaling_bayes.posterior import idata as _arviz

    ours = az.from_netcdf(str(small_fit.save(tmp_path / "ours.nc")))
    f = small_fit
    theirs_idata = az.from_dict(
        posterior=dict(f.posterior), sample_stats=dict(f.sample_stats),
        log_likelihood={"log_loss": f.log_likelihood},
        observed_data={"log_loss": np.log(f.data.loss)}, constant_data=f._constant_data(),
        posterior_predictive={"log_loss": f.posterior_predictive},
        dims={"log_loss": [_arviz.OBS_DIM], **{k: [_arviz.OBS_DIM] for k in f._constant_data()}})
    theirs_idata.to_netcdf(str(tmp_path / "theirs.nc"), engine="h5netcdf")
    theirs = az.from_netcdf(str(tmp_path / "theirs.nc"))
    assert sorted(ours.groups()) == sorted(theirs.groups())
    for g in theirs.groups():
        a, b = getattr(ours, g), getattr(theirs, g)
        assert set(a.data_vars) == set(b.data_vars), g
        assert dict(a.sizes) == dict(b.sizes), g
        for v in b.data_vars:
            assert a[v].dims == b[v].dims, (g, v)
            np.testing.assert_array_equal(a[v].values, b[v].values)
        for c in b.coords:
            np.testing.assert_array_equal(a[c].values, b[c].values)
        assert {"created_at", "arviz_version"} <= set(a.attrs)


@pytest.fixture(scope="module")
def tiny_real_fit():
    """Issue 14's example: a tiny Chinchilla fit of Epoch's 240 points (not converged; the
    predictive group does not need it to be)."""
    df = sb.load_dataset("chinchilla", drop_excluded=True)
    return sb.fit(df, law="chinchilla", chains=2, warmup=100, draws=100, seed=0, warn=False)


def test_fit_nc_has_posterior_predictive_and_plot_ppc_works(tiny_real_fit, tmp_path):
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = tiny_real_fit
    path = f.save(tmp_path / "fit.nc")
    idata = az.from_netcdf(str(path))
    assert {"posterior_predictive", "observed_data", "log_likelihood"} <= set(idata.groups())
    pp, obs = idata.posterior_predictive["log_loss"], idata.observed_data["log_loss"]
    assert pp.dims == ("chain", "draw", "obs") and obs.dims == ("obs",)
    assert pp.shape == (2, 100, f.data.n) == idata.log_likelihood["log_loss"].shape
    np.testing.assert_array_equal(obs.values, np.log(f.data.loss))  # like with like: log-loss
    np.testing.assert_array_equal(pp["obs"].values, obs["obs"].values)
    axes = az.plot_ppc(idata, num_pp_samples=20, random_seed=0)
    assert np.size(axes) == 1
    plt.close("all")
    # replicates scatter around the observations on the same scale
    assert abs(float(pp.mean()) - float(obs.mean())) < 0.05
    # load_fit round-trips the group exactly, and saving the loaded fit writes it unchanged
    g = sb.load_fit(path)
    np.testing.assert_array_equal(g.posterior_predictive, f.posterior_predictive)
    np.testing.assert_array_equal(g.idata.posterior_predictive["log_loss"].values, pp.values)
    again = az.from_netcdf(str(g.save(tmp_path / "again.nc")))
    np.testing.assert_array_equal(again.posterior_predictive["log_loss"].values, pp.values)
    # fit.idata (built in memory) has the same group
    np.testing.assert_array_equal(f.idata.posterior_predictive["log_loss"].values, pp.values)


def test_posterior_predictive_follows_the_likelihood_and_seed(tiny_real_fit):
    """Replicates are law mean + sigma * noise of the fit's likelihood (Student-t with the
    fit's nu here; Normal for a normal-likelihood fit), from an RNG fixed by the fit's seed."""
    import dataclasses

    from scaling_bayes.model.likelihoods import LIKELIHOODS
    from scaling_bayes.posterior import draws as results

    f = tiny_real_fit
    theta = {k: f.posterior[k] for k in f.law.param_names}
    mu = results.law_on_draws(f.law, theta, f.data)
    assert mu.shape == f.log_likelihood.shape
    # the law mean matches the law evaluated draw by draw
    one = {k: v[1, 7] for k, v in theta.items()}
    inputs = {v: f.data.get(v) for v in f.law.inputs}
    np.testing.assert_allclose(mu[1, 7], np.asarray(f.law.log_loss(one, inputs)), rtol=1e-12)
    eps = (f.posterior_predictive - mu) / f.posterior["sigma"][..., None]
    for likelihood, nu in (("student_t", f.config.nu), ("normal", 4.0)):
        cfg = dataclasses.replace(f.config, likelihood=likelihood, nu=nu)
        other = dataclasses.replace(f, config=cfg)
        want = LIKELIHOODS[likelihood].standard_noise(
            np.random.default_rng([cfg.seed, results._PREDICTIVE_STREAM]), mu.shape, nu)
        got = (other.posterior_predictive - mu) / f.posterior["sigma"][..., None]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        if likelihood == "student_t":
            np.testing.assert_allclose(eps, want, rtol=1e-9, atol=1e-9)
    # another seed, other replicates; the same seed, the same ones (a fresh Fit object)
    reseeded = dataclasses.replace(f, config=dataclasses.replace(f.config, seed=1))
    assert not np.allclose(reseeded.posterior_predictive, f.posterior_predictive)
    np.testing.assert_array_equal(dataclasses.replace(f).posterior_predictive,
                                  f.posterior_predictive)


def test_files_without_posterior_predictive_still_load(small_fit, tmp_path):
    """Files written before the group existed (v0.1) load; the group is drawn again from the
    stored posterior, identical to what a save writes today."""
    import arviz as az

    from scaling_bayes.posterior import idata as _arviz

    old = {k: v for k, v in small_fit._groups().items() if k != "posterior_predictive"}
    path = tmp_path / "old.nc"
    _arviz.write_datasets(old, path)
    assert "posterior_predictive" not in az.from_netcdf(str(path)).groups()
    g = sb.load_fit(path)
    np.testing.assert_array_equal(g.log_likelihood, small_fit.log_likelihood)
    np.testing.assert_array_equal(g.posterior_predictive, small_fit.posterior_predictive)
    assert "posterior_predictive" in g.idata.groups()
    new = az.from_netcdf(str(g.save(tmp_path / "new.nc")))
    np.testing.assert_array_equal(new.posterior_predictive["log_loss"].values,
                                  small_fit.posterior_predictive)


def test_damaged_posterior_predictive_is_an_error(small_fit, tmp_path):
    from scaling_bayes.posterior import idata as _arviz

    groups = small_fit._groups()
    groups["posterior_predictive"] = groups["posterior_predictive"].isel(obs=slice(0, 3))
    path = tmp_path / "bad.nc"
    _arviz.write_datasets(groups, path)
    with pytest.raises(FitFileError, match="posterior_predictive has shape"):
        sb.load_fit(path)


def test_law_on_draws_chunks_give_the_same_means(monkeypatch):
    """Draws are evaluated in chunks of one size (the last padded): same values as one call."""
    from types import SimpleNamespace

    from scaling_bayes.posterior import draws as results

    law = sb.get_law("chinchilla")
    rng = np.random.default_rng(0)
    raw = {"N": 10 ** rng.uniform(7, 10, 33), "D": 10 ** rng.uniform(9, 12, 33)}
    data = SimpleNamespace(n=33, get=raw.__getitem__)
    theta = {k: rng.uniform(0.2, 2.0, (3, 11)) for k in law.param_names}
    whole = results.law_on_draws(law, theta, data)
    monkeypatch.setattr(results, "_CHUNK", 100)  # 3 draws a chunk: 11 chunks, the last padded
    np.testing.assert_array_equal(results.law_on_draws(law, theta, data), whole)
    assert whole.shape == (3, 11, 33)
    i, j = 2, 10
    np.testing.assert_allclose(
        whole[i, j], law.log_loss({k: v[i, j] for k, v in theta.items()}, raw), rtol=1e-12)


def test_files_of_every_kind_load_by_the_kind_they_record(small_fit, tmp_path):
    """v0.1 single fits record no kind: they load as a Fit; an unknown kind is an error that
    names the version that wrote the file."""
    import h5py

    path = small_fit.save(tmp_path / "f.nc")
    with h5py.File(path, "r+") as h5:
        info = json.loads(h5["posterior"].attrs["scaling_bayes"])
        assert info["kind"] == "fit"
        del info["kind"]
        h5["posterior"].attrs["scaling_bayes"] = json.dumps(info)
    g = sb.load_fit(path)
    assert isinstance(g, sb.Fit) and g.summary().equals(small_fit.summary())
    path = small_fit.save(tmp_path / "e.nc")
    with h5py.File(path, "r+") as h5:
        info["kind"] = "ensemble"
        info["meta"]["versions"]["scaling_bayes"] = "9.9.9"
        h5["posterior"].attrs["scaling_bayes"] = json.dumps(info)
    with pytest.raises(FitFileError, match="kind 'ensemble', written by scaling_bayes 9.9.9"):
        sb.load_fit(path)
    with pytest.raises(FitFileError, match="not a hierarchical fit"):
        sb.load_hierarchical(small_fit.save(tmp_path / "g.nc"))
