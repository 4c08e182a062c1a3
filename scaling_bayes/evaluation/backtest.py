"""Held-out extrapolation backtest: fit on the small runs, predict the large ones.

:func:`backtest` splits the data by a cutoff (compute, parameters, or any boolean rule), fits each
law by NUTS on the rows that are **not** held out, and scores its predictions of the held-out rows:

* ``lpd_sum`` / ``lpd_mean``: held-out log predictive density on **log-loss**,
  ``log p(y_i | train) = log mean_s p(y_i | mu_s(x_i), sigma_s)`` over posterior draws ``s`` with
  the fit's own likelihood (Student-t or Normal on log-loss);
* ``cover50/80/90/95``: fraction of held-out losses inside the central 50/80/90/95% posterior
  predictive intervals (:func:`scaling_bayes.decisions.forecast.predict`);
* ``width90``: median over held-out points of the 90% predictive interval's width relative to the
  observed loss, ``(q95 - q5) / loss``;
* ``crps``: mean continuous ranked probability score of the predictive distribution of
  **log-loss** (sample estimator ``E|X - y| - E|X - X'|/2`` over predictive draws; in log units,
  i.e. roughly relative error);
* ``median_are`` / ``max_are``: median and max absolute relative error of the point prediction
  (posterior median of the law's mean loss);
* ``mean_log_error``: mean of ``log(predicted / observed)`` (> 0: the law over-predicts loss);
* per held-out point (``predictions``): the PIT value ``pit``, the predictive probability of a
  loss below the observed one (uniform on [0, 1] when the forecasts are calibrated; near 0: the
  run came out better than forecast, near 1: worse).

:func:`point_scores` gives every per-point score (interval hits, PIT, CRPS, errors, widths) from
observations, a point prediction, interval bounds and predictive draws; :func:`_score` averages
it. :mod:`scaling_bayes.evaluation.calibration` uses the same functions over many data sets.

The Approach-3 baseline (Huber point fit on the training rows,
:func:`scaling_bayes.evaluation.baselines.approach3_fit`) is scored on the same points. Its
predictive intervals are a cheap bootstrap: each of ``n_boot`` row-bootstrap refits predicts ``mu_b(x)``, plus
one training residual (log scale) of the point fit drawn at random — parameter and noise
uncertainty, no Bayesian density (``lpd`` NaN).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import load_data
from scaling_bayes.decisions.forecast import predict
from scaling_bayes.evaluation import baselines as bl
from scaling_bayes.inference.fit import fit as fit_law
from scaling_bayes.laws.base import get_law
from scaling_bayes.model.likelihoods import LIKELIHOODS
from scaling_bayes.posterior.draws import law_on_draws

#: Central predictive intervals scored, as probabilities.
LEVELS = (0.5, 0.8, 0.9, 0.95)
_QS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
#: Interval bounds (predictive quantile labels) of each level in :data:`LEVELS`.
_BOUNDS = {0.5: ("q25", "q75"), 0.8: ("q10", "q90"), 0.9: ("q5", "q95"), 0.95: ("q2.5", "q97.5")}
#: Predictive quantiles kept per held-out point (``pred_<label>`` columns).
_QLABELS = ("q2.5", "q5", "q10", "q25", "q75", "q90", "q95", "q97.5")
_QPROBS = (0.025, 0.05, 0.1, 0.25, 0.75, 0.9, 0.95, 0.975)
APPROACH3 = "approach3"


# ============================================================================ split
def _cutoff(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def split(
    data,
    *,
    holdout_above_compute=None,
    holdout_above_params=None,
    holdout: Callable[[pd.DataFrame], Any] | None = None,
    columns=None,
):
    """``(data, mask, description)``: the validated data, the boolean held-out mask and the rule
    in words. Exactly one rule must be given; ``holdout`` is called on ``data.to_frame()``
    (columns N, D, C, loss and the extra columns) and must return one boolean per row."""
    given = [
        k
        for k, v in (
            ("holdout_above_compute", holdout_above_compute),
            ("holdout_above_params", holdout_above_params),
            ("holdout", holdout),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "backtest: give exactly one of holdout_above_compute, "
            "holdout_above_params or holdout" + (f" (got {', '.join(given)})" if given else "")
        )
    sd = load_data(data, columns=dict(columns) if columns else None)
    if holdout_above_compute is not None:
        cut = _cutoff("holdout_above_compute", holdout_above_compute)
        mask = sd.get("C") > cut
        desc = f"holdout_above_compute={cut:.3g} (C > {cut:.3g} FLOPs)"
        col, vals = "C", sd.get("C")
    elif holdout_above_params is not None:
        cut = _cutoff("holdout_above_params", holdout_above_params)
        mask = sd.get("N") > cut
        desc = f"holdout_above_params={cut:.3g} (N > {cut:.3g})"
        col, vals = "N", sd.get("N")
    else:
        if not callable(holdout):
            raise TypeError("backtest: holdout must be a callable (DataFrame -> boolean mask)")
        m = holdout(sd.to_frame())
        mask = np.asarray(m)
        if mask.dtype != bool or mask.shape != (sd.n,):
            raise ValueError(
                f"backtest: holdout must return {sd.n} booleans (one per row), got "
                f"dtype {mask.dtype}, shape {mask.shape}"
            )
        desc = f"holdout={getattr(holdout, '__name__', 'callable')}"
        col, vals = None, None
    n_hold = int(mask.sum())
    if n_hold == 0:
        rng = f"; {col} ranges {vals.min():.3g}..{vals.max():.3g}" if col else ""
        raise ValueError(f"backtest: {desc} holds out no rows{rng}: nothing to predict")
    if n_hold == sd.n:
        rng = f"; {col} ranges {vals.min():.3g}..{vals.max():.3g}" if col else ""
        raise ValueError(f"backtest: {desc} holds out all {sd.n} rows{rng}: no training rows")
    return sd, mask, desc


# ============================================================================ scores
def _crps(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample CRPS per column: draws (S, P), observations (P,)."""
    x = np.sort(draws, axis=0)
    S = x.shape[0]
    t1 = np.mean(np.abs(x - y[None]), axis=0)
    w = (2 * np.arange(1, S + 1) - S - 1)[:, None]
    t2 = np.sum(w * x, axis=0) / (S * S)  # = E|X - X'| / 2
    return t1 - t2


