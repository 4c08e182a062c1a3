"""sb.fit with the literature prior: priors and pivots from the table, own data refused."""

import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.model.literature import LiteraturePriorError, sweep_frame

TINY = {"chains": 2, "warmup": 300, "draws": 300, "extrapolation": "none", "warn": False}


def five_chinchilla():
    df = sweep_frame("chinchilla")[["N", "D", "loss"]]
    return df.iloc[np.argsort(np.log(df["N"]) + np.log(df["D"]))[:5]]


def test_literature_prior_errors_before_sampling():
    five = five_chinchilla()
    with pytest.raises(LiteraturePriorError, match="inside this literature prior"):
        sb.fit(five, priors="literature", **TINY)
    with pytest.raises(sb.ScalingBayesError, match="priors='flat'"):
        sb.fit(five, priors="flat", **TINY)
    with pytest.raises(sb.ScalingBayesError, match="for law 'chinchilla', not 'kaplan'"):
        sb.fit(five, law="kaplan", priors=sb.priors.literature(exclude="chinchilla"), **TINY)


@pytest.mark.slow
def test_fit_with_literature_prior_of_other_sweeps():
    five = five_chinchilla()
    lit = sb.priors.literature(exclude="chinchilla")
    fit = sb.fit(five, priors=lit, seed=0, **TINY)
    priors, ref = lit.for_data(five)
    assert fit.ref == pytest.approx(ref)
    assert {k: str(v) for k, v in fit.priors.items() if k != "sigma"} == {
        k: str(v) for k, v in priors.items()}
    assert "left out: chinchilla" in fit.meta["prior_source"]
    assert np.all(np.isfinite(fit.summary()["q50"]))
