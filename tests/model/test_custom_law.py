"""User-defined laws (``custom_law``, scaling_bayes.model.custom): a custom Chinchilla recovers and
allocates like the built-in law, saves and reloads by name, and bad definitions fail early."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import TRUTH, check_recovery, synthetic
from jax.scipy.special import logsumexp

import scaling_bayes as sb
from scaling_bayes.laws import LAWS
from scaling_bayes.model.custom import custom_law
from scaling_bayes.posterior.fit import FitFileError

#: The custom Chinchilla law samples unpivoted amplitudes with log-scale exponents: log A and
#: log alpha lie on a curved ridge (log A ~ log A_ref + alpha * log N_ref) that the Laplace
#: whitening, being linear, cannot straighten, so bulk ESS per draw is ~0.25 (the built-in,
#: pivoted law: ~0.8). At 4 x 300 draws max R-hat was 1.006-1.021 over sampler seeds 0-5 (the
#: 1.01 threshold inside the noise); at 4 x 1000 (500 warmup) 1.002-1.007, min bulk and tail
#: ESS >= 950, each fit ~1 s.
CUSTOM = {"chains": 4, "warmup": 500, "draws": 1000}


def _chinchilla_fn(th, x):
    return logsumexp(
        jnp.stack(
            jnp.broadcast_arrays(
                jnp.log(th["E"]),
                jnp.log(th["A"]) - th["alpha"] * jnp.log(x["N"]),
                jnp.log(th["B"]) - th["beta"] * jnp.log(x["D"]),
            )
        ),
        axis=0,
    )


CHIN_PRIORS = {
    "E": "LogNormal(loc=0.5, scale=0.6)",
    "A": "LogNormal(loc=6.0, scale=2.0)",
    "B": "LogNormal(loc=6.0, scale=2.0)",
    "alpha": "LogNormal(loc=-1.2, scale=0.6)",
    "beta": "LogNormal(loc=-1.2, scale=0.6)",
}


@pytest.fixture
def user_chinchilla():
    name = "test_user_chinchilla"
    LAWS.unregister(name)
    law = custom_law(name, _chinchilla_fn, CHIN_PRIORS, inputs=("N", "D"))
    assert LAWS.get(name) is law and sb.custom_law is custom_law
    yield law
    LAWS.unregister(name)


def test_custom_law_recovers_and_allocates_like_builtin(user_chinchilla, small_fit, tmp_path):
    assert user_chinchilla.name in sb.list_laws()
    # the data of conftest's small_fit (built-in law); on them E sits near the 90% edge
    fit = sb.fit(synthetic("chinchilla"), law=user_chinchilla.name, seed=0, warn=False, **CUSTOM)
    # On these data E's truth sits at the ~97% posterior quantile (a property of the data
    # realization, not of the sampler: 0.967 under the built-in law), so a 95% interval
    # has it inside or outside by Monte Carlo noise (outside for sampler seeds 1 and 4 of 0-5);
    # the 99% interval holds it for every seed (upper end 1.705-1.712 over seeds 0-5).
    check_recovery(fit, TRUTH["chinchilla"], level=0.99)
    # the same allocation as the built-in law's (numeric vs closed form), within MC error
    C = [1e22, 1e24]
    mine = sb.compute_optimal(fit, C)
    ref = sb.compute_optimal(small_fit, C)
    assert mine.method == "numeric"
    for q in ("N_opt", "tokens_per_param", "loss_opt"):
        a, b = np.log(mine.draws[q]), np.log(ref.draws[q])
        mc = 4 * np.sqrt(a.var(axis=0) / 500 + b.var(axis=0) / 500) + 1e-9
        assert np.all(np.abs(np.median(a, axis=0) - np.median(b, axis=0)) < mc), q
    # forecasts work, and the fit reloads by name only where the law is defined again
    pred = sb.predict(fit, N=[70e9], D=[1.4e12])
    assert np.isfinite(pred.filter(like="mean_q").to_numpy()).all()
    path = tmp_path / "user.nc"
    fit.save(path)
    LAWS.unregister(user_chinchilla.name)
    with pytest.raises(FitFileError, match="custom_law"):
        sb.load_fit(path)
    custom_law(user_chinchilla.name, _chinchilla_fn, CHIN_PRIORS)
    again = sb.load_fit(path)
    np.testing.assert_array_equal(again.posterior["alpha"], fit.posterior["alpha"])


def test_custom_law_bad_input_is_caught_early():
    with pytest.raises(ValueError, match="inputs must be"):
        custom_law("x1", _chinchilla_fn, CHIN_PRIORS, inputs=("N", "Q"), register=False)
    with pytest.raises(ValueError, match="failed at prior medians"):
        custom_law("x2", lambda th, x: th["missing"] * x["N"], CHIN_PRIORS, register=False)
    with pytest.raises(ValueError, match="already registered"):
        custom_law("chinchilla", _chinchilla_fn, CHIN_PRIORS)
    with pytest.raises(ValueError, match="reserved"):
        custom_law("x3", _chinchilla_fn, {"sigma": "HalfNormal(1.0)"}, register=False)
    law = custom_law("x4", _chinchilla_fn, {**CHIN_PRIORS, "lnX": "Normal(0, 1)"}, register=False)
    assert "x4" not in LAWS
    assert {s.name: s.domain for s in law.sites}["lnX"] == "real"
    assert {s.name: s.domain for s in law.sites}["A"] == "positive"

