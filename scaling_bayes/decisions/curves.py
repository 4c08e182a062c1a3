"""Forecasts along a planned training run from a curve fit: :func:`forecast_run`.

``forecast_run(fit, N=..., tokens=..., lr=...)`` evaluates the schedule-aware law of a
:class:`~scaling_bayes.posterior.curves.CurveFit` on every posterior draw along the schedule
``lr`` (one rate per step, e.g. from :mod:`scaling_bayes.data.schedules`), and returns the
loss at a set of steps with

* a **credible band** of the expected loss (the law; for a run of the fit, plus its own
  offset and the carried-over residual, see below), and
* a **predictive band** of the loss a run would log: plus the noise model's residual
  (``sigma``; for ``noise="ar1_run"`` also a new run's offset ``tau``).

Three questions, one call each:

(a) a run in progress -- fit its first steps with the ladder, then
    ``forecast_run(fit, run="760M-2xC", lr=full_schedule)``: the residual of its last
    observed checkpoint carries over to later steps with the AR(1) correlation
    ``exp(-(log s - log s_last) / ell)``, so the forecast starts at the run's own curve;
(b) a larger planned run -- ``forecast_run(fit, N=1.3e9, tokens=2.6e10, lr=cosine(...))``;
(c) schedules compared -- ``forecast_run(fit, N=..., tokens=..., lr={"cosine": ...,
    "wsd": wsd(..., decay_start=s)})``: every schedule on the same draws, with the paired
    difference of their final losses (:class:`ScheduleComparison`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes.data.schedules import schedule_features
from scaling_bayes.posterior.curves import CurveFit

__all__ = ["CurveForecast", "ForecastError", "ScheduleComparison", "forecast_run"]


class ForecastError(ScalingBayesError, ValueError):
    """A forecast argument is missing or out of range."""


@dataclass(frozen=True, eq=False)
class CurveForecast:
    """The loss along one planned run.

    ``table``: one row per reported step: ``step``, ``tokens``, ``lr``, ``S1``, ``S2``,
    ``loss`` (posterior median of the expected loss), ``mean_lo``/``mean_hi`` (credible band),
    ``pred_lo``/``pred_hi`` (predictive band) at ``level``. ``final``: the last row.
    ``final_draws``: predictive draws of the final loss; ``final_mean_draws``: draws of the
    expected final loss.
    """

    table: pd.DataFrame
    level: float
    N: float
    run: str | None
    final_draws: np.ndarray
    final_mean_draws: np.ndarray

    @property
    def final(self) -> pd.Series:
        return self.table.iloc[-1]

    def __repr__(self) -> str:
        f = self.final
        who = f"run {self.run!r}" if self.run else f"N={self.N:.4g}"
        return (f"<CurveForecast {who} final step {int(f['step'])}: loss {f['loss']:.4f} "
                f"({self.level:.0%} credible {f['mean_lo']:.4f}-{f['mean_hi']:.4f}, "
                f"predictive {f['pred_lo']:.4f}-{f['pred_hi']:.4f})>")


@dataclass(frozen=True, eq=False)
class ScheduleComparison:
    """Several schedules on the same posterior draws: ``forecasts`` by name, ``table`` (one row
    per schedule: final loss and bands, and the paired difference to the first schedule with
    its credible interval and the probability that the schedule ends lower)."""

    forecasts: dict[str, CurveForecast]
    table: pd.DataFrame

    def __repr__(self) -> str:
        return "<ScheduleComparison>\n" + self.table.round(4).to_string()


def _quantiles(a, level):
    lo, hi = (1 - level) / 2, (1 + level) / 2
    q = np.quantile(a, [lo, 0.5, hi], axis=0)
    return q[0], q[1], q[2]


def _steps_at(at, T: int, first: int) -> np.ndarray:
    if at is None:
        lo = max(1, min(first, T))
        at = np.unique(np.round(np.geomspace(lo, T, 60)).astype(int))
    at = np.unique(np.asarray(at, dtype=int))
    if at.size == 0 or at.min() < 1 or at.max() > T:
        raise ForecastError(f"at: steps must be in [1, {T}] (the length of lr)")
    if at[-1] != T:
        at = np.append(at, T)
    return at


def _one(fit: CurveFit, N: float, lr: np.ndarray, tokens, run, at, level, rng) -> CurveForecast:
    T = lr.size
    S1, S2 = schedule_features(lr, fit.data.lam)
    first = int(fit.data.kept["step"].min()) if run is None else int(
        fit.data.kept.loc[fit.data.kept["run"] == run, "step"].min())
    steps = _steps_at(at, T, first)
    mu = fit.log_law(np.full(steps.size, N), S1[steps - 1], S2[steps - 1])  # (M, K)
    M = mu.shape[0]
    sigma = fit.flat("sigma")[:, None]
    shift = np.zeros_like(mu)
    sd = np.broadcast_to(sigma, mu.shape).copy()
    if run is not None:
        u = fit.run_effect(run)[:, None]
        shift += u
        if fit.noise in ("ar1", "ar1_run"):
            k = fit.data.kept
            last = k[k["run"] == run].iloc[-1]
            mu_last = fit.log_law([last["N"]], [last["S1"]], [last["S2"]])[:, 0]
            r_last = (np.log(last["loss"]) - mu_last)[:, None] - u
            dt = np.abs(np.log(steps) - np.log(float(last["step"])))[None]
            rho = np.exp(-dt / fit.flat("ell")[:, None])
            shift += rho * r_last
            sd = sigma * np.sqrt(1 - rho**2)
    elif fit.noise == "ar1_run":
        sd = np.sqrt(sigma**2 + fit.flat("tau")[:, None] ** 2) * np.ones_like(mu)
    mean = mu + shift
    pred = mean + sd * rng.standard_normal(mu.shape)
    m_lo, m_med, m_hi = _quantiles(np.exp(mean), level)
    p_lo, _, p_hi = _quantiles(np.exp(pred), level)
    if tokens is None:
        tok = steps.astype(float)
        if run is not None:
            tok = steps * float(fit.data.runs.loc[run, "batch_tokens"])
    elif np.ndim(tokens) == 0:
        tok = steps * float(tokens) / T
    else:
        tokens = np.asarray(tokens, dtype=float)
        if tokens.shape != lr.shape:
            raise ForecastError("tokens: give the planned total, or one value per step like lr")
        tok = tokens[steps - 1]
    table = pd.DataFrame({"step": steps, "tokens": tok, "lr": lr[steps - 1],
                          "S1": S1[steps - 1], "S2": S2[steps - 1], "loss": m_med,
                          "mean_lo": m_lo, "mean_hi": m_hi, "pred_lo": p_lo, "pred_hi": p_hi})
    del M
    return CurveForecast(table=table, level=level, N=float(N), run=run,
                         final_draws=np.exp(pred[:, -1]), final_mean_draws=np.exp(mean[:, -1]))


def forecast_run(fit: CurveFit, N: float | None = None, tokens=None, lr=None, *,
                 run: str | None = None, at=None, level: float = 0.9,
                 seed: int = 0) -> CurveForecast | ScheduleComparison:
    """Forecast the loss along a planned run (see the module docstring).

    Parameters
    ----------
    fit
        A :class:`~scaling_bayes.posterior.curves.CurveFit` (:func:`scaling_bayes.fit_curves`).
    N
        Model size in parameters (default: the size of ``run``).
    tokens
        The planned total tokens (the batch is ``tokens / len(lr)``) or the tokens seen at each
        step; only the ``tokens`` column depends on it (the law counts steps x lr).
    lr
        The learning rate at every step ``1..T`` (an array of length T, e.g.
        ``sb.schedules.cosine(T, 6e-4, warmup=1000)``), or ``{name: array}`` to compare
        schedules (returns a :class:`ScheduleComparison`). Default with ``run``: that run's
        rate as reconstructed from its checkpoints (forecasts within its logged steps only).
    run
        A run of the fit: the forecast continues that run (its offset and its last residual).
    at
        Steps to report (default: 60 log-spaced steps from the first kept checkpoint to T);
        step T is always the last row.
    level
        Mass of the credible and predictive bands (default 0.9).
    seed
        Seed of the predictive noise draws.
    """
    if not isinstance(fit, CurveFit):
        raise ForecastError(f"fit must be a CurveFit (from scaling_bayes.fit_curves), got "
                            f"{type(fit).__name__}")
    if not (0 < level < 1):
        raise ForecastError(f"level must be in (0, 1), got {level!r}")
    if run is not None:
        if run not in fit.data.runs.index:
            raise ForecastError(f"run {run!r} is not in the fit; runs: "
                                f"{', '.join(fit.run_names)}")
        N = float(fit.data.runs.loc[run, "N"]) if N is None else N
        if lr is None:
            lr = fit.data.lr_steps[run]
    if N is None or not (np.isfinite(N) and N > 0):
        raise ForecastError(f"N (model size in parameters) must be given and positive, got {N!r}")
    if lr is None:
        raise ForecastError("lr: give the learning rate at every step of the planned run, e.g. "
                            "scaling_bayes.schedules.cosine(steps, peak, warmup=...)")
    schedules = dict(lr) if isinstance(lr, Mapping) else {"": lr}
    if run is not None:
        logged = int(fit.data.runs.loc[run, "last_step"])
        short = [k for k, a in schedules.items() if np.size(a) < logged]
        if short:
            raise ForecastError(
                f"lr{'[' + repr(short[0]) + ']' if short[0] else ''} has {np.size(schedules[short[0]])} "
                f"steps, fewer than the {logged} run {run!r} has logged: give its whole planned "
                "schedule")
    out = {}
    for name, a in schedules.items():
        a = np.asarray(a, dtype=float)
        if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)) or np.any(a < 0):
            label = f"lr[{name!r}]" if name else "lr"
            raise ForecastError(f"{label} must be a 1-D array of finite rates >= 0, one per step")
        out[name] = _one(fit, float(N), a, tokens, run, at, level, np.random.default_rng(seed))
    if not isinstance(lr, Mapping):
        return out[""]
    names = list(out)
    base = out[names[0]].final_mean_draws
    rows = []
    for name in names:
        f = out[name]
        diff = f.final_mean_draws - base
        d_lo, d_med, d_hi = _quantiles(diff, level)
        rows.append({"schedule": name, "steps": int(f.final["step"]),
                     "final_loss": f.final["loss"], "mean_lo": f.final["mean_lo"],
                     "mean_hi": f.final["mean_hi"], "pred_lo": f.final["pred_lo"],
                     "pred_hi": f.final["pred_hi"], f"diff_vs_{names[0]}": d_med,
                     "diff_lo": d_lo, "diff_hi": d_hi,
                     "p_lower": float(np.mean(diff < 0)) if name != names[0] else np.nan})
    return ScheduleComparison(forecasts=out, table=pd.DataFrame(rows).set_index("schedule"))
