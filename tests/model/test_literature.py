"""sb.priors.literature: the bundled tables, exclusion, moving a table to a user's scales."""

import math

import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.model.literature import (
    SWEEPS,
    LiteraturePriorError,
    data_scales,
    literature,
    sweep_frame,
)
from scaling_bayes.model.priors import is_proper

SITES = ["E", "lnA0", "lnB0", "alpha", "beta"]


def small_runs(name, k=5):
    df = sweep_frame(name)[["N", "D", "loss"]]
    return df.iloc[np.argsort(np.log(df["N"]) + np.log(df["D"]))[:k]].reset_index(drop=True)


def test_all_in_table():
    lit = sb.priors.literature(law="chinchilla")
    assert list(lit) == SITES
    assert all(is_proper(p) for p in lit.values())
    assert set(lit.sweeps) == {s.name for s in SWEEPS} and lit.excluded == ()
    t = lit.table
    assert list(t.index) == SITES
    assert np.all((t["q5"] < t["median"]) & (t["median"] < t["q95"]))
    # the population: exponents of published sweeps are between 0.1 and 1.5, E below the loss
    # of the smallest run
    assert 0.1 < t.loc["alpha", "median"] < 1.0 and 0.1 < t.loc["beta", "median"] < 1.0
    assert 0.2 < t.loc["E", "median"] < 0.95
    assert "11 bundled sweeps" in lit.describe()


@pytest.mark.parametrize("ds", sorted({s.dataset for s in SWEEPS}))
def test_leave_one_data_set_out_tables(ds):
    lit = literature(exclude=ds)
    assert lit.excluded == (ds,)
    inside = {s.dataset for s in SWEEPS if s.name in lit.sweeps}
    assert ds not in inside and inside == {s.dataset for s in SWEEPS} - {ds}


def test_exclude_by_sweep_name_leaves_out_its_data_set():
    a, b = literature(exclude="marin2026:dclm"), literature(exclude=["marin2026"])
    assert a.sweeps == b.sweeps and not any(s.startswith("marin") for s in a.sweeps)


@pytest.mark.parametrize("kw, match", [
    ({"exclude": "nope"}, "not one of the prior's data sets"),
    ({"law": "kaplan"}, "chinchilla only"),
    ({"exclude": ["chinchilla", "porian2024"]}, "no precomputed literature table"),
])
def test_errors(kw, match):
    with pytest.raises(LiteraturePriorError, match=match):
        literature(**kw)
    assert issubclass(LiteraturePriorError, sb.ScalingBayesError)


def test_for_data_moves_the_table_to_the_data_scales():
    df = small_runs("chinchilla")
    lit = literature(exclude="chinchilla")
    priors, ref = lit.for_data(df)
    sc = data_scales(df)
    assert ref == {"N": df["N"].min(), "D": df["D"].min()} == {"N": sc["N0"], "D": sc["D0"]}
    i = int(np.argmin(df["N"] * df["D"]))
    assert sc["L0"] == df["loss"][i]
    for k in ("E", "lnA0", "lnB0"):
        assert priors[k].params["loc"] == pytest.approx(
            lit[k].params["loc"] + math.log(sc["L0"]), abs=1e-6)
        assert priors[k].params["scale"] == lit[k].params["scale"]
    assert priors["alpha"] == lit["alpha"] and priors["beta"] == lit["beta"]


def test_own_data_never_inside_its_own_prior():
    with pytest.raises(LiteraturePriorError, match="inside this literature prior.*exclude="
                       "'chinchilla'"):
        literature().for_data(small_runs("chinchilla"))
    literature(exclude="chinchilla").for_data(small_runs("chinchilla"))
