"""Example data for the laws beyond Chinchilla: designs and synthetic data sets.

:func:`example_design`
    Sweep-like designs (inputs only) for ``data_constrained``, ``kaplan_learning_curve`` and
    ``overtraining``.
:func:`synthetic_example`, :data:`EXAMPLE_TRUTH`
    Synthetic data sets for ``bnsl1``, ``bnsl2``, ``transfer``, ``downstream_error``,
    ``routed_moe`` and ``moe_power`` at illustrative true values.

Used by the tests, the README's example fits and the simulation-based calibration
(``benchmarks/sbc_more.py``, ``benchmarks/sbc_curves.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_bayes.laws import get_law

__all__ = ["EXAMPLE_TRUTH", "example_design", "synthetic_example"]


def example_design(law: str, n: int = 40, seed: int = 0):
    """A sweep-like design (inputs only, no loss) for ``law`` (``data_constrained``,
    ``kaplan_learning_curve`` or ``overtraining``), as used by the tests and the simulation-based
    calibration (``benchmarks/sbc_more.py``):

    * ``data_constrained``: N log-uniform on [3e7, 3e9], unique tokens U on [1e8, 1e10],
      epochs ``max(1, 10^u)``, u uniform on [-0.3, 2] (a third single-epoch), ``D = U*epochs``;
    * ``kaplan_learning_curve``: N on [1e7, 2e9], steps S on [1e3, 1e5], a batch of
      2^19 - 2^22 tokens per step, ``D = S*B``;
    * ``overtraining`` (and any law of N, D): N on [3e7, 1e10], D/N on [1, 1000].
    """
    rng = np.random.default_rng(seed)
    if law == "data_constrained":
        N = 10 ** rng.uniform(7.5, 9.5, n)
        U = 10 ** rng.uniform(8, 10, n)
        epochs = np.maximum(1.0, 10 ** rng.uniform(-0.3, 2.0, n))
        return pd.DataFrame({"N": N, "D": U * epochs, "U": U})
    if law == "kaplan_learning_curve":
        N = 10 ** rng.uniform(7, 9.3, n)
        S = 10 ** rng.uniform(3, 5, n)
        B = 2.0 ** rng.integers(19, 23, n)
        return pd.DataFrame({"N": N, "D": S * B, "S": S})
    N = 10 ** rng.uniform(7.5, 10, n)
    return pd.DataFrame({"N": N, "D": N * 10 ** rng.uniform(0, 3, n)})


#: Illustrative true values (textbook parameters) for :func:`synthetic_example`. ``routed_moe``:
#: Clark et al. 2022's S-BASE fit as we recall it (a = -0.082, b = -0.108, c = 0.009,
#: d = 1.104 in log10), converted to natural logs (c / ln 10, d * ln 10); not re-checked
#: against the paper. ``moe_power``: rounded posterior means of a fit to the bundled
#: ``moe_activesl`` data (E = 1.62, B = 47, alpha = 0.20, beta = 0.078). The others are made up
#: at magnitudes typical of their papers.
EXAMPLE_TRUTH = {
    "bnsl1": {"a": 0.4, "b": 2.3, "c0": 0.055, "c1": 1.5, "d1": 2000.0, "f1": 0.3},
    "bnsl2": {  # two accelerations, then the plateau a is reached within the data
        "a": 0.2,
        "b": 2.5,
        "c0": 0.05,
        "c1": 0.5,
        "d1": 500.0,
        "f1": 0.2,
        "c2": 1.0,
        "d2": 1.0e4,
        "f2": 0.2,
    },
    "transfer": {"a": 0.1, "b": 1.05},
    "downstream_error": {"eps": 0.72, "k": 4.0, "gamma": 0.9},
    "routed_moe": {
        "a": -0.082,
        "b": -0.108,
        "c": 0.009 / 2.302585092994046,
        "d": 1.104 * 2.302585092994046,
    },
    "moe_power": {"E": 1.6, "B": 45.0, "alpha": 0.2, "beta": 0.08},
}


def synthetic_example(law: str, n: int = 60, sigma: float = 0.01, seed: int = 0):
    """A synthetic data set for ``law`` (a name in :data:`EXAMPLE_TRUTH`) drawn at
    ``EXAMPLE_TRUTH[law]`` with log-normal noise ``sigma``, as a DataFrame with the law's input
    columns and ``loss``:

    * ``bnsl1``, ``bnsl2``: ``D`` log-uniform on [1e2, 1e5];
    * ``transfer``: ``L_train`` log-uniform on [2, 4] nats; ``loss`` is the other distribution's;
    * ``downstream_error``: ``L_train`` uniform on [2.2, 4.5]; ``loss`` is the error rate;
    * ``routed_moe``, ``moe_power``: ``N`` log-uniform on [1.5e7, 1.3e9] and ``experts`` in
      {1, 2, 4, ..., 512} (Clark et al.'s ranges).
    """
    if law not in EXAMPLE_TRUTH:
        raise ValueError(f"no example for law {law!r}; choose one of {', '.join(EXAMPLE_TRUTH)}")
    rng = np.random.default_rng(seed)
    if law.startswith("bnsl"):
        cols = {"D": 10 ** rng.uniform(2, 5, n)}
    elif law == "transfer":
        cols = {"L_train": np.exp(rng.uniform(np.log(2.0), np.log(4.0), n))}
    elif law == "downstream_error":
        cols = {"L_train": rng.uniform(2.2, 4.5, n)}
    else:
        cols = {
            "N": 10 ** rng.uniform(np.log10(1.5e7), np.log10(1.3e9), n),
            "experts": 2.0 ** rng.integers(0, 10, n),
        }
    theta = {k: np.float64(v) for k, v in EXAMPLE_TRUTH[law].items()}
    mu = np.asarray(get_law(law).log_loss(theta, {k: np.asarray(v) for k, v in cols.items()}))
    return pd.DataFrame({**cols, "loss": np.exp(mu + sigma * rng.standard_normal(n))})
