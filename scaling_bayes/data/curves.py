"""Training curves: long-format checkpoints of many runs, with the schedule features computed.

:func:`load_curves` takes a table with one row per checkpoint -- a run id, the model size ``N``,
the optimizer ``step``, the learning rate ``lr`` at that step and the ``loss`` (optionally the
tokens seen ``D``, or ``batch_tokens`` to derive them as ``step * batch_tokens``) -- validates it
and returns :class:`CurveData` with, per checkpoint, the areas ``S1`` and ``S2`` of the
learning-rate schedule up to that step (:func:`scaling_bayes.data.schedules.schedule_features`).

How the schedule between checkpoints is reconstructed
    The ``lr`` column gives the rate at the logged steps only. The rate at every step is taken
    as the linear interpolation over steps between checkpoints; before the first checkpoint it
    ramps linearly from 0 at step 0 (a warmup is assumed: language models are trained with
    one; ``assume_warmup=False`` holds the first logged rate instead). On the OLMo ladder
    (checkpoints every 50-1000 steps of a cosine) the interpolated S1 is within 0.1% of the
    exact one.

The warmup rule (which checkpoints enter the likelihood)
    The first checkpoints sit in the warmup, where loss falls from ~10 nats in a regime no
    scaling law describes. A checkpoint is **kept** when its step is at least
    ``warmup_factor`` (default 2) times the run's warmup length ``W`` (the first logged step
    at which the rate reaches the run's peak: an upper bound of the warmup when checkpoints are
    sparse), and, when ``min_fraction`` > 0, at least that fraction of the run's last step.
    Measured on the OLMo ladder (lr_annealing fitted by least squares to 190M-760M): residuals
    of kept checkpoints have sd 0.004 in log-loss, those before ``2 W`` up to 0.1. Dropped rows stay in :attr:`CurveData.table` with
    ``keep = False`` (they still define the schedule).

Thinning (``thin=k``) keeps every k-th kept checkpoint of each run, always including its last
one; with the correlated likelihood of :mod:`scaling_bayes.model.curves` this costs little
information (the checkpoints of one run are strongly correlated) and time is linear in rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import (
    DataError,
    MissingColumnError,
    NonFiniteError,
    NonPositiveError,
    read_table,
)
from scaling_bayes.data.schedules import DEFAULT_MOMENTUM, schedule_features

__all__ = ["CurveData", "load_curves", "per_step_lr"]


def per_step_lr(steps, lr, warmup: bool = True) -> np.ndarray:
    """The rate at every step ``1..max(steps)`` of one run from its logged ``(step, lr)``
    (linear interpolation; before the first checkpoint a linear warmup from 0, or with
    ``warmup=False`` the first logged rate)."""
    steps, lr = np.asarray(steps, dtype=float), np.asarray(lr, dtype=float)
    start = 0.0 if warmup else lr[0]
    grid = np.arange(1, int(steps.max()) + 1, dtype=float)
    return np.interp(grid, np.concatenate([[0.0], steps]), np.concatenate([[start], lr]))


@dataclass(frozen=True, eq=False)
class CurveData:
    """Validated checkpoints of several runs (see the module docstring).

    Attributes
    ----------
    table
        One row per checkpoint, sorted by run then step: ``run`` (str), ``N``, ``step``, ``D``
        (tokens seen), ``lr``, ``loss``, ``S1``, ``S2``, ``keep`` (enters the likelihood).
    runs
        One row per run, indexed by run id: ``N``, ``peak_lr``, ``warmup`` (steps),
        ``last_step``, ``batch_tokens`` (tokens per step, ``D / step`` at the last checkpoint),
        ``n`` and ``n_kept`` (checkpoints).
    lam, warmup_factor, min_fraction, thin
        The settings the features and the rule used.
    lr_steps
        Per run, the reconstructed rate at every step (what the features were computed from).
    source
        Where the data came from.
    """

    table: pd.DataFrame
    runs: pd.DataFrame
    lam: float
    warmup_factor: float
    min_fraction: float
    thin: int
    lr_steps: dict[str, np.ndarray] = field(repr=False)
    source: str = "<DataFrame>"

    @property
    def kept(self) -> pd.DataFrame:
        """The rows that enter the likelihood."""
        return self.table[self.table["keep"]]

    @property
    def n(self) -> int:
        """Number of checkpoints in the likelihood."""
        return int(self.table["keep"].sum())

    def hash(self) -> str:
        cols = ["run", "N", "step", "lr", "loss"]
        raw = self.table[cols].to_csv(index=False).encode()
        h = hashlib.sha256(raw)
        h.update(repr((self.lam, self.warmup_factor, self.min_fraction, self.thin)).encode())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return (f"<CurveData runs={len(self.runs)} checkpoints={len(self.table)} "
                f"kept={self.n} lam={self.lam} source={self.source}>")


def _column(df: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in df.columns:
        raise MissingColumnError(
            f"column {name!r} ({what}) is not in the curve data; columns are: "
            f"{', '.join(map(str, df.columns))}")
    return df[name]


def _numeric(df: pd.DataFrame, name: str, what: str, positive: bool = True) -> np.ndarray:
    col = _column(df, name, what)
    a = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise NonFiniteError(f"column {name!r} ({what}) has a missing, non-numeric or infinite "
                             f"value in row {int(bad[0])}: {col.iloc[bad[0]]!r}")
    if positive:
        bad = np.flatnonzero(a <= 0)
        if bad.size:
            raise NonPositiveError(f"column {name!r} ({what}) must be > 0; row {int(bad[0])} "
                                   f"has {a[bad[0]]!r}")
    return a


def load_curves(data, *, run: str = "run", loss: str = "loss", step: str = "step",
                lr: str = "lr", N: str = "N", tokens: str | None = "D",
                batch_tokens: str = "batch_tokens", lam: float = DEFAULT_MOMENTUM,
                assume_warmup: bool = True,
                warmup_factor: float = 2.0, min_fraction: float = 0.0,
                thin: int = 1) -> CurveData:
    """Validate long-format checkpoints and compute their schedule features.

    Parameters
    ----------
    data
        DataFrame, CSV path, or a :class:`CurveData` (returned as is).
    run, loss, step, lr, N
        Column names: run id, loss (nats/token), optimizer step (>= 1), learning rate at that
        step (>= 0), model size in parameters (constant within a run).
    tokens, batch_tokens
        Tokens seen at the checkpoint (``tokens``; pass ``None`` to ignore), else derived as
        ``step * batch_tokens``; else tokens are reported as steps.
    lam
        Momentum of the annealing area S2 (default 0.999, Tissue et al.).
    assume_warmup
        Ramp the rate linearly from 0 before the first checkpoint (default), else hold it.
    warmup_factor, min_fraction
        The warmup rule: keep checkpoints with ``step >= warmup_factor * W`` and ``step >=
        min_fraction * last_step`` (module docstring).
    thin
        Keep every ``thin``-th kept checkpoint of each run (and always its last).
    """
    if isinstance(data, CurveData):
        return data
    source = "<DataFrame>"
    if not isinstance(data, pd.DataFrame):
        source = str(data)
        data = read_table(data)
    if len(data) == 0:
        raise DataError("the curve data have no rows")
    if not (isinstance(thin, (int, np.integer)) and thin >= 1):
        raise DataError(f"thin must be a positive integer, got {thin!r}")
    if not (np.isfinite(warmup_factor) and warmup_factor >= 0):
        raise DataError(f"warmup_factor must be >= 0, got {warmup_factor!r}")
    if not (0 <= min_fraction < 1):
        raise DataError(f"min_fraction must be in [0, 1), got {min_fraction!r}")
    df = data.reset_index(drop=True)
    runs_col = _column(df, run, "run id")
    if runs_col.isna().any():
        raise NonFiniteError(f"column {run!r} (run id) is empty in row "
                             f"{int(np.flatnonzero(runs_col.isna())[0])}")
    t = pd.DataFrame({
        "run": runs_col.astype(str).to_numpy(),
        "N": _numeric(df, N, "model size in parameters"),
        "step": _numeric(df, step, "optimizer step"),
        "lr": _numeric(df, lr, "learning rate at the checkpoint", positive=False),
        "loss": _numeric(df, loss, "loss in nats/token"),
    })
    if np.any(t["lr"] < 0):
        i = int(np.flatnonzero(t["lr"] < 0)[0])
        raise NonPositiveError(f"column {lr!r} (learning rate) must be >= 0; row {i} has "
                               f"{t['lr'].iloc[i]!r}")
    if np.any(t["step"] != np.round(t["step"])):
        i = int(np.flatnonzero(t["step"] != np.round(t["step"]))[0])
        raise DataError(f"column {step!r} (optimizer step) must hold whole numbers; row {i} has "
                        f"{t['step'].iloc[i]!r}")
    if tokens is not None and tokens in df.columns:
        t["D"] = _numeric(df, tokens, "tokens seen")
    elif batch_tokens in df.columns:
        t["D"] = t["step"] * _numeric(df, batch_tokens, "tokens per step")
    else:
        t["D"] = t["step"]
    t = t.sort_values(["run", "step"], kind="stable").reset_index(drop=True)
    dup = t.duplicated(["run", "step"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataError(f"run {t['run'].iloc[i]!r} has two checkpoints at step "
                        f"{int(t['step'].iloc[i])}")
    S1 = np.zeros(len(t))
    S2 = np.zeros(len(t))
    keep = np.zeros(len(t), dtype=bool)
    lr_steps, info = {}, []
    for name, idx in t.groupby("run", sort=True).indices.items():
        r = t.iloc[idx]
        if r["N"].nunique() > 1:
            raise DataError(f"run {name!r}: the model size {N!r} changes within the run")
        if r["lr"].max() <= 0:
            raise DataError(f"run {name!r}: the learning rate is 0 at every checkpoint")
        steps = r["step"].to_numpy().astype(int)
        lr_run = per_step_lr(steps, r["lr"].to_numpy(), assume_warmup)
        s1, s2 = schedule_features(lr_run, lam)
        S1[idx], S2[idx] = s1[steps - 1], s2[steps - 1]
        peak = lr_run.max()
        lr_log = r["lr"].to_numpy()
        warm = int(steps[np.argmax(lr_log >= lr_log.max() * (1 - 1e-6))])
        k = (steps >= warmup_factor * warm) & (steps >= min_fraction * steps.max())
        if thin > 1 and k.any():
            pos = np.flatnonzero(k)
            sel = pos[::-1][::thin]  # counted back from the last kept checkpoint
            k = np.zeros_like(k)
            k[sel] = True
        keep[idx] = k
        lr_steps[name] = lr_run
        info.append({"run": name, "N": float(r["N"].iloc[0]), "peak_lr": float(peak),
                     "warmup": warm, "last_step": int(steps.max()),
                     "batch_tokens": float(r["D"].iloc[-1] / r["step"].iloc[-1]),
                     "n": len(steps), "n_kept": int(k.sum())})
    t["S1"], t["S2"], t["keep"] = S1, S2, keep
    runs = pd.DataFrame(info).set_index("run")
    if not keep.any():
        raise DataError("no checkpoint is past the warmup rule (step >= "
                        f"{warmup_factor} x warmup); lower warmup_factor")
    return CurveData(table=t, runs=runs, lam=float(lam), warmup_factor=float(warmup_factor),
                     min_fraction=float(min_fraction), thin=int(thin), lr_steps=lr_steps,
                     source=source)
