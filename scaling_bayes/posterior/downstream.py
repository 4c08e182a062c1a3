"""The result of a downstream fit: posterior draws of both steps, forecasts, save/load.

A :class:`DownstreamFit` (from :func:`scaling_bayes.fit_downstream`) holds the posterior of the
two-step model of :mod:`scaling_bayes.model.downstream` (or of the direct law). Its
:meth:`~DownstreamFit.predict` (also reached by ``scaling_bayes.predict(fit, N=..., D=...)``)
evaluates every posterior draw at new (N, D) and summarises

* the task loss: credible interval of the law (``loss_mean_q*``) and predictive interval of a
  new run's task loss (``loss_pred_q*``, with the step-1 noise);
* the metric: credible interval of the chained law (``metric_mean_q*``: step-1 law pushed
  through the step-2 sigmoid, draw by draw) and predictive interval of a new run's metric
  (``metric_pred_q*``: in ``chained`` mode the new run's predicted task loss, noise included,
  goes through the sigmoid and the step-2 noise is added; in ``joint``/``direct`` the step-2
  noise is added to the chained law);
* ``p_above``: P(metric of a new run > ``threshold``) and ``p_above_mean``: P(the law's metric
  > ``threshold``).

``fit.save(path)`` writes one ``.npz`` file atomically; :func:`load_downstream` restores it
(every array bit-for-bit).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes._core.io import atomic_write
from scaling_bayes.data.downstream import DownstreamData
from scaling_bayes.model.downstream import (
    STEP1_SITES,
    direct_mean,
    metric_mean,
    site_names,
    step1_log_loss,
)
from scaling_bayes.posterior.diagnostics import summarize

__all__ = ["DownstreamFit", "DownstreamFitError", "load_downstream"]

_FORMAT = "scaling_bayes.downstream/1"


class DownstreamFitError(ScalingBayesError):
    """A bad argument to a downstream forecast, or an unreadable downstream fit file."""


def _qlabel(q: float) -> str:
    s = f"{100 * q:.4g}"
    return "q" + s


def _check_quantiles(quantiles) -> tuple[float, ...]:
    try:
        qs = tuple(float(q) for q in np.atleast_1d(quantiles))
    except (TypeError, ValueError):
        raise DownstreamFitError(f"quantiles must be numbers in (0, 1), got {quantiles!r}") \
            from None
    if not qs or not all(0 < q < 1 for q in qs):
        raise DownstreamFitError(f"quantiles must be numbers in (0, 1), got {quantiles!r}")
    return qs


def _positive(name: str, v) -> np.ndarray:
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise DownstreamFitError(f"{name} must be positive numbers, got {v!r}") from None
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise DownstreamFitError(f"{name} must be positive finite numbers, got {v!r}")
    return a


@dataclass(frozen=True, eq=False)
class DownstreamFit:
    """Posterior of a downstream model (see the module docstring).

    Attributes
    ----------
    mode
        ``"chained"``, ``"joint"`` or ``"direct"``.
    data
        The runs fitted (:class:`~scaling_bayes.data.downstream.DownstreamData`).
    floor, ceiling
        The metric's floor (random-guess accuracy) and fixed ceiling (``None``: learned,
        the ``ceiling`` draws).
    ref
        Pivots ``N0``, ``D0`` (geometric means of the data) and ``log_ref`` (log of the median
        task loss, the sigmoid's reference).
    noise_floor
        Seed noise from the repeated runs: ``loss`` (sd of log task loss), ``metric`` (sd of the
        metric) and ``pairs``; the model's noise scales are at least these.
    posterior
        ``{name: array (chain, draw)}``: sampled parameters and derived ones (``sigma_loss``,
        ``sigma_metric``, ``L0``, ``ceiling``).
    sample_stats
        ``diverging`` per draw ``(chain, draw)``.
    config
        ``chains``, ``warmup``, ``draws``, ``seed``, ``target_accept``.
    """

    mode: str
    data: DownstreamData
    floor: float
    ceiling: float | None
    ref: dict[str, float]
    noise_floor: dict[str, float]
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    config: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    @property
    def sampled(self) -> tuple[str, ...]:
        return site_names(self.mode, self.ceiling is not None)

    @property
    def reported(self) -> tuple[str, ...]:
        extra = ("sigma_metric",) + (() if self.ceiling is not None else ("ceiling",))
        if self.mode == "direct":
            return ("c0", "bN", "bD", *extra)
        return (*STEP1_SITES, "sigma_loss", "L0", "k", *extra)

    @property
    def divergences(self) -> int:
        return int(np.sum(self.sample_stats["diverging"]))

    def flat(self) -> dict[str, np.ndarray]:
        """Every posterior array flattened over chains and draws."""
        return {k: np.asarray(v).reshape(-1) for k, v in self.posterior.items()}

    def summary(self, params=None, quantiles=(0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Posterior table (mean, sd, quantiles, ESS, R-hat) of the reported parameters
        (``params="sampled"``: the sampled ones; or a list of names)."""
        names = (list(self.reported) if params is None else list(self.sampled)
                 if params == "sampled" else [params] if isinstance(params, str)
                 else list(params))
        return summarize({k: self.posterior[k] for k in names}, quantiles=quantiles)

    def check(self) -> list[str]:
        """Diagnostic problems (empty if clean): R-hat > 1.01, bulk/tail ESS < 400,
        divergences."""
        s = self.summary("sampled")
        out = []
        bad = s.index[~(s["r_hat"] <= 1.01)].tolist()
        if bad:
            out.append(f"R-hat > 1.01 for {', '.join(bad)}")
        low = s.index[~((s["ess_bulk"] >= 400) & (s["ess_tail"] >= 400))].tolist()
        if low:
            out.append(f"ESS < 400 for {', '.join(low)}")
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        return out

    def __repr__(self) -> str:
        c = self.config
        return (f"<DownstreamFit mode={self.mode} {self.data.task_loss} -> "
                f"{self.data.metric_name} n={self.data.n} chains={c['chains']} "
                f"draws={c['draws']} divergences={self.divergences}>")

    # ------------------------------------------------------------------ forecasts
    def _x(self, N, D):
        return np.log(N / self.ref["N0"]), np.log(D / self.ref["D0"])

    def loss_draws(self, N, D) -> np.ndarray:
        """Step-1 law's log task loss, ``(draws, points)``."""
        if self.mode == "direct":
            raise DownstreamFitError("a direct fit has no task-loss law")
        th = {k: v[:, None] for k, v in self.flat().items()}
        xN, xD = self._x(np.ravel(N)[None], np.ravel(D)[None])
        return np.asarray(step1_log_loss(th, xN, xD))

    def metric_of_loss(self, loss) -> np.ndarray:
        """Step-2 sigmoid: metric mean at task loss ``loss`` for every draw,
        ``(draws, points)``."""
        if self.mode == "direct":
            raise DownstreamFitError("a direct fit has no step-2 curve (metric of task loss)")
        th = {k: v[:, None] for k, v in self.flat().items()}
        return np.asarray(metric_mean(th, np.log(np.ravel(loss))[None], self.floor,
                                      self.ref["log_ref"], self.ceiling))

    def draws_at(self, N, D, *, seed: int = 0, n_noise: int = 4) -> dict[str, np.ndarray]:
        """Draws at points ``(N, D)`` (flattened): ``loss_mean``, ``loss_pred``,
        ``metric_mean`` ``(S, P)`` and ``metric_pred`` ``(S * n_noise, P)``."""
        th = {k: v[:, None] for k, v in self.flat().items()}
        xN, xD = self._x(np.ravel(N)[None], np.ravel(D)[None])
        rng = np.random.default_rng(seed)
        S, P = next(iter(th.values())).shape[0], xN.shape[1]
        s2 = th["sigma_metric"][None]
        out = {}
        if self.mode == "direct":
            m = np.asarray(direct_mean(th, xN, xD, self.floor, self.ceiling))
            out["metric_mean"] = m
            mp = m[None] + s2 * rng.standard_normal((n_noise, S, P))
        else:
            mu = np.asarray(step1_log_loss(th, xN, xD))
            s1 = th["sigma_loss"][None]
            y = mu[None] + s1 * rng.standard_normal((n_noise, S, P))
            out["loss_mean"] = np.exp(mu)
            out["loss_pred"] = np.exp(y).reshape(-1, P)
            m = np.asarray(metric_mean(th, mu, self.floor, self.ref["log_ref"], self.ceiling))
            out["metric_mean"] = m
            base = (np.asarray(metric_mean({k: v[None] for k, v in th.items()}, y, self.floor,
                                           self.ref["log_ref"], self.ceiling))
                    if self.mode == "chained" else m[None])
            mp = base + s2 * rng.standard_normal((n_noise, S, P))
        out["metric_pred"] = np.clip(mp, 0.0, 1.0).reshape(-1, P)
        return out

    def predict(self, N=None, D=None, C=None, *, quantiles=(0.05, 0.5, 0.95),
                threshold=None, seed: int = 0, n_noise: int = 4) -> pd.DataFrame:
        """Forecast at (N, D) (numbers or arrays broadcast together; ``C`` instead of one of
        them, with ``C = 6ND``). One row per point: ``N, D, C``; ``loss_mean`` and
        ``loss_{mean,pred}_q*`` (task loss; not for a direct fit), ``metric_mean`` and
        ``metric_{mean,pred}_q*``; with ``threshold`` (a number or one per point) also
        ``p_above`` (P(new run's metric > threshold)) and ``p_above_mean`` (P(law's metric >
        threshold))."""
        qs = _check_quantiles(quantiles)
        given = [k for k, v in (("N", N), ("D", D), ("C", C)) if v is not None]
        if len(given) != 2:
            raise DownstreamFitError(
                f"give two of N, D and C (C = 6ND); got {', '.join(given) or 'none'}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise DownstreamFitError(f"seed must be a non-negative integer, got {seed!r}")
        if isinstance(n_noise, bool) or not isinstance(n_noise, (int, np.integer)) \
                or n_noise < 1:
            raise DownstreamFitError(f"n_noise must be a positive integer, got {n_noise!r}")
        arrs = {k: _positive(k, v) for k, v in (("N", N), ("D", D), ("C", C)) if v is not None}
        try:
            arrs = dict(zip(arrs, np.broadcast_arrays(*arrs.values()), strict=True))
        except ValueError:
            raise DownstreamFitError(
                "N, D and C must broadcast against each other; got shapes "
                + ", ".join(f"{k} {np.shape(v)}" for k, v in arrs.items())) from None
        if "N" not in arrs:
            arrs["N"] = arrs["C"] / (6.0 * arrs["D"])
        if "D" not in arrs:
            arrs["D"] = arrs["C"] / (6.0 * arrs["N"])
        Nf, Df = np.ravel(arrs["N"]), np.ravel(arrs["D"])
        d = self.draws_at(Nf, Df, seed=int(seed), n_noise=int(n_noise))
        cols: dict[str, np.ndarray] = {"N": Nf, "D": Df, "C": 6.0 * Nf * Df}
        for what in ("loss", "metric"):
            if f"{what}_mean" not in d:
                continue
            cols[f"{what}_mean"] = d[f"{what}_mean"].mean(axis=0)
            for kind in ("mean", "pred"):
                q = np.quantile(d[f"{what}_{kind}"], qs, axis=0)
                for j, qq in enumerate(qs):
                    cols[f"{what}_{kind}_{_qlabel(qq)}"] = q[j]
        if threshold is not None:
            try:
                t = np.broadcast_to(np.asarray(threshold, dtype=float), Nf.shape)
            except (TypeError, ValueError):
                raise DownstreamFitError(
                    f"threshold must be a number or one per point, got {threshold!r}") from None
            cols["threshold"] = t
            cols["p_above"] = (d["metric_pred"] > t).mean(axis=0)
            cols["p_above_mean"] = (d["metric_mean"] > t).mean(axis=0)
        return pd.DataFrame(cols)

    def curve(self, loss, quantiles=(0.05, 0.5, 0.95)) -> pd.DataFrame:
        """The step-2 curve: quantiles of the metric mean at task losses ``loss``."""
        qs = _check_quantiles(quantiles)
        loss = _positive("loss", loss).ravel()
        m = self.metric_of_loss(loss)
        q = np.quantile(m, qs, axis=0)
        return pd.DataFrame({"loss": loss, **{f"metric_{_qlabel(x)}": q[j]
                                              for j, x in enumerate(qs)}})

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> None:
        """Write the fit to one ``.npz`` file, atomically."""
        d = self.data
        info = {
            "format": _FORMAT, "mode": self.mode, "floor": self.floor, "ceiling": self.ceiling,
            "ref": self.ref, "noise_floor": self.noise_floor, "config": self.config,
            "meta": self.meta, "task_loss": d.task_loss, "metric": d.metric_name,
            "checkpoints": d.checkpoints, "posterior": list(self.posterior),
            "sample_stats": list(self.sample_stats),
        }
        arrays = {"data_N": d.N, "data_D": d.D, "data_loss": d.loss, "data_metric": d.metric,
                  "data_run": d.run.astype(str), "data_rerun": d.rerun,
                  **{f"post_{k}": v for k, v in self.posterior.items()},
                  **{f"stat_{k}": v for k, v in self.sample_stats.items()}}

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, info=np.array(json.dumps(info)), **arrays)

        atomic_write(path, write)


def load_downstream(path: str | os.PathLike) -> DownstreamFit:
    """Read a fit written by :meth:`DownstreamFit.save`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            info = json.loads(str(z["info"]))
            arr = {k: z[k] for k in z.files if k != "info"}
    except (OSError, ValueError, KeyError) as e:
        raise DownstreamFitError(f"cannot read a downstream fit from {str(path)!r}: {e}") \
            from None
    if info.get("format") != _FORMAT:
        raise DownstreamFitError(f"{str(path)!r} is not a downstream fit file "
                                 f"(format {info.get('format')!r}, expected {_FORMAT!r})")
    data = DownstreamData(N=arr["data_N"], D=arr["data_D"], loss=arr["data_loss"],
                          metric=arr["data_metric"], run=arr["data_run"],
                          rerun=arr["data_rerun"], task_loss=info["task_loss"],
                          metric_name=info["metric"], checkpoints=info["checkpoints"])
    return DownstreamFit(
        mode=info["mode"], data=data, floor=info["floor"], ceiling=info["ceiling"],
        ref=info["ref"], noise_floor=info["noise_floor"],
        posterior={k: arr[f"post_{k}"] for k in info["posterior"]},
        sample_stats={k: arr[f"stat_{k}"] for k in info["sample_stats"]},
        config=info["config"], meta=info["meta"])
