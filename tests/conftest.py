"""Shared fixtures. Fits are expensive to compile, so tests share programs: same law, same
padded size (synthetic sets of 60 rows -> 64), same warmup/draws."""

from __future__ import annotations

import inspect
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

# One persistent XLA cache for this test session and the CLI subprocesses it starts.
_CACHE = os.environ.setdefault(
    "SCALING_BAYES_CACHE_DIR", str(Path(tempfile.gettempdir()) / "scaling_bayes_test_cache"))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Small-but-honest sampler settings for unit tests.
FAST = {"chains": 4, "warmup": 500, "draws": 1000}

#: Ground truth for synthetic recovery, per law (textbook parameters).
TRUTH = {
    "chinchilla": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.3392, "beta": 0.2849},
    "kaplan": {"N_c": 6.4e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103},
    "power_N": {"N_c": 8.8e13, "alpha_N": 0.076},
    "power_D": {"D_c": 5.4e13, "alpha_D": 0.095},
    "power_C": {"C_c": 1.6e7 * 8.64e19, "alpha_C": 0.057},
    "power_N_E": {"E": 1.8, "N_c": 2.0e8, "alpha_N": 0.35},
    "power_D_E": {"E": 1.8, "D_c": 3.0e9, "alpha_D": 0.3},
    "power_C_E": {"E": 1.8, "C_c": 5.0e18, "alpha_C": 0.2},
}


def synthetic(law_name: str, n: int = 60, sigma: float = 0.01, seed: int = 0):
    """A sweep drawn from ``law_name`` at TRUTH with log-normal noise ``sigma``."""
    import pandas as pd

    from scaling_bayes._core.env import enable_x64_on_cpu
    from scaling_bayes.laws.base import get_law

    enable_x64_on_cpu()  # the same data whether or not a fit has already switched x64 on
    rng = np.random.default_rng(seed)
    law = get_law(law_name)
    N = 10 ** rng.uniform(7.5, 10.5, n)
    D = 10 ** rng.uniform(9, 12, n)
    C = 6 * N * D
    inputs = {"N": N, "D": D, "C": C}
    theta = {k: np.float64(v) for k, v in TRUTH[law_name].items()}
    mu = np.asarray(law.log_loss(theta, {k: inputs[k] for k in law.inputs}))
    loss = np.exp(mu + sigma * rng.standard_normal(n))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def simulate(law_name: str, theta, cols, n: int = 60, sigma: float = 0.01, seed: int = 0):
    """Log-normal noise ``sigma`` around ``law_name`` at ``theta`` on the inputs ``cols``."""
    import pandas as pd

    from scaling_bayes._core.env import enable_x64_on_cpu
    from scaling_bayes.laws.base import get_law

    enable_x64_on_cpu()
    law = get_law(law_name)
    rng = np.random.default_rng(seed + 100)
    mu = np.asarray(
        law.log_loss({k: np.float64(v) for k, v in theta.items()}, {v: cols[v] for v in law.inputs})
    )
    return pd.DataFrame({**cols, "loss": np.exp(mu + sigma * rng.standard_normal(n))})


def check_recovery(fit, truth, level=0.9):
    """No divergences, R-hat <= 1.01, and every ``truth`` inside its central ``level`` interval."""
    s = fit.summary()
    assert fit.divergences == 0
    assert (s["r_hat"] <= 1.01).all(), s["r_hat"]
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    for name, value in truth.items():
        d = fit.draws(name).reshape(-1)
        lo, hi = np.quantile(d, [lo_q, hi_q])
        assert lo <= value <= hi, f"{name}={value} outside {level:.0%} interval [{lo}, {hi}]"


def fit_is_clean(fit) -> bool:
    """No divergences, R-hat <= 1.01 and bulk ESS >= 400 for every parameter."""
    s = fit.summary()
    return fit.divergences == 0 and s["r_hat"].max() <= 1.01 and s["ess_bulk"].min() >= 400


def pytest_addoption(parser):
    parser.addoption(
        "--sampler-seed-shift", type=int, default=0, metavar="K",
        help="add K to the sampler seed of every fit (sb.fit, fit_many, fit_hierarchical, SBC) "
             "made in this process, to check that tests asserting MCMC diagnostics (R-hat, "
             "ESS, divergences, coverage) hold for other MCMC realizations; see "
             "tests/seed_sweep.sh")


#: What a test asserts about an MCMC realization: R-hat, ESS, divergences, ``check()``, or an
#: interval covering a truth (``lo <= truth <= hi``, the recovery helpers). Tests whose source
#: matches get the ``mcmc`` marker, so ``tests/seed_sweep.sh`` can re-run exactly them.
_MCMC_ASSERT = re.compile(
    r"r_hat|rhat|ess_bulk|ess_tail|\.ess\b|divergen|\.check\(|check\(\)|coverage|covered"
    r"|check_recovery\(|_recover\(|<= *[A-Za-z_][\w\[\]\"'.]* *<= *hi"
    r"|q5\"\] *<= *truth|inside\.all\(")


def pytest_collection_modifyitems(config, items):
    for item in items:
        fn = getattr(item, "function", None)
        try:
            src = inspect.getsource(fn) if fn is not None else ""
        except (OSError, TypeError):
            src = ""
        if _MCMC_ASSERT.search(src):
            item.add_marker(pytest.mark.mcmc)


@pytest.fixture(scope="session", autouse=True)
def _sampler_seed_shift(request):
    """``--sampler-seed-shift K``: every sampler configuration gets ``seed + K`` (the data that
    tests simulate keep their own seeds). Patched where every fit's configuration is validated,
    once per fit (``model.settings.sampler_config`` calls ``SamplerConfig.validate``; settings
    objects themselves, e.g. the seed of SBC's simulations, are not shifted)."""
    shift = request.config.getoption("--sampler-seed-shift")
    if not shift:
        yield
        return
    import dataclasses

    from scaling_bayes.model.settings import SamplerConfig

    with pytest.MonkeyPatch.context() as mp:
        original = SamplerConfig.validate

        def validate(self):
            if not getattr(self, "_shifted", False):
                object.__setattr__(self, "_shifted", True)
                object.__setattr__(self, "seed", (self.seed + shift) % 2**32)
            original(self)

        mp.setattr(SamplerConfig, "validate", validate)
        assert dataclasses.is_dataclass(SamplerConfig)
        yield


@pytest.fixture(scope="session", autouse=True)
def _compilation_cache():
    import jax

    jax.config.update("jax_compilation_cache_dir", _CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    from scaling_bayes.inference import aot as _aot

    _aot.set_export_dir(_CACHE)  # every in-process fit goes through exported programs too
    yield


@pytest.fixture(scope="session")
def chinchilla_epoch():
    import scaling_bayes as sb

    return sb.load_dataset("chinchilla", drop_excluded=True)


@pytest.fixture(scope="session")
def small_fit():
    """A quick Chinchilla fit on synthetic data, shared by save/load and CLI tests."""
    import scaling_bayes as sb

    return sb.fit(synthetic("chinchilla"), law="chinchilla", seed=0, warn=False, **FAST)


@pytest.fixture(scope="session")
def epoch_fit():
    """``epoch_fit(law)``: one small fit per law on Epoch's 240 points, shared by the session
    (allocation, forecast, plot and comparison tests)."""
    import scaling_bayes as sb

    cache = {}

    def get(law: str):
        if law not in cache:
            df = sb.load_dataset("chinchilla", drop_excluded=True)
            cache[law] = sb.fit(df, law=law, chains=4, warmup=200, draws=200, seed=0,
                                warn=False)
        return cache[law]

    return get
