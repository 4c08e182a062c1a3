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
