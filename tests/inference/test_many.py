import numpy as np
import pandas as pd
import pytest
from conftest import FAST, TRUTH, synthetic

import scaling_bayes as sb


@pytest.fixture(scope="module")
def many():
    frames = []
    for s in range(3):
        df = synthetic("chinchilla", seed=s)
        df["replicate"] = f"r{s}"
        frames.append(df)
    return sb.fit_many(pd.concat(frames), law="chinchilla", by="replicate", seed=0, **FAST)


def test_shapes_names_and_diagnostics(many):
    assert many.names == ["r0", "r1", "r2"] and len(many) == 3
    assert many.posterior["alpha"].shape == (3, FAST["chains"], FAST["draws"])
    s = many.summary()
    assert s.index.names == ["fit", "parameter"]
    assert (s["r_hat"] <= 1.01).all() and (many.divergences == 0).all()
    assert many.check() == {}


def test_each_fit_matches_a_single_fit_api(many):
    f = many["r1"]
    assert isinstance(f, sb.Fit) and f.data.n == 60
    assert f.log_likelihood.shape == (FAST["chains"], FAST["draws"], 60)
    np.testing.assert_array_equal(f.posterior["alpha"], many.posterior["alpha"][1])
    s = f.summary()
    for k, v in TRUTH["chinchilla"].items():  # the same kind of recovery as single fits
        assert s.loc[k, "q5"] / 1.5 <= v <= s.loc[k, "q95"] * 1.5


def test_errors_name_the_data_set():
    bad = synthetic("chinchilla")
    bad.loc[4, "loss"] = -1.0
    with pytest.raises(ValueError, match="data set '1': column 'loss'"):
        sb.fit_many([synthetic("chinchilla"), bad], law="chinchilla")
    with pytest.raises(ValueError, match="by="):
        sb.fit_many(synthetic("chinchilla"), law="chinchilla")
    with pytest.raises(ValueError, match="by column 'nope'"):
        sb.fit_many(synthetic("chinchilla"), law="chinchilla", by="nope")


_SHARDED = r"""
import json, sys
import numpy as np, pandas as pd, jax
sys.path.insert(0, sys.argv[1])
from conftest import TRUTH, synthetic
import scaling_bayes as sb
sets = {f"s{i}": synthetic("power_N", n=30, seed=i) for i in range(3)}
m = sb.fit_many(sets, law="power_N", seed=0, chains=4, warmup=150, draws=150)
s = m.summary()
print(json.dumps({"devices": jax.device_count(), "names": m.names,
                  "shape": list(m.posterior["alpha_N"].shape),
                  "q5": s.xs("alpha_N", level="parameter")["q5"].tolist(),
                  "q95": s.xs("alpha_N", level="parameter")["q95"].tolist(),
                  "rhat": float(s["r_hat"].max()), "div": int(m.divergences.sum()),
                  "fit1_equal": bool(np.array_equal(m[1].posterior["alpha_N"],
                                                    m.posterior["alpha_N"][1]))}))
"""


def test_fit_many_splits_data_sets_across_host_devices(tmp_path):
    """Two host devices (XLA's flag): 3 data sets are padded to 4, split 2 + 2 by shard_map, and
    the padding is dropped; every fit still recovers its truth."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "sharded.py"
    script.write_text(_SHARDED)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    tests = Path(__file__).resolve().parents[1]  # tests/: conftest.py
    out = subprocess.run([sys.executable, str(script), str(tests)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["devices"] == 2 and r["names"] == ["s0", "s1", "s2"]
    assert r["shape"] == [3, 4, 150]
    truth = TRUTH["power_N"]["alpha_N"]
    assert all(lo <= truth <= hi for lo, hi in zip(r["q5"], r["q95"], strict=True))
    assert r["rhat"] < 1.05 and r["div"] == 0 and r["fit1_equal"]


def test_save_load_is_lossless(many, tmp_path):
    """ManyFits save as kind "many" (one file, a labelled fit axis) and load with
    sb.load_fit: every array, the data of every fit and each fit as a Fit come back."""
    a = synthetic("chinchilla", seed=0).iloc[:40]
    b = synthetic("chinchilla", seed=1).assign(run=[f"run-{i}" for i in range(60)])
    uneven = sb.fit_many({"a": a, "b": b}, law="chinchilla", seed=0, **FAST)
    for m in (many, uneven):
        back = sb.load_fit(m.save(tmp_path / "many.nc"))
        assert isinstance(back, sb.ManyFits) and back.names == m.names
        for k, v in m.posterior.items():
            np.testing.assert_array_equal(back.posterior[k], v)
        for k, v in m.sample_stats.items():
            np.testing.assert_array_equal(back.sample_stats[k], v)
            assert back.sample_stats[k].dtype == v.dtype
        assert back.refs == m.refs and back.config == m.config and back.priors == m.priors
        assert [d.hash() for d in back.datas] == [d.hash() for d in m.datas]
        pd.testing.assert_frame_equal(back.summary(), m.summary())
        for i in range(len(m)):
            np.testing.assert_array_equal(back[i].log_likelihood, m[i].log_likelihood)
    assert list(back.datas[1].extra["run"]) == list(b["run"])
    assert "run" not in back.datas[0].extra.columns
