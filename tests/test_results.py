import json

import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.results import FitFileError, atomic_write


def test_save_load_is_lossless(small_fit, tmp_path):
    path = small_fit.save(tmp_path / "fit.nc")
    g = sb.load_fit(path)
    for k in small_fit.posterior:
        np.testing.assert_array_equal(small_fit.posterior[k], g.posterior[k])
    for k in small_fit.sample_stats:
        np.testing.assert_array_equal(small_fit.sample_stats[k], g.sample_stats[k])
        assert small_fit.sample_stats[k].dtype == g.sample_stats[k].dtype
    np.testing.assert_array_equal(small_fit.log_likelihood, g.log_likelihood)
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

    from scaling_bayes import _arviz

    ours = az.from_netcdf(str(small_fit.save(tmp_path / "ours.nc")))
    f = small_fit
    theirs_idata = az.from_dict(
        posterior=dict(f.posterior), sample_stats=dict(f.sample_stats),
        log_likelihood={"log_loss": f.log_likelihood},
        observed_data={"log_loss": np.log(f.data.loss)}, constant_data=f._constant_data(),
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
