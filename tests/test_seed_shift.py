"""``--sampler-seed-shift K`` (tests/conftest.py) really reaches the sampler: without it the
seed sweep of tests/seed_sweep.sh would re-run the same realizations and prove nothing."""

import pytest

import scaling_bayes as sb
from conftest import synthetic

pytestmark = pytest.mark.mcmc  # runs in every pass of tests/seed_sweep.sh

TINY = {"chains": 2, "warmup": 30, "draws": 30}


def test_every_fit_gets_the_shifted_seed_once(request):
    shift = request.config.getoption("--sampler-seed-shift")
    df = synthetic("power_N", n=30)
    fit = sb.fit(df, law="power_N", seed=3, warn=False, **TINY)
    assert fit.config.seed == 3 + shift
    many = sb.fit_many([df, df], law="power_N", seed=3, **TINY)
    assert many.config.seed == 3 + shift
