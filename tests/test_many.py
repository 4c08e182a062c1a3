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
