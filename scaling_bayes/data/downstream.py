"""Downstream-task observations: the task-loss and metric columns of a ladder, validated.

:func:`downstream_table` turns a frame of runs (one row per final checkpoint, e.g.
``load_dataset("olmo_ladder")``, or every checkpoint, ``load_dataset("olmo_ladder_curves")``,
with the last ``k`` checkpoints of each run averaged) into a :class:`DownstreamData`: ``N``,
``D``, the task loss (e.g. bits per byte of the correct answer), the metric (accuracy in [0, 1]),
the run names and which rows are reruns. :func:`seed_noise` estimates the seed noise of the task
loss and the metric from the repeated runs (the ladder's ``rerun`` column).

:data:`CHANCE` is the random-guess accuracy of the tasks of the OLMo ladder (Bhagia et al. 2024),
by the suffix of the metric column; :func:`chance_level` looks it up.

Every problem raises a :class:`~scaling_bayes.data.observations.DataError` naming the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import (
    DataError,
    MissingColumnError,
    NonFiniteError,
    NonNumericError,
    NonPositiveError,
    TooFewRowsError,
)

__all__ = [
    "CHANCE", "DownstreamData", "DownstreamDataError", "chance_level", "downstream_table",
    "seed_noise",
]

#: Random-guess accuracy by task (the suffix of ``acc_<task>``), for the ten tasks of the OLMo
#: ladder. Multiple choice with k options: 1/k. MMLU, ARC-Challenge, ARC-Easy, HellaSwag and
#: OpenBookQA have 4 options (a few ARC questions have 3 or 5; 0.25 is the mean within 0.01);
#: CommonsenseQA 5 (0.2); SocialIQA 3 (1/3); PIQA and Winogrande 2 (0.5); BoolQ is yes/no (0.5;
#: its validation set is 62% "yes", so always answering "yes" scores 0.62, but a model that
#: guesses scores 0.5, and the ladder's small runs sit there).
CHANCE: dict[str, float] = {
    "mmlu_avg_test": 0.25,
    "hellaswag_val": 0.25,
    "arc_challenge_test": 0.25,
    "arc_easy_test": 0.25,
    "openbookqa_test": 0.25,
    "csqa_val": 0.2,
    "socialiqa_val": 1.0 / 3.0,
    "piqa_val": 0.5,
    "winogrande_val": 0.5,
    "boolq_val": 0.5,
}


class DownstreamDataError(DataError):
    """The task-loss or metric columns, the chance level or the checkpoint choice are unusable."""


def chance_level(metric: str) -> float | None:
    """Random-guess accuracy of the task of column ``metric`` (``acc_<task>`` or ``<task>``),
    or ``None`` if the task is not in :data:`CHANCE`."""
    name = metric[4:] if metric.startswith("acc_") else metric
    return CHANCE.get(name)


@dataclass(frozen=True)
class DownstreamData:
    """Validated runs for a downstream fit (numpy arrays of one length ``n``)."""

    N: np.ndarray
    D: np.ndarray
    loss: np.ndarray  # the task loss (positive)
    metric: np.ndarray  # the metric, in [0, 1]
    run: np.ndarray  # run names (str)
    rerun: np.ndarray  # bool: a repeated run
    task_loss: str
    metric_name: str
    checkpoints: int | str = "final"
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.N.size)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"N": self.N, "D": self.D, "C": 6.0 * self.N * self.D,
                             self.task_loss: self.loss, self.metric_name: self.metric,
                             "run": self.run, "rerun": self.rerun})


def _numeric(df: pd.DataFrame, col: str, *, what: str, positive: bool = False,
             unit: bool = False) -> np.ndarray:
    if col not in df.columns:
        shown = [c for c in df.columns if str(c).startswith(("bpb_", "acc_", "loss"))][:12]
        raise MissingColumnError(
            f"{what} column {col!r} is not in the data; columns that could be meant: "
            f"{', '.join(map(str, shown)) or '(none)'}")
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raw = df[col].iloc[bad[0]]
        cls = NonNumericError if isinstance(raw, str) and raw.strip() else NonFiniteError
        raise cls(f"{what} column {col!r} has non-numeric or missing values in "
                  f"{bad.size} rows (first: row {int(bad[0])}, value {raw!r})")
    if positive and (v <= 0).any():
        i = int(np.flatnonzero(v <= 0)[0])
        raise NonPositiveError(f"{what} column {col!r} must be positive; row {i} is {v[i]!r}")
    if unit and ((v < 0) | (v > 1)).any():
        i = int(np.flatnonzero((v < 0) | (v > 1))[0])
        raise DownstreamDataError(
            f"{what} column {col!r} must be a fraction in [0, 1] (accuracy, not percent); "
            f"row {i} is {v[i]!r}")
    return v


def _average_last(df: pd.DataFrame, k: int, cols: list[str]) -> pd.DataFrame:
    """One row per run: N and D of the run's last checkpoint, ``cols`` averaged over its last
    ``k`` checkpoints (by ``step``)."""
    for c in ("run", "step"):
        if c not in df.columns:
            raise DownstreamDataError(
                f"checkpoints={k} averages the last checkpoints of each run and needs columns "
                f"'run' and 'step' (e.g. load_dataset('olmo_ladder_curves')); {c!r} is missing")
    df = df.sort_values(["run", "step"], kind="stable")
    tail = df.groupby("run", sort=False).tail(k)
    out = tail.groupby("run", sort=False).agg(
        {**{c: "mean" for c in cols}, "N": "last", "D": "last", "step": "last",
         **({"rerun": "last"} if "rerun" in df.columns else {})})
    out["n_checkpoints"] = tail.groupby("run", sort=False).size()
    return out.reset_index()


def downstream_table(data, task_loss: str = "bpb_mmlu_avg_test",
                     metric: str = "acc_mmlu_avg_test", *, checkpoints: int | str = "final",
                     check_design: bool = True) -> DownstreamData:
    """Validate a frame of runs for :func:`scaling_bayes.fit_downstream`.

    Parameters
    ----------
    data
        A pandas DataFrame or a CSV path with columns ``N``, ``D`` (or ``C``, with ``D = C/6N``),
        ``task_loss`` and ``metric``; optional ``run`` (run names) and ``rerun`` (repeated runs,
        used for the seed-noise floor).
    checkpoints
        ``"final"`` (default): every row is a run's final checkpoint (as in
        ``load_dataset("olmo_ladder")``); if the data hold several rows per run (a ``run`` and
        a ``step`` column) the last one is used. An integer ``k``: average the task loss and
        the metric over the last ``k`` checkpoints of each run (the ladder paper's smoothing;
        needs ``run`` and ``step``, e.g. ``load_dataset("olmo_ladder_curves")``).
    check_design
        Require at least 8 runs of two or more model sizes and token counts (what a fit needs;
        default). ``False`` for runs that are only predicted, e.g. held-out ones.
    """
    if isinstance(data, DownstreamData):
        return data
    if not isinstance(data, pd.DataFrame):
        try:
            data = pd.read_csv(data)
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read the downstream data {data!r}: {e}") from None
    df = data.reset_index(drop=True)
    if len(df) == 0:
        raise TooFewRowsError("the downstream data have no rows")
    if "D" not in df.columns and "C" in df.columns and "N" in df.columns:
        df = df.assign(D=pd.to_numeric(df["C"], errors="coerce")
                       / (6.0 * pd.to_numeric(df["N"], errors="coerce")))
    for c in ("N", "D"):
        _numeric(df, c, what="input", positive=True)
    _numeric(df, task_loss, what="task-loss", positive=True)
    _numeric(df, metric, what="metric", unit=True)
    if task_loss == metric:
        raise DownstreamDataError(f"task_loss and metric are the same column {metric!r}")
    several = "run" in df.columns and df["run"].duplicated().any()
    if isinstance(checkpoints, str):
        if checkpoints != "final":
            raise DownstreamDataError(
                f"checkpoints must be 'final' or a positive integer, got {checkpoints!r}")
        if several:
            if "step" not in df.columns:
                raise DownstreamDataError(
                    "several rows share a run name but there is no 'step' column to find the "
                    "final checkpoint of each run")
            df = _average_last(df, 1, [task_loss, metric])
    else:
        if isinstance(checkpoints, bool) or not isinstance(checkpoints, (int, np.integer)) \
                or checkpoints < 1:
            raise DownstreamDataError(
                f"checkpoints must be 'final' or a positive integer, got {checkpoints!r}")
        df = _average_last(df, int(checkpoints), [task_loss, metric])
    run = (df["run"].astype(str).to_numpy() if "run" in df.columns
           else np.array([f"row{i}" for i in range(len(df))]))
    rerun = (df["rerun"].astype(bool).to_numpy() if "rerun" in df.columns
             else np.zeros(len(df), bool))
    N = _numeric(df, "N", what="input", positive=True)
    D = _numeric(df, "D", what="input", positive=True)
    spread = min(np.unique(np.round(np.log(N), 6)).size, np.unique(np.round(np.log(D), 6)).size)
    if check_design and spread < 2:
        raise DownstreamDataError(
            "the runs need at least two model sizes N and two token counts D")
    if check_design and len(df) < 8:
        raise TooFewRowsError(
            f"a downstream fit needs at least 8 runs (two steps of 5 and 3-4 parameters); "
            f"got {len(df)}")
    return DownstreamData(N=N, D=D, loss=_numeric(df, task_loss, what="task-loss"),
                          metric=_numeric(df, metric, what="metric"), run=run, rerun=rerun,
                          task_loss=task_loss, metric_name=metric,
                          checkpoints=checkpoints if isinstance(checkpoints, str)
                          else int(checkpoints))


def seed_noise(data: DownstreamData) -> dict[str, float]:
    """Seed noise of the task loss (sd of log loss) and of the metric (sd, points of fraction)
    from the repeated runs: each rerun is paired with the run of the same (N, D) that is not a
    rerun, and ``sd = sqrt(mean(diff^2) / 2)``. ``pairs`` counts the pairs (0: no estimate, the
    sds are 0)."""
    pairs = []
    for i in np.flatnonzero(data.rerun):
        same = np.flatnonzero(~data.rerun & np.isclose(data.N, data.N[i], rtol=1e-6)
                              & np.isclose(data.D, data.D[i], rtol=1e-6))
        if same.size:
            pairs.append((same[0], i))
    if not pairs:
        return {"loss": 0.0, "metric": 0.0, "pairs": 0}
    a, b = np.array(pairs).T
    dl = np.log(data.loss[a]) - np.log(data.loss[b])
    dm = data.metric[a] - data.metric[b]
    return {"loss": float(np.sqrt(np.mean(dl**2) / 2)),
            "metric": float(np.sqrt(np.mean(dm**2) / 2)), "pairs": len(pairs)}