def _pit(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PIT per column: the predictive probability of a value below ``y`` (ties count half),
    from draws (S, P) and observations (P,)."""
    below = np.sum(draws < y[None], axis=0)
    ties = np.sum(draws == y[None], axis=0)
    return (below + 0.5 * ties) / draws.shape[0]


def _mu_draws(fit, N, D, C, covariates=None) -> np.ndarray:
    """Law's log-loss mean per posterior draw, (S, P), with the fit's structural error-growth
    term beyond the training range (``fit.extrapolation``; the same draws as ``predict``)."""
    pts = {"N": N, "D": D, "C": C, **(covariates or {})}
    at = {k: pts[k] for k in fit.law.inputs}
    mu = law_on_draws(fit.law, fit.textbook_draws(), at)
    ext = getattr(fit, "extrapolation", None)
    if ext is not None:
        mu = mu + ext.offsets({k: np.asarray(v, dtype=float) for k, v in at.items()},
                              mu.shape[0], fit.config.seed)
    return mu


def point_scores(
    obs: np.ndarray,
    point: np.ndarray,
    q: dict[str, np.ndarray],
    logy_draws: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Per held-out point: ``in50 ... in95`` (1.0 inside the central interval, NaN without
    bounds), ``width90`` ((q95 - q5) / observed loss), ``pit`` and ``crps`` (of log-loss, from
    ``logy_draws`` (S, P); NaN without draws), ``are`` (absolute relative error of ``point``),
    ``rel_error`` and ``log_error`` (``log(point / obs)``).

    ``q`` maps the labels of :data:`_BOUNDS` (``"q2.5"``, ``"q5"``, ...) to predictive quantiles
    of the loss; missing labels give NaN for the levels they bound."""
    obs = np.asarray(obs, dtype=float)
    point = np.asarray(point, dtype=float)
    nan = np.full(obs.shape, np.nan)
    out: dict[str, np.ndarray] = {}
    for lev in LEVELS:
        lo, hi = _BOUNDS[lev]
        if q.get(lo) is not None and q.get(hi) is not None:
            out[f"in{int(lev * 100)}"] = ((obs >= q[lo]) & (obs <= q[hi])).astype(float)
        else:
            out[f"in{int(lev * 100)}"] = nan
    if q.get("q5") is not None and q.get("q95") is not None:
        out["width90"] = (np.asarray(q["q95"]) - np.asarray(q["q5"])) / obs
    else:
        out["width90"] = nan
    y = np.log(obs)
    if logy_draws is not None:
        out["pit"] = _pit(logy_draws, y)
        out["crps"] = _crps(logy_draws, y)
    else:
        out["pit"], out["crps"] = nan, nan
    out["rel_error"] = point / obs - 1
    out["are"] = np.abs(out["rel_error"])
    out["log_error"] = np.log(point / obs)
    return out


def _nanmean(a: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    return float(np.mean(a)) if np.isfinite(a).all() else np.nan


def _score(
    name: str,
    kind: str,
    obs: np.ndarray,
    point: np.ndarray,
    q: dict[str, np.ndarray],
    logy_draws: np.ndarray | None,
    lpd: np.ndarray | None,
) -> dict:
    ps = point_scores(obs, point, q, logy_draws)
    row = {"method": name, "kind": kind}
    row["lpd_sum"] = float(np.sum(lpd)) if lpd is not None else np.nan
    row["lpd_mean"] = float(np.mean(lpd)) if lpd is not None else np.nan
    for lev in LEVELS:
        row[f"cover{int(lev * 100)}"] = _nanmean(ps[f"in{int(lev * 100)}"])
    row["width90"] = float(np.median(ps["width90"])) if np.isfinite(ps["width90"]).all() \
        else np.nan
    row["crps"] = _nanmean(ps["crps"])
    row["median_are"] = float(np.median(ps["are"]))
    row["max_are"] = float(np.max(ps["are"]))
    row["mean_log_error"] = float(np.mean(ps["log_error"]))
    return row


# ============================================================================ backtest
@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Result of :func:`backtest`.

    Attributes
    ----------
    table
        One row per method (index): ``kind`` (``bayes`` or ``approach3``), ``n_train``,
        ``n_holdout``, ``lpd_sum``, ``lpd_mean`` (held-out log predictive density of log-loss,
        nats), ``cover50``, ``cover80``, ``cover90``, ``cover95``, ``width90`` (median 90%
        interval width relative to the observed loss), ``crps`` (mean CRPS of log-loss),
        ``median_are``, ``max_are`` (absolute relative error of the point prediction),
        ``mean_log_error``, ``divergences``, ``note``.
    predictions
        One row per (method, held-out point): ``method``, ``row`` (position in the data), ``N``,
        ``D``, ``C``, ``loss`` (observed), ``median`` (point prediction: posterior median of the
        law's mean loss, or the Approach-3 fit), ``pred_q2.5 ... pred_q97.5`` (predictive
        interval bounds), ``lpd`` (log p(y_i | train), log-loss), ``rel_error`` and ``pit``
        (predictive probability of a loss below the observed one).
    split
        The rule in words; ``holdout_mask``: boolean per data row.
    fits
        ``{law: Fit}`` on the training rows; ``baseline``: the Approach-3 results.
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    split: str
    holdout_mask: np.ndarray
    fits: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def backtest(
    data,
    laws: Sequence[str] | str = ("chinchilla", "kaplan"),
    *,
    holdout_above_compute: float | None = None,
    holdout_above_params: float | None = None,
    holdout: Callable[[pd.DataFrame], Any] | None = None,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
    baselines: bool = True,
    n_boot: int = 200,
    columns=None,
    baseline_options: dict | None = None,
    progress: bool = False,
    **fit_kwargs,
) -> BacktestResult:
    """Fit each law on the rows not held out and score its predictions of the held-out rows.

    Parameters
    ----------
    data
        CSV path, DataFrame or :class:`~scaling_bayes.data.observations.ScalingData`.
    laws
        Law names (or one name).
    holdout_above_compute, holdout_above_params, holdout
        Exactly one: hold out rows with ``C`` above a FLOP cutoff, with ``N`` above a parameter
        cutoff, or where ``holdout(frame)`` is True (``frame``: columns N, D, C, loss, extras).
    seed, chains, warmup, draws, fit_kwargs
        Passed to :func:`scaling_bayes.fit` (``priors``, ``likelihood``, ...); ``seed`` also seeds
        the predictive draws and the bootstrap.
    baselines, n_boot, baseline_options
        Add the Approach-3 baseline (needs N and D) with ``n_boot`` bootstrap refits for its
        intervals (0: no intervals, coverage NaN); ``baseline_options`` go to ``approach3_fit``.

    Raises ``ValueError`` (naming the rule) when no row or every row is held out, or the training
    rows are too few for a law.
    """
    laws = [laws] if isinstance(laws, str) else list(laws)
    if not laws and not baselines:
        raise ValueError("backtest: no laws given")
    law_objs = [get_law(name) for name in laws]
    sd, mask, desc = split(
        data,
        holdout_above_compute=holdout_above_compute,
        holdout_above_params=holdout_above_params,
        holdout=holdout,
        columns=columns,
    )
    train, test = sd.subset(~mask), sd.subset(mask)
    for law in law_objs:
        need = law.n_params + 1
        if train.n < need:
            raise ValueError(
                f"backtest: {desc} leaves {train.n} training row{'s' if train.n != 1 else ''}; "
                f"law {law.name!r} needs at least {need} (it has {law.n_params} parameters "
                "including the noise scale): raise the cutoff"
            )
        for v in law.inputs:
            a = train.get(v)
            if np.all(a == a[0]):
                raise ValueError(
                    f"backtest: after {desc} every training row has {v} = "
                    f"{a[0]:.3g}; law {law.name!r} needs several values: raise "
                    "the cutoff"
                )
    rows_idx = np.flatnonzero(mask)
    obs = test.loss
    base = {"row": rows_idx, "N": test.N, "D": test.D, "C": test.C, "loss": obs}
    base = {k: v for k, v in base.items() if v is not None}
    rows, preds, fits, notes = [], [], {}, []
    for i, law in enumerate(law_objs):
        f = fit_law(
            train,
            law=law,
            seed=seed,
            chains=chains,
            warmup=warmup,
            draws=draws,
            warn=False,
            progress=progress,
            **fit_kwargs,
        )
        fits[law.name] = f
        inputs = {k: test.get(k) for k in law.inputs}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            p = predict(f, **inputs, quantiles=_QS, seed=seed + i)
        mu = _mu_draws(f, test.N, test.D, test.C, inputs)  # (S, P)
        sigma = np.asarray(f.posterior["sigma"], dtype=float).reshape(-1)[:, None]
        y = np.log(obs)
        lik = LIKELIHOODS[f.config.likelihood]
        lp = lik.logpdf(y[None], mu, sigma, float(f.config.nu))
        top = np.max(lp, axis=0)
        lpd = top + np.log(np.mean(np.exp(lp - top[None]), axis=0))
        rng = np.random.default_rng(seed + 1000 + i)
        logy = lik.predictive(rng, mu, sigma, float(f.config.nu))
        point = p["mean_q50"].to_numpy(float)
        q = {k: p[f"pred_{k}"].to_numpy(float) for k in _QLABELS}
        r = _score(law.name, "bayes", obs, point, q, logy, lpd)
        r["divergences"] = f.divergences
        problems = f.check()
        r["note"] = "; ".join(problems)
        rows.append(r)
        preds.append(
            pd.DataFrame(
                {
                    "method": law.name,
                    **base,
                    "median": point,
                    **{f"pred_{k}": v for k, v in q.items()},
                    "lpd": lpd,
                    "rel_error": point / obs - 1,
                    "pit": _pit(logy, y),
                }
            )
        )
    baseline = None
    if baselines:
        if train.N is None or train.D is None:
            raise ValueError(
                "backtest: the Approach-3 baseline needs N and D columns (pass baselines=False)"
            )
        if train.n < 6:
            raise ValueError(
                f"backtest: {desc} leaves {train.n} training rows; the Approach-3 "
                "baseline needs at least 6: raise the cutoff"
            )
        a3 = bl.approach3_fit(train.N, train.D, train.loss, **(baseline_options or {}))
        th = a3["theta"]

        def mu_a3(theta, N, D):
            e, a, b, al, be = (theta[..., j, None] for j in range(5))
            return np.logaddexp(np.logaddexp(e, a - al * np.log(N)), b - be * np.log(D))

        point = np.exp(mu_a3(th, test.N, test.D))
        resid = np.log(train.loss) - mu_a3(th, train.N, train.D)
        q, logy = {}, None
        note = "Approach-3 Huber point fit on the training rows; no posterior, so lpd is NaN"
        if n_boot:
            boot = bl.approach3_bootstrap(
                train.N,
                train.D,
                train.loss,
                n_boot=int(n_boot),
                seed=seed,
                start=th,
                delta=(baseline_options or {}).get("delta", 1e-3),
            )
            ok = np.all(np.isfinite(boot["theta"]), axis=1)
            m = mu_a3(boot["theta"][ok], test.N, test.D)  # (R, P)
            rng = np.random.default_rng(seed + 2000)
            logy = m + rng.choice(resid, size=m.shape, replace=True)
            qs = np.quantile(np.exp(logy), _QPROBS, axis=0)
            q = dict(zip(_QLABELS, qs, strict=True))
            note += (
                f"; intervals/CRPS from {int(ok.sum())} bootstrap refits plus a resampled "
                "training residual"
            )
        else:
            note += "; n_boot=0: no intervals (coverage and CRPS NaN)"
        baseline = {"fit": a3, "boot": boot if n_boot else None, "residuals": resid}
        r = _score(APPROACH3, "approach3", obs, point, q, logy, None)
        r["divergences"] = pd.NA
        r["note"] = note
        rows.append(r)
        preds.append(
            pd.DataFrame(
                {
                    "method": APPROACH3,
                    **base,
                    "median": point,
                    **{
                        f"pred_{k}": q.get(k, np.full(obs.size, np.nan))
                        for k in _QLABELS
                    },
                    "lpd": np.nan,
                    "rel_error": point / obs - 1,
                    "pit": _pit(logy, np.log(obs)) if logy is not None else np.nan,
                }
            )
        )
        notes.append(note)
    table = pd.DataFrame(rows).set_index("method")
    table.insert(1, "n_train", train.n)
    table.insert(2, "n_holdout", test.n)
    table["divergences"] = table["divergences"].astype("Int64")
    return BacktestResult(
        table=table,
        predictions=pd.concat(preds, ignore_index=True),
        split=desc,
        holdout_mask=mask,
        fits=fits,
        baseline=baseline,
        notes=notes,
    )
