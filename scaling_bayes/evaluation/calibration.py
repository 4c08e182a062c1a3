"""Calibration benchmark: are forecasts of larger runs honest, over every bundled real data set?

:func:`calibrate` takes each benchmark set (a bundled data set, or one group of it: a Marin data
mix, one xLSTM study, ...), splits it by several **cutoffs**, fits the law on the rows below the
cutoff with :func:`scaling_bayes.fit`, forecasts the rows above with
:func:`scaling_bayes.predict` -- the calls a user makes, so whatever uncertainty ``predict``
carries is what gets scored -- and scores every held-out run:

``params``
    Hold out the largest ~20% of the distinct model sizes (``holdout_frac``; at least one).
``compute``
    The same in training compute C (skipped for data without C).
``next_size``
    Fit on the smallest ``k`` sizes, predict size ``k + 1`` (two values of ``k``:
    ``next_size_fracs`` of the number of sizes, at least ``min_train_sizes``; the label says
    which, e.g. ``next_size(k=11)``).

"Distinct sizes" are values of N (or C) merged when within ``size_rtol`` (5%) of the smallest
value of their group, so figure-extracted or derived sizes (Epoch's Chinchilla points, Llama 3's
N = C/6D) are grouped into the sizes that were trained.

Scores per held-out point come from :func:`scaling_bayes.evaluation.backtest.point_scores` (the
backtest's scoring): whether the loss lies inside the central 50/80/90/95% predictive intervals,
the PIT value (predictive probability of a loss below the observed one), CRPS of log-loss,
absolute relative error of the point forecast (posterior median of the law's mean loss) and the
90% interval width relative to the loss. The predictive distribution of each point is read off
``predict``'s quantiles on a grid of 199 levels (0.005 ... 0.995, :data:`GRID`); PIT and CRPS
use that grid as quasi-draws (CRPS within ~1% of the exact value for a normal predictive).

Tables (:class:`CalibrationResult`):

* ``table``: one row per (variant, set, cutoff);
* ``pooled``: one row per variant; ``cover50 ... cover95``, ``crps``, ``median_are``,
  ``max_are`` and ``width90`` weight **every held-out point equally**, ``cover*_ds`` and
  ``crps_ds`` are the **mean over data sets** of each data set's own value (each data set
  weighs the same, whatever its number of held-out points; a data set pools its groups and
  cutoffs), ``min_cover90_ds`` / ``worst_ds`` the worst data set at 90%;
* ``points``: every held-out point with its predictive quantiles and scores.

Structural options are compared as **variants**: ``variants={"default": {}, "x": {...}}`` maps
names to keyword arguments of :func:`scaling_bayes.fit` (on top of ``fit_kwargs``), or to a
callable ``forecast(train, test, *, law, seed, quantiles, chains, warmup, draws)`` returning a
DataFrame with ``predict``'s columns (``mean_q50`` and ``pred_<q>`` for every level of
``quantiles``), for methods that are not options of ``sb.fit`` (stacking, error-growth models).
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes._core import io
from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes.data.datasets import list_datasets, load_dataset
from scaling_bayes.data.observations import ScalingData, load_data
from scaling_bayes.decisions.forecast import predict
from scaling_bayes.evaluation.backtest import _BOUNDS, LEVELS, point_scores
from scaling_bayes.inference.fit import fit as fit_law
from scaling_bayes.laws.base import get_law

__all__ = [
    "CUTOFFS",
    "DEFAULT_SETS",
    "GRID",
    "BenchmarkSet",
    "CalibrationError",
    "CalibrationResult",
    "benchmark_sets",
    "calibrate",
    "load_calibration",
    "pool",
]

#: Cutoff kinds, in the order they are run.
CUTOFFS = ("params", "compute", "next_size")
#: Predictive quantile levels read from :func:`~scaling_bayes.decisions.forecast.predict`.
GRID = tuple(round(i / 200, 3) for i in range(1, 200))
#: Predictive quantiles kept per held-out point in ``points`` (``pred_<label>`` columns).
POINT_QUANTILES = {"q2.5": 0.025, "q5": 0.05, "q10": 0.1, "q25": 0.25, "q50": 0.5,
                   "q75": 0.75, "q90": 0.9, "q95": 0.95, "q97.5": 0.975}
_FORMAT = "scaling_bayes.calibration/1"


class CalibrationError(ScalingBayesError):
    """Bad input to :func:`calibrate`: an unknown data set, cutoff or variant."""


# ============================================================================ benchmark sets
@dataclass(frozen=True)
class BenchmarkSet:
    """One benchmark entry: bundled data set ``dataset`` (rows flagged as excluded by the source
    dropped), restricted to the rows where every ``where`` column equals its value, fitted with
    ``law`` (None: :func:`calibrate`'s ``law``)."""

    name: str
    dataset: str
    where: tuple[tuple[str, Any], ...] = ()
    law: str | None = None
    note: str = ""

    def frame(self) -> pd.DataFrame:
        df = load_dataset(self.dataset, drop_excluded=True)
        for col, value in self.where:
            df = df[df[col] == value]
        return df.reset_index(drop=True)


def _mixes() -> list[BenchmarkSet]:
    return [BenchmarkSet(f"marin2026:{m}", "marin2026", (("train_dataset", m),),
                         note=f"Marin IsoFLOP runs, data mix {m}")
            for m in ("comma", "dclm", "nemotron")]


#: The default benchmark: every bundled real data set with final losses of trained runs.
#: Groups that must not be fitted together (N conventions, architectures, data mixes) are
#: separate sets. ``olmo_ladder`` and ``moe_activesl`` are added by :func:`benchmark_sets`
#: when the package bundles them.
DEFAULT_SETS: tuple[BenchmarkSet, ...] = (
    BenchmarkSet("chinchilla", "chinchilla", note="Epoch's 240 points"),
    BenchmarkSet("porian2024", "porian2024",
                 (("dataset", "refinedweb"), ("setting", "optimizer_tuning_no_decay")),
                 note="RefinedWeb, the paper's final setting (tuned optimizer, no decay)"),
    *_mixes(),
    BenchmarkSet("gemstones2025", "gemstones2025", (("phase", "after_cooldown"),),
                 note="cooled-down runs"),
    BenchmarkSet("muennighoff2023", "muennighoff2023", law="data_constrained",
                 note="repeated data: law data_constrained"),
    BenchmarkSet("xlstm2025:transformer", "xlstm2025",
                 (("dataset_file", "isoflop_llama_ctx8192"),),
                 note="Llama-style Transformer, ctx 8192"),
    BenchmarkSet("xlstm2025:mlstm", "xlstm2025", (("dataset_file", "isoflop_mlstm_ctx16384"),),
                 note="mLSTM, ctx 16384"),
    BenchmarkSet("llama3_digitized", "llama3_digitized", note="N = C/(6D) derived"),
)

#: Bundled data sets added to the default benchmark when present (by name), with the law they
#: need (None: ``calibrate``'s ``law``).
OPTIONAL_SETS = {"olmo_ladder": None, "moe_activesl": "routed_moe"}


def benchmark_sets() -> tuple[list[BenchmarkSet], list[str]]:
    """``(sets, notes)``: :data:`DEFAULT_SETS` plus the optional data sets that are bundled,
    and one note per optional data set that is not."""
    names = list(list_datasets())
    sets, notes = list(DEFAULT_SETS), []
    for prefix, law in OPTIONAL_SETS.items():
        found = [n for n in names if n == prefix]
        if not found:
            notes.append(f"{prefix}: not bundled in this version of the package; skipped")
        for n in found:
            sets.append(BenchmarkSet(n, n, law=law))
    return sets, notes


def _resolve_sets(datasets) -> tuple[list[tuple[BenchmarkSet, Any]], list[str]]:
    """``[(BenchmarkSet, data or None)]`` for ``calibrate``'s ``datasets`` argument."""
    defaults, notes = benchmark_sets()
    if datasets is None:
        return [(s, None) for s in defaults], notes
    if isinstance(datasets, Mapping):  # your own data: name -> DataFrame / CSV / ScalingData
        return [(BenchmarkSet(str(k), str(k)), v) for k, v in datasets.items()], []
    if isinstance(datasets, str):
        datasets = [datasets]
    by_name = {s.name: s for s in defaults}
    bundled = list(list_datasets())
    out: list[tuple[BenchmarkSet, Any]] = []
    for name in datasets:
        if name in by_name:
            picked = [by_name[name]]
        elif any(s.dataset == name for s in defaults):  # "marin2026": all its mixes
            picked = [s for s in defaults if s.dataset == name]
        elif name in bundled:
            picked = [BenchmarkSet(name, name)]
        else:
            choices = sorted({*by_name, *(s.dataset for s in defaults), *bundled})
            raise CalibrationError(
                f"calibrate: unknown data set {name!r}; choose from {', '.join(choices)}")
        out += [(s, None) for s in picked if all(s.name != o.name for o, _ in out)]
    return out, []


# ============================================================================ cutoffs
def size_levels(values: np.ndarray, rtol: float = 0.05) -> np.ndarray:
    """Level (0, 1, ...) of every value: sorted distinct values are merged while within
    ``rtol`` of the smallest value of their level."""
    u = np.unique(np.asarray(values, dtype=float))
    level_of, lev, start = {}, -1, -np.inf
    for v in u:
        if v > start * (1 + rtol):
            lev, start = lev + 1, v
        level_of[v] = lev
    return np.array([level_of[v] for v in np.asarray(values, dtype=float)])


@dataclass(frozen=True)
class _Split:
    cutoff: str  # label: params, compute, next_size(k=K)
    rule: str
    holdout: np.ndarray  # bool per row
    train: np.ndarray  # bool per row


def _splits(sd: ScalingData, cutoffs, *, holdout_frac: float, next_size_fracs,
            min_train_sizes: int, size_rtol: float) -> tuple[list[_Split], list[str]]:
    out, notes = [], []
    for kind in cutoffs:
        var = "C" if kind == "compute" else "N"
        vals = getattr(sd, var)
        if vals is None:
            notes.append(f"{kind}: the data have no {var}; cutoff skipped")
            continue
        lev = size_levels(vals, size_rtol)
        n = int(lev.max()) + 1
        what = "compute levels" if var == "C" else "sizes"
        if kind in ("params", "compute"):
            h = max(1, int(round(holdout_frac * n)))
            if n - h < 3:
                notes.append(f"{kind}: {n} distinct {what}; too few to hold out the largest "
                             f"{h} and train on >= 3; cutoff skipped")
                continue
            hold = lev >= n - h
            cut = float(np.min(vals[hold]))
            out.append(_Split(kind, f"{var} >= {cut:.3g} (largest {h} of {n} {what})",
                              hold, ~hold))
        else:
            ks = sorted({max(min_train_sizes, math.ceil(f * n)) for f in next_size_fracs})
            ks = [k for k in ks if k < n]
            if not ks:
                notes.append(f"next_size: {n} distinct sizes; needs more than "
                             f"{min_train_sizes} to train on {min_train_sizes} and predict the "
                             "next; cutoff skipped")
                continue
            for k in ks:
                hold, train = lev == k, lev < k
                if any(np.array_equal(hold, o.holdout) and np.array_equal(train, o.train)
                       for o in out):
                    notes.append(f"next_size(k={k}): the same split as an earlier cutoff; "
                                 "not repeated")
                    continue
                out.append(_Split(
                    f"next_size(k={k})",
                    f"train on the smallest {k} of {n} sizes (N <= "
                    f"{np.max(vals[train]):.3g}), predict the next (N = "
                    f"{np.median(vals[hold]):.3g})", hold, train))
    return out, notes


def _check_train(train: ScalingData, law) -> str | None:
    """Why ``law`` cannot be fitted to ``train`` (None: it can)."""
    if train.n < law.n_params + 1:
        return f"{train.n} training rows; law {law.name!r} needs at least {law.n_params + 1}"
    for v in law.inputs:
        a = train.get(v)
        if np.all(a == a[0]):
            return f"every training row has {v} = {a[0]:.3g}"
    return None


# ============================================================================ forecasts
def _labels(qs) -> list[str]:
    out = []
    for q in qs:
        lab = str(round(100 * float(q), 1))
        out.append("q" + (lab[:-2] if lab.endswith(".0") else lab))
    return out


_GRID_LABELS = _labels(GRID)


def _fit_forecast(spec, train: ScalingData, test: ScalingData, law, *, seed, sampler,
                  fit_kwargs) -> tuple[pd.DataFrame, dict]:
    """Predictive table at the test rows (``predict``'s columns at :data:`GRID`) and info."""
    inputs = {k: test.get(k) for k in law.inputs}
    info = {"divergences": pd.NA, "note": ""}
    if callable(spec):
        p = spec(train, test, law=law.name, seed=seed, quantiles=GRID, **sampler)
        return pd.DataFrame(p).reset_index(drop=True), info
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = fit_law(train, law=law, seed=seed, warn=False, **sampler,
                    **{**fit_kwargs, **spec})
        p = predict(f, **inputs, quantiles=GRID, seed=seed)
    msgs = list(dict.fromkeys(str(w.message).split("\n")[0] for w in caught
                              if not issubclass(w.category, (DeprecationWarning, FutureWarning))))
    info["divergences"] = int(f.divergences)
    info["note"] = "; ".join([*f.check(), *msgs])
    return p, info


def _points(p: pd.DataFrame, test: ScalingData, law) -> tuple[dict, dict]:
    """``(columns, scores)`` of the held-out points from a predictive table."""
    missing = [f"pred_{lab}" for lab in _GRID_LABELS if f"pred_{lab}" not in p]
    if missing or "mean_q50" not in p:
        raise CalibrationError(
            "calibrate: a forecast must give mean_q50 and pred_<q> at every level of GRID; "
            f"missing {', '.join((missing + ['mean_q50'])[:3])}")
    Q = np.stack([p[f"pred_{lab}"].to_numpy(float) for lab in _GRID_LABELS])  # (M, P)
    Q = np.sort(Q, axis=0)
    obs = test.loss
    point = p["mean_q50"].to_numpy(float)
    q = {lab: Q[_GRID_LABELS.index(lab)] for lab in POINT_QUANTILES}
    scores = point_scores(obs, point, q, np.log(Q))
    cols = {"N": test.N, "D": test.D, "C": test.C}
    cols = {k: (v if v is not None else np.full(test.n, np.nan)) for k, v in cols.items()}
    for k in law.inputs:
        if k not in cols:
            cols[k] = test.get(k)
    cols["loss"] = obs
    cols["median"] = point
    for lab in POINT_QUANTILES:
        cols[f"pred_{lab}"] = q[lab]
    return cols, scores


# ============================================================================ result
_SCORE_COLS = [f"in{int(lev * 100)}" for lev in LEVELS]


def _summarize(pts: pd.DataFrame) -> dict:
    r = {"n_holdout": len(pts)}
    for lev in LEVELS:
        r[f"cover{int(lev * 100)}"] = float(pts[f"in{int(lev * 100)}"].mean())
    r["crps"] = float(pts["crps"].mean())
    r["median_are"] = float(pts["are"].median())
    r["max_are"] = float(pts["are"].max())
    r["width90"] = float(pts["width90"].median())
    r["mean_log_error"] = float(pts["log_error"].mean())
    return r


def pool(points: pd.DataFrame) -> pd.DataFrame:
    """One row per variant from the held-out points: scores over all points weighted equally,
    and ``*_ds`` columns, the mean over data sets of each data set's own score."""
    rows = []
    for variant, pv in points.groupby("variant", sort=False):
        r = {"variant": variant, "n_sets": pv["set"].nunique(),
             "n_datasets": pv["dataset"].nunique(),
             "n_splits": pv.groupby(["set", "cutoff"]).ngroups}
        r.update(_summarize(pv))
        per_ds = pv.groupby("dataset", sort=False)
        for lev in LEVELS:
            c = f"in{int(lev * 100)}"
            r[f"cover{int(lev * 100)}_ds"] = float(per_ds[c].mean().mean())
        r["crps_ds"] = float(per_ds["crps"].mean().mean())
        c90 = per_ds["in90"].mean()
        r["min_cover90_ds"] = float(c90.min())
        r["worst_ds"] = str(c90.idxmin())
        rows.append(r)
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    table
        One row per (variant, set, cutoff): ``variant``, ``set`` (benchmark set), ``dataset``
        (bundled data set), ``cutoff`` (``params``, ``compute``, ``next_size(k=K)``), ``rule``
        (in words), ``law``, ``n_train``, ``n_holdout``, ``cover50 ... cover95`` (fraction of
        held-out losses inside the central predictive intervals), ``crps`` (mean CRPS of
        log-loss), ``median_are``, ``max_are`` (absolute relative error of the point forecast),
        ``width90`` (median 90% interval width / loss), ``mean_log_error`` (mean log(forecast /
        observed); > 0: over-predicts the loss), ``divergences``, ``seconds`` (fit and
        forecast), ``note`` (diagnostics and warnings).
    pooled
        One row per variant, see :func:`pool`: point-weighted columns and ``*_ds`` columns
        (mean over data sets).
    points
        Every held-out point: ``variant``, ``set``, ``dataset``, ``cutoff``, ``law``, ``N``,
        ``D``, ``C`` (NaN where absent) and the law's other inputs, ``loss`` (observed),
        ``median`` (point forecast), ``pred_q2.5 ... pred_q97.5`` (predictive quantiles),
        ``pit``, ``crps``, ``in50 ... in95`` (1.0 inside), ``are``, ``rel_error``,
        ``log_error``, ``width90``.
    settings
        The arguments of the run (JSON-serializable); ``notes``: skipped sets and cutoffs.
    """

    table: pd.DataFrame
    pooled: pd.DataFrame
    points: pd.DataFrame
    settings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def save(self, path) -> Path:
        """Write ``table.csv``, ``pooled.csv``, ``points.csv`` and ``calibration.json``
        (settings, notes, column types) into directory ``path``, each file atomically;
        :func:`load_calibration` reads it back exactly."""
        out = Path(path)
        if out.exists() and not out.is_dir():
            raise CalibrationError(f"calibration: {out} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        meta = {"format": _FORMAT, "settings": self.settings, "notes": list(self.notes),
                "dtypes": {}}
        for name in ("table", "pooled", "points"):
            df = getattr(self, name)
            meta["dtypes"][name] = {str(c): str(t) for c, t in df.dtypes.items()}
            io.atomic_write(out / f"{name}.csv", lambda tmp, df=df: df.to_csv(tmp, index=False))
        io.atomic_write(out / "calibration.json",
                        lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1, default=str)))
        return out

    @classmethod
    def load(cls, path) -> CalibrationResult:
        """Read a directory written by :meth:`save`."""
        return load_calibration(path)

    def plot(self, **kwargs):
        """The calibration figure, :func:`scaling_bayes.plots.calibration.plot_calibration`
        (looked up at call time: evaluation does not depend on the plots layer)."""
        plots = importlib.import_module("scaling_bayes.plots.calibration")
        return plots.plot_calibration(self, **kwargs)

    def markdown(self, variant: str | None = None) -> str:
        """The per-set table and the pooled rows as Markdown."""
        t = self.table if variant is None else self.table[self.table["variant"] == variant]
        cols = ["variant", "set", "cutoff", "law", "n_train", "n_holdout", "cover50", "cover80",
                "cover90", "cover95", "crps", "median_are", "max_are", "width90"]
        pc = ["variant", "n_datasets", "n_splits", "n_holdout", "cover50", "cover80", "cover90",
              "cover95", "cover50_ds", "cover80_ds", "cover90_ds", "cover95_ds", "crps",
              "crps_ds", "median_are", "max_are", "width90", "min_cover90_ds", "worst_ds"]
        p = self.pooled if variant is None else self.pooled[self.pooled["variant"] == variant]
        return _md(t[cols]) + "\n\n" + _md(p[pc])


def _md(df: pd.DataFrame) -> str:
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


#: pandas < 3 parses floats fast but not exactly unless told; pandas 3 is exact by default (and
#: deprecates the argument).
_PRECISE = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def load_calibration(path) -> CalibrationResult:
    """A :class:`CalibrationResult` from a directory written by :meth:`CalibrationResult.save`."""
    d = Path(path)
    meta_path = d / "calibration.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"not a calibration result (no calibration.json): {d}")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != _FORMAT:
        raise CalibrationError(f"{meta_path}: unknown format {meta.get('format')!r}")
    frames = {}
    for name, dtypes in meta["dtypes"].items():
        df = pd.read_csv(d / f"{name}.csv", **_PRECISE, keep_default_na=False,
                         na_values={c: ["", "NaN", "nan", "<NA>"] for c, t in dtypes.items()
                                    if t not in ("object", "str", "string")},
                         dtype={c: str for c, t in dtypes.items()
                                if t in ("object", "str", "string")})
        for c, t in dtypes.items():
            if t not in ("object", "str", "string"):
                df[c] = df[c].astype(t)
        frames[name] = df[list(dtypes)]
    return CalibrationResult(frames["table"], frames["pooled"], frames["points"],
                             settings=meta.get("settings", {}), notes=meta.get("notes", []))


# ============================================================================ calibrate
def _check_cutoffs(cutoffs) -> tuple[str, ...]:
    cutoffs = (cutoffs,) if isinstance(cutoffs, str) else tuple(cutoffs)
    if not cutoffs:
        raise CalibrationError(f"calibrate: give at least one cutoff of {', '.join(CUTOFFS)}")
    bad = [c for c in cutoffs if c not in CUTOFFS]
    if bad:
        raise CalibrationError(
            f"calibrate: unknown cutoff {bad[0]!r}; choose from {', '.join(CUTOFFS)}")
    return tuple(dict.fromkeys(cutoffs))


def _check_levels(levels) -> None:
    bad = [lev for lev in levels if lev not in _BOUNDS]
    if bad:
        raise CalibrationError(
            f"calibrate: levels must be among {', '.join(map(str, LEVELS))}, got {bad[0]!r}")


def calibrate(
    datasets: Sequence[str] | Mapping[str, Any] | str | None = None,
    *,
    law: str = "chinchilla",
    laws: Mapping[str, str] | None = None,
    cutoffs: Sequence[str] = CUTOFFS,
    fit_kwargs: Mapping[str, Any] | None = None,
    variants: Mapping[str, Mapping[str, Any] | Callable] | None = None,
    levels: Sequence[float] = LEVELS,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
    holdout_frac: float = 0.2,
    next_size_fracs: Sequence[float] = (0.5, 0.75),
    min_train_sizes: int = 4,
    size_rtol: float = 0.05,
    progress: bool | Callable[[str], None] = False,
) -> CalibrationResult:
    """Fit below each cutoff, forecast above it, and score the held-out runs of every data set.

    Parameters
    ----------
    datasets
        None: the default benchmark (:func:`benchmark_sets`). Names: benchmark sets
        (``"marin2026:dclm"``), bundled data sets (``"marin2026"``: all its sets; any other
        bundled name: the whole data set), or a mapping ``{name: DataFrame | CSV path |
        ScalingData}`` of your own data.
    law, laws
        The law of every set without its own (:attr:`BenchmarkSet.law`: ``data_constrained``
        for Datablations, ``routed_moe`` for MoE data), and overrides by set or data set name.
    cutoffs
        Any of :data:`CUTOFFS` (module docstring).
    fit_kwargs, variants
        Keyword arguments of :func:`scaling_bayes.fit` for every fit, and named variants to
        compare (module docstring; default one variant, ``"default"``).
    levels
        Central interval levels reported (a subset of 0.5, 0.8, 0.9, 0.95; all are scored).
    seed, chains, warmup, draws
        NUTS settings of every fit (4 x 500 + 500 warmup, as :func:`backtest`: each set is
        fitted 2-4 times per variant; the default benchmark, 43 fits, took 9 min on 2 cores
        from an empty compile cache).
    holdout_frac, next_size_fracs, min_train_sizes, size_rtol
        The cutoffs' parameters (module docstring).
    progress
        True: one line per fit on stderr; or a callable taking that line.

    Raises :class:`CalibrationError` for an unknown data set, cutoff or variant spec before
    anything is fitted. A split that cannot be fitted (too few training rows) is skipped with a
    note (``result.notes``).
    """
    cutoffs = _check_cutoffs(cutoffs)
    _check_levels(levels)
    if variants is None:
        variants = {"default": {}}
    if not isinstance(variants, Mapping) or not variants:
        raise CalibrationError("calibrate: variants must be a non-empty dict name -> fit "
                               "keyword arguments (or a forecast callable)")
    for name, spec in variants.items():
        if not (callable(spec) or isinstance(spec, Mapping)):
            raise CalibrationError(f"calibrate: variant {name!r} must be a dict of sb.fit "
                                   f"keyword arguments or a callable, got {type(spec).__name__}")
    base_kwargs = dict(fit_kwargs or {})
    laws = dict(laws or {})
    sets, notes = _resolve_sets(datasets)
    for name in laws:
        get_law(laws[name])
    get_law(law)
    sampler = {"chains": chains, "warmup": warmup, "draws": draws}

    if progress is True:
        def say(msg):
            print(msg, file=sys.stderr, flush=True)
    elif callable(progress):
        say = progress
    else:
        def say(msg):
            return None

    prepared = []
    for bs, data in sets:
        law_name = laws.get(bs.name) or laws.get(bs.dataset) or bs.law or law
        law_obj = get_law(law_name)
        frame = bs.frame() if data is None else data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sd = load_data(frame)
        splits, snotes = _splits(sd, cutoffs, holdout_frac=holdout_frac,
                                 next_size_fracs=next_size_fracs,
                                 min_train_sizes=min_train_sizes, size_rtol=size_rtol)
        notes += [f"{bs.name}: {n}" for n in snotes]
        prepared.append((bs, law_obj, sd, splits))
    total = sum(len(s) for *_, s in prepared) * len(variants)

    rows, pts, done = [], [], 0
    for vname, spec in variants.items():
        for bs, law_obj, sd, splits in prepared:
            for sp in splits:
                done += 1
                train, test = sd.subset(sp.train), sd.subset(sp.holdout)
                why = _check_train(train, law_obj)
                if why:
                    notes.append(f"{bs.name} {sp.cutoff}: {why}; skipped")
                    continue
                t0 = time.perf_counter()
                try:
                    p, info = _fit_forecast(spec, train, test, law_obj, seed=seed,
                                            sampler=sampler, fit_kwargs=base_kwargs)
                except CalibrationError:
                    raise
                except ValueError as e:  # the fit refused the training rows
                    notes.append(f"{vname} {bs.name} {sp.cutoff}: {' '.join(str(e).split())}")
                    continue
                cols, scores = _points(p, test, law_obj)
                secs = time.perf_counter() - t0
                key = {"variant": vname, "set": bs.name, "dataset": bs.dataset,
                       "cutoff": sp.cutoff, "law": law_obj.name}
                pt = pd.DataFrame({**key, "row": np.flatnonzero(sp.holdout), **cols,
                                   **scores})
                pts.append(pt)
                r = {**key, "rule": sp.rule, "n_train": train.n}
                r.update(_summarize(pt))
                r["divergences"] = info["divergences"]
                r["seconds"] = round(secs, 2)
                r["note"] = info["note"]
                rows.append(r)
                say(f"[{done}/{total}] {vname} {bs.name} {sp.cutoff}: train {train.n}, "
                    f"predict {test.n}, cover90 {r['cover90']:.2f}, "
                    f"MedARE {100 * r['median_are']:.2f}% ({secs:.1f} s)")
    if not rows:
        raise CalibrationError("calibrate: no split could be fitted: " + "; ".join(notes))
    points = pd.concat(pts, ignore_index=True)
    order = ["variant", "set", "dataset", "cutoff", "law", "row", "N", "D", "C"]
    extra_in = [c for c in points.columns if c not in order and c not in
                ("loss", "median", *(f"pred_{q}" for q in POINT_QUANTILES), "pit", "crps",
                 *_SCORE_COLS, "are", "rel_error", "log_error", "width90")]
    points = points[[*order, *extra_in, "loss", "median",
                     *(f"pred_{q}" for q in POINT_QUANTILES), "pit", "crps", *_SCORE_COLS,
                     "are", "rel_error", "log_error", "width90"]]
    table = pd.DataFrame(rows)
    table["divergences"] = table["divergences"].astype("Int64")
    table["note"] = table["note"].astype(str)
    settings = {
        "law": law, "laws": laws, "cutoffs": list(cutoffs), "levels": list(levels),
        "seed": seed, **sampler, "holdout_frac": holdout_frac,
        "next_size_fracs": list(next_size_fracs), "min_train_sizes": min_train_sizes,
        "size_rtol": size_rtol, "fit_kwargs": base_kwargs,
        "variants": {k: ("<callable>" if callable(v) else dict(v)) for k, v in variants.items()},
        "sets": [bs.name for bs, *_ in prepared],
    }
    return CalibrationResult(table=table, pooled=pool(points), points=points,
                             settings=json.loads(json.dumps(settings, default=str)),
                             notes=notes)
