"""Posterior forecasts of loss: credible intervals of the law's mean and predictive intervals.

:func:`predict` evaluates the law on every posterior draw at many points at once
(:func:`~scaling_bayes.posterior.draws.law_on_draws`: one jitted program over chunks of draws, no
loop over draws) and summarizes

* the **mean loss** ``exp(mu)`` (the law's prediction; credible interval, columns ``mean_q*``;
  beyond the range of the data ``mu`` includes the fit's structural error-growth term,
  :mod:`scaling_bayes.posterior.extrapolation`, so the interval widens with the distance),
* the **observed loss of a new run** ``exp(y)`` with ``y ~ likelihood(mu, sigma)`` drawn from the
  fit's own likelihood (Normal or Student-t with ``fit.config.nu`` on log-loss, posterior
  ``sigma``; predictive interval, columns ``pred_q*``), from an explicit ``seed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling_bayes.decisions.allocation import (
    COMPUTE_RANGE,
    TPP_BRACKET,
    _allocate,
    _as_array,
    _broadcast,
    _check_quantiles,
    _check_tpp,
    _qlabel,
    _resolve_flops,
    _use_closed_form,
    check_allocatable,
)
from scaling_bayes.model.likelihoods import LIKELIHOODS
from scaling_bayes.posterior.downstream import DownstreamFit
from scaling_bayes.posterior.draws import law_on_draws

_NOISE_BUDGET = 2_000_000  # noise draws generated at once


def _inputs(fit, N, D, C, compute_optimal: bool, covariates=None) -> dict[str, np.ndarray]:
    law = fit.law
    given = {k: v for k, v in (("N", N), ("D", D), ("C", C)) if v is not None}
    given.update({k: v for k, v in (covariates or {}).items() if v is not None})
    if compute_optimal:
        check_allocatable(law)
        if "C" not in given:
            raise ValueError("compute_optimal=True needs C (training budgets in FLOPs)")
        extra = [k for k in given if k != "C"]
        if extra:
            raise ValueError(
                f"compute_optimal=True chooses N and D from C; do not also pass {', '.join(extra)}"
            )
        return {
            "C": _as_array(
                "C",
                np.ravel(np.asarray(C, dtype=float)) if np.ndim(C) else C,
                lo=COMPUTE_RANGE[0],
                hi=COMPUTE_RANGE[1],
                unit=" FLOPs",
            )
        }
    missing = [k for k in law.inputs if k not in given]
    if missing:
        hint = (
            " (or pass C with compute_optimal=True to predict on the compute-optimal frontier)"
            if law.allocatable and "C" in given
            else ""
        )
        raise ValueError(
            f"law {law.name!r} needs inputs {', '.join(law.inputs)}; missing "
            f"{', '.join(missing)}{hint}"
        )
    unused = [k for k in given if k not in law.inputs]
    if unused:
        raise ValueError(
            f"law {law.name!r} does not use {', '.join(unused)}; it takes {', '.join(law.inputs)}"
        )
    arrs = {}
    for k, v in given.items():
        a = np.asarray(v, dtype=float)
        _as_array(k, a.reshape(-1) if a.ndim else a)  # validation only
        arrs[k] = a
    return _broadcast(**arrs)


def predict(
    fit,
    N=None,
    D=None,
    C=None,
    *,
    compute_optimal: bool = False,
    quantiles=(0.05, 0.5, 0.95),
    seed: int = 0,
    n_noise: int = 4,
    structural: bool = True,
    flops=None,
    tpp_bracket=TPP_BRACKET,
    **covariates,
) -> pd.DataFrame:
    """Posterior and posterior-predictive loss at many points.

    Parameters
    ----------
    fit
        A :class:`~scaling_bayes.posterior.fit.Fit`, or a
        :class:`~scaling_bayes.posterior.downstream.DownstreamFit` (then the columns are those
        of :meth:`~scaling_bayes.posterior.downstream.DownstreamFit.predict`; pass
        ``threshold=`` for ``P(metric > threshold)``).
    N, D, C
        Inputs the law needs (numbers or arrays broadcast against each other). With
        ``compute_optimal=True`` give only ``C``: each draw is evaluated at its own
        compute-optimal (N, D) for that budget (see
        :func:`scaling_bayes.decisions.allocation.compute_optimal`;
        ``flops`` and ``tpp_bracket`` are passed on).
    **covariates
        The law's other inputs by name, e.g. ``aspect=`` for a shape law, ``U=`` for
        ``data_constrained``, ``S=`` for ``kaplan_learning_curve``, ``L_train=`` or
        ``experts=`` (see ``fit.law.inputs``); broadcast with N, D, C.
    quantiles
        Quantiles of both intervals (columns ``mean_q5`` ... and ``pred_q5`` ...).
    seed, n_noise
        Seed and number of noise draws per posterior draw for the predictive interval.
    structural
        Include the fit's structural error-growth term (``fit.extrapolation``: zero inside the
        range of the data, growing with the distance beyond it) in both intervals (default).
        ``False``: parameter (and, for ``pred_q*``, noise) uncertainty only.

    Returns
    -------
    pandas.DataFrame
        One row per point: the inputs (``N, D`` / ``C``; on the frontier also ``N_opt``,
        ``D_opt`` posterior medians and ``boundary``, the fraction of draws with no interior
        optimum, which are left out), ``mean`` and ``mean_sd`` (posterior mean and sd of the
        law's mean loss), ``mean_q*`` (credible interval of the mean loss) and ``pred_q*``
        (predictive interval of a new run's observed loss, noise included).
    """
    if isinstance(fit, DownstreamFit):  # task loss and metric: DownstreamFit.predict
        unsupported = [name for name, given in (
            ("compute_optimal", compute_optimal), ("structural", structural is not True),
            ("flops", flops is not None), ("tpp_bracket", tpp_bracket is not TPP_BRACKET))
            if given]
        if unsupported:
            raise ValueError(f"predict on a downstream fit takes N, D (or C), quantiles, seed, "
                             f"n_noise and threshold; not {', '.join(unsupported)}")
        return fit.predict(N, D, C, quantiles=quantiles, seed=seed, n_noise=n_noise,
                           **covariates)
    qs = _check_quantiles(quantiles)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if isinstance(n_noise, bool) or not isinstance(n_noise, (int, np.integer)) or n_noise < 1:
        raise ValueError(f"n_noise must be a positive integer, got {n_noise!r}")
    if compute_optimal and covariates:
        raise ValueError(
            f"compute_optimal=True chooses N and D from C; it does not take {', '.join(covariates)}"
        )
    pts = _inputs(fit, N, D, C, compute_optimal, covariates)
    law = fit.law
    sigma = np.asarray(fit.posterior["sigma"], dtype=float).reshape(-1)
    cols: dict[str, np.ndarray] = dict(pts)
    if compute_optimal:
        fl = _resolve_flops(flops)
        closed = _use_closed_form(law, fl, "auto")
        r = _allocate(fit, np.log(pts["C"]), fl, closed, _check_tpp(tpp_bracket))
        bnd = r["boundary"]
        mu = np.where(bnd, np.nan, r["logL"])
        with np.errstate(all="ignore"):
            cols["N_opt"] = np.nanmedian(np.where(bnd, np.nan, np.exp(r["logN"])), axis=0)
            cols["D_opt"] = np.nanmedian(np.where(bnd, np.nan, np.exp(r["logD"])), axis=0)
        cols["boundary"] = bnd.mean(axis=0)
    else:
        mu = law_on_draws(law, fit.textbook_draws(), pts)
    ext = fit.extrapolation if structural else None
    if ext is not None:
        if compute_optimal:
            with np.errstate(all="ignore"):
                at = {"N": np.exp(r["logN"]), "D": np.exp(r["logD"])}
            mu = mu + ext.offsets(at, mu.shape[0], fit.config.seed, paired=True)
        else:
            mu = mu + ext.offsets(pts, mu.shape[0], fit.config.seed)
    # predictive draws from the fit's likelihood on log-loss, in chunks of points (memory)
    S, P = mu.shape
    rng = np.random.default_rng(int(seed))
    step = max(1, _NOISE_BUDGET // (S * n_noise))
    nq = len(qs)
    mq, pq = np.empty((nq, P)), np.empty((nq, P))
    mean, sd = np.empty(P), np.empty(P)
    for s0 in range(0, P, step):
        m = mu[:, s0 : s0 + step]
        y = LIKELIHOODS[fit.config.likelihood].predictive(  # (n_noise, S, p)
            rng, m[None], sigma[None, :, None], float(fit.config.nu),
            shape=(n_noise, S, m.shape[1]))
        mean_loss = np.exp(m)
        pred_loss = np.exp(y).reshape(-1, m.shape[1])
        if np.isnan(m).any():
            pred_loss = np.where(np.tile(np.isnan(m), (n_noise, 1)), np.nan, pred_loss)
            qf = np.nanquantile
        else:
            qf = np.quantile
        with np.errstate(all="ignore"):
            mean[s0 : s0 + step] = np.nanmean(mean_loss, axis=0)
            sd[s0 : s0 + step] = np.nanstd(mean_loss, axis=0, ddof=1)
            mq[:, s0 : s0 + step] = qf(mean_loss, qs, axis=0)
            pq[:, s0 : s0 + step] = qf(pred_loss, qs, axis=0)
    cols["mean"] = mean
    cols["mean_sd"] = sd
    for j, q in enumerate(qs):
        cols[f"mean_{_qlabel(q)}"] = mq[j]
    for j, q in enumerate(qs):
        cols[f"pred_{_qlabel(q)}"] = pq[j]
    return pd.DataFrame(cols)
