"""Exported programs on disk (scaling_bayes.inference.aot): a later process skips tracing, and gets the
same posterior, bit for bit, as a process that traced everything itself."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic

import scaling_bayes as sb
from scaling_bayes.inference import aot as _aot
from scaling_bayes.inference import engine as inference

QUICK = {"chains": 4, "warmup": 60, "draws": 60}


@pytest.fixture
def export_dir(tmp_path):
    before = _aot._DIR
    _aot.set_export_dir(tmp_path)
    inference._program.cache_clear()  # a "fresh process": programs rebuilt, memory caches empty
    yield tmp_path / "exported"
    _aot._DIR = before
    inference._program.cache_clear()


def _fresh_fit(law="power_N", **kw):
    inference._program.cache_clear()
    return sb.fit(synthetic(law, n=30), law=law, seed=3, warn=False, **{**QUICK, **kw})


def test_exported_programs_are_reused_and_give_identical_draws(export_dir):
    _aot.set_export_dir(None)
    reference = _fresh_fit()  # plain tracing, nothing stored
    _aot.set_export_dir(export_dir.parent)

    s0 = dict(_aot.stats)
    first = _fresh_fit()
    files = sorted(p.name for p in export_dir.iterdir())
    names = {f.split("-")[0] for f in files}
    assert {"optimize", "nuts_init", "nuts_chunk", "postprocess"} <= names, files
    assert _aot.stats["exported"] - s0["exported"] == len(files)

    s1 = dict(_aot.stats)
    second = _fresh_fit()
    assert sorted(p.name for p in export_dir.iterdir()) == files  # nothing new written
    assert _aot.stats["exported"] == s1["exported"]
    assert _aot.stats["loaded"] - s1["loaded"] == len(files)

    for k in reference.posterior:
        np.testing.assert_array_equal(first.posterior[k], reference.posterior[k])
        np.testing.assert_array_equal(second.posterior[k], reference.posterior[k])
    np.testing.assert_array_equal(second.log_likelihood, reference.log_likelihood)


def test_corrupt_export_is_replaced(export_dir):
    first = _fresh_fit()
    chunk = next(p for p in export_dir.iterdir() if p.name.startswith("nuts_chunk"))
    chunk.write_bytes(b"not a jax export")
    s0 = dict(_aot.stats)
    again = _fresh_fit()
    assert _aot.stats["exported"] == s0["exported"] + 1  # the chunk program, exported anew
    np.testing.assert_array_equal(again.posterior["alpha_N"], first.posterior["alpha_N"])
    from jax import export

    export.deserialize(bytearray(chunk.read_bytes()))  # a valid export again
    assert not list(export_dir.glob("*.tmp"))


def test_other_settings_get_their_own_programs(export_dir):
    _fresh_fit()
    n = len(list(export_dir.iterdir()))
    _fresh_fit(warmup=61)  # another warmup length: another NUTS schedule
    assert len(list(export_dir.iterdir())) > n


def test_user_law_is_never_stored(export_dir):
    from scaling_bayes.laws import LAWS, get_law, is_builtin
    from scaling_bayes.model.custom import custom_law

    assert is_builtin(get_law("chinchilla"))
    name = "test_aot_user_power"
    LAWS.unregister(name)
    import jax.numpy as jnp

    try:
        law = custom_law(name, lambda th, x: th["alpha_N"] * (jnp.log(th["N_c"]) - jnp.log(x["N"])),
                         {"N_c": "LogNormal(loc=30.0, scale=3.0)",
                          "alpha_N": "LogNormal(loc=-2.5, scale=0.6)"}, inputs=("N",))
        assert not is_builtin(law)
        df = synthetic("power_N", n=30)
        sb.fit(df, law=law, seed=0, warn=False, **QUICK)
        assert not list(export_dir.iterdir())
    finally:
        LAWS.unregister(name)
