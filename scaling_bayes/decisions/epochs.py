"""What repeated epochs are worth, and allocation when unique data run out.

Decisions under the ``data_constrained`` law (Muennighoff et al. 2023,
:mod:`scaling_bayes.laws.data_constrained`):

:func:`epoch_value`
    Effective epochs, the worth of the last epoch and (optionally) the loss, per number of
    epochs over the same unique data.
:func:`compute_optimal_unique`
    Compute-optimal allocation when only ``unique_tokens`` unique tokens exist, with the number
    of epochs it implies; :func:`unique_data_law` is the law at that fixed U.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from scaling_bayes.decisions.allocation import _stat_table, compute_optimal
from scaling_bayes.laws import Law
from scaling_bayes.laws.data_constrained import DATA_CONSTRAINED

__all__ = ["compute_optimal_unique", "epoch_value", "unique_data_law"]


def _jnp():
    import jax.numpy as jnp

    return jnp


def _require_data_constrained(fit, what: str) -> None:
    if fit.law is not DATA_CONSTRAINED:
        raise ValueError(f"{what} needs a fit of law 'data_constrained', not {fit.law.name!r}")


_UNIQUE_LAWS: dict[float, Law] = {}


def unique_data_law(unique_tokens: float) -> Law:
    """``data_constrained`` with the unique tokens fixed at ``unique_tokens``, as a law of N and
    D (not registered; cached per value so its compiled allocation programs are reused)."""
    U = float(unique_tokens)
    if not (math.isfinite(U) and U > 0):
        raise ValueError(f"unique_tokens must be finite and > 0, got {unique_tokens!r}")
    if U not in _UNIQUE_LAWS:

        def log_loss(theta, inputs):
            jnp = _jnp()
            D = jnp.asarray(inputs["D"])
            return DATA_CONSTRAINED.log_loss(
                theta, {"N": inputs["N"], "D": D, "U": jnp.full_like(D, U)}
            )

        _UNIQUE_LAWS[U] = dataclasses.replace(
            DATA_CONSTRAINED,
            name=f"data_constrained[U={U:g}]",
            inputs=("N", "D"),
            log_loss=log_loss,
            initial_ref={"N": "min", "D": 1.0},
        )
    return _UNIQUE_LAWS[U]


def compute_optimal_unique(fit, compute, unique_tokens: float, **kwargs):
    """Compute-optimal allocation of a ``data_constrained`` fit when only ``unique_tokens``
    unique tokens exist: :func:`scaling_bayes.decisions.allocation.compute_optimal` (numeric
    solve, same keyword arguments) on the law at that U. Its ``draws`` gain ``epochs`` = ``D_opt/U``
    (``max(1, ...)``: fewer tokens than U is one partial epoch), and its table an ``epochs`` row
    per budget."""
    _require_data_constrained(fit, "compute_optimal_unique")
    law = unique_data_law(unique_tokens)
    res = compute_optimal(dataclasses.replace(fit, law=law), compute, **kwargs)
    epochs = np.maximum(1.0, res.draws["D_opt"] / float(unique_tokens))
    qs = kwargs.get("quantiles", (0.05, 0.5, 0.95))
    extra = _stat_table(
        {"epochs": epochs}, {"C": res.compute}, qs, extra={"boundary": res.boundary}
    )
    table = pd.concat([res.table, extra], ignore_index=True)
    return dataclasses.replace(res, table=table, draws={**res.draws, "epochs": epochs})


def epoch_value(
    fit, epochs=(1, 2, 4, 8, 16, 32, 64), *, unique_tokens=None, N=None, quantiles=(0.05, 0.5, 0.95)
):
    """What repeated epochs are worth under a ``data_constrained`` fit.

    For each number of epochs ``k`` over the same unique data (``D = k*U``), per posterior draw:

    * ``effective_epochs`` = ``D'/U = 1 + R_D*(1 - exp(-(k-1)/R_D*))``: how many epochs of fresh
      data the k repeated epochs are worth (the same for every U);
    * ``value_of_last_epoch`` = ``exp(-(k-1)/R_D*)``: the worth of the k-th epoch relative to an
      epoch of fresh data (the derivative of D' in D);
    * with ``unique_tokens`` and ``N`` given, ``loss``: the law's loss of a model of N parameters
      trained for k epochs on U unique tokens.

    Returns a tidy DataFrame: one row per (epochs, quantity), columns ``mean, sd, q5, q50, q95``.
    """
    _require_data_constrained(fit, "epoch_value")
    k = np.asarray(epochs, dtype=float).reshape(-1)
    if not (np.all(np.isfinite(k)) and np.all(k >= 1)):
        raise ValueError(f"epochs must be finite numbers >= 1, got {epochs!r}")
    th = {n: np.asarray(v, dtype=float).reshape(-1) for n, v in fit.textbook_draws().items()}
    rs = th["R_D_star"][:, None]
    draws = {
        "effective_epochs": 1.0 + rs * -np.expm1(-(k[None, :] - 1.0) / rs),
        "value_of_last_epoch": np.exp(-(k[None, :] - 1.0) / rs),
    }
    if (unique_tokens is None) != (N is None):
        raise ValueError("give both unique_tokens and N (for the loss), or neither")
    if unique_tokens is not None:
        U = float(unique_tokens)
        jnp = _jnp()
        theta = {n: jnp.asarray(v)[:, None] for n, v in th.items()}
        inputs = {
            "N": jnp.full(k.shape, float(N)),
            "D": jnp.asarray(U * k),
            "U": jnp.full(k.shape, U),
        }
        draws["loss"] = np.exp(np.asarray(fit.law.log_loss(theta, inputs)))
    rows = []
    for name, d in draws.items():
        for j, kk in enumerate(k):
            col = d[:, j]
            row = {"epochs": kk, "quantity": name, "mean": col.mean(), "sd": col.std(ddof=1)}
            for q in quantiles:
                row[f"q{100 * q:g}"] = float(np.quantile(col, q))
            rows.append(row)
    return pd.DataFrame(rows)
