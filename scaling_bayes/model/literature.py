"""Priors learned from published sweeps: :func:`literature` (``sb.priors.literature``).

The bundled real N-D sweeps (:data:`SWEEPS`) were fitted together with the hierarchical model
(:func:`scaling_bayes.fit_hierarchical`, every Chinchilla site partially pooled, see
:func:`scaling_bayes.inference.literature.literature_table`). The population distribution of a
*new* sweep's parameters -- the posterior predictive of one more group -- is the prior. The
tables are precomputed (``benchmarks/few_runs/build_priors.py``) and bundled as
``model/files/literature_priors.json``: one table with every sweep, and one per bundled data set
with that data set left out, so that a user's own data are never inside their own prior and the
leave-one-data-set-out validation (``benchmarks/few_runs``) is honest. ``literature()`` only
reads that file (instant, no sampling).

Parameterization (what transfers between sweeps)
------------------------------------------------
Losses differ between tokenizers and evaluation sets (``llama3_digitized`` is not even in
nats), and sweeps start at different sizes, so the prior is not on ``E, A, B`` in absolute
units. Each sweep is measured against its own scales (:func:`data_scales`):

* ``L0``: the loss of its smallest-compute run (smallest ``N*D``);
* ``N0``, ``D0``: its smallest model size and smallest token count (the pivots).

and the pooled sites are ``E/L0`` (LogNormal), ``log(A N0^-alpha / L0)`` and
``log(B D0^-beta / L0)`` (the reducible terms at the smallest run, as fractions of its loss;
Normal), ``alpha`` and ``beta`` (LogNormal). For your data the same scales are read from your
runs and the table becomes priors on the sampler sites of ``sb.fit`` at pivots ``ref = {N: N0,
D: D0}`` (:meth:`LiteraturePriors.for_data`). With ``sb.fit(data, priors="literature")`` this
happens inside the fit. ``benchmarks/few_runs/README.md`` compares this choice with pivots at
fixed absolute scales (population spreads of both).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np

from scaling_bayes.data.datasets import load_dataset
from scaling_bayes.data.observations import ScalingData, load_data
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import Prior, PriorError

__all__ = ["SWEEPS", "LiteraturePriors", "Sweep", "data_scales", "literature", "sweep_frame"]

#: Laws with literature priors.
LITERATURE_LAWS = ("chinchilla",)
#: File of the precomputed tables (written by ``benchmarks/few_runs/build_priors.py``).
TABLE_FILE = "literature_priors.json"
_FORMAT = "scaling_bayes.literature_priors/1"


@dataclass(frozen=True)
class Sweep:
    """One sweep of the prior: bundled data set ``dataset`` (rows the source excludes dropped),
    restricted to the rows where every ``where`` column equals its value (``epochs_max``: runs
    that saw each token at most that many times)."""

    name: str
    dataset: str
    where: tuple[tuple[str, Any], ...] = ()
    note: str = ""
    epochs_max: float | None = None


#: The sweeps that enter the prior: every bundled real N-D sweep of final losses, groups that
#: must not be fitted together (data mixes, architectures, N conventions) kept apart, the same
#: selection as the calibration benchmark (``scaling_bayes.evaluation.calibration``), plus the
#: single-epoch Datablations runs (the repeated-data runs need another law).
SWEEPS: tuple[Sweep, ...] = (
    Sweep("chinchilla", "chinchilla", note="Hoffmann 2022 via Epoch AI, 240 points"),
    Sweep("porian2024", "porian2024",
          (("dataset", "refinedweb"), ("setting", "optimizer_tuning_no_decay")),
          note="Porian 2024, RefinedWeb, tuned optimizer, no decay"),
    Sweep("marin2026:comma", "marin2026", (("train_dataset", "comma"),), note="Marin, mix comma"),
    Sweep("marin2026:dclm", "marin2026", (("train_dataset", "dclm"),), note="Marin, mix dclm"),
    Sweep("marin2026:nemotron", "marin2026", (("train_dataset", "nemotron"),),
          note="Marin, mix nemotron"),
    Sweep("gemstones2025", "gemstones2025", (("phase", "after_cooldown"),),
          note="Gemstones, cooled-down runs"),
    Sweep("muennighoff2023", "muennighoff2023", note="Datablations, single-epoch runs only",
          epochs_max=1.0 + 1e-9),
    Sweep("xlstm2025:transformer", "xlstm2025", (("dataset_file", "isoflop_llama_ctx8192"),),
          note="xLSTM paper, Llama-style Transformer, ctx 8192"),
    Sweep("xlstm2025:mlstm", "xlstm2025", (("dataset_file", "isoflop_mlstm_ctx16384"),),
          note="xLSTM paper, mLSTM, ctx 16384"),
    Sweep("llama3_digitized", "llama3_digitized", note="Llama 3 Fig. 2, loss of unstated units"),
    Sweep("olmo_ladder", "olmo_ladder", note="OLMo ladder, final checkpoints"),
)

#: Sites whose population distribution is on the log scale (LogNormal priors).
_LOG_SITES = ("E", "alpha", "beta")


class LiteraturePriorError(PriorError):
    """No literature prior for this law or exclusion set, or it cannot be used on these data."""


def sweep_frame(name: str):
    """The rows of sweep ``name`` (one of :data:`SWEEPS`) as a DataFrame."""
    sweep = _sweep(name)
    df = load_dataset(sweep.dataset, drop_excluded=True)
    for col, value in sweep.where:
        df = df[df[col] == value]
    if sweep.epochs_max is not None:
        df = df[df["epochs"] <= sweep.epochs_max]
    return df.reset_index(drop=True)


def _sweep(name: str) -> Sweep:
    for s in SWEEPS:
        if s.name == name:
            return s
    raise LiteraturePriorError(
        f"unknown sweep {name!r}; the literature prior's sweeps are: "
        f"{', '.join(s.name for s in SWEEPS)}")


def data_scales(data) -> dict[str, float]:
    """The scales a sweep is measured against: ``L0`` (loss of the smallest-compute run),
    ``N0`` (smallest N) and ``D0`` (smallest D). ``data``: DataFrame, CSV path or
    :class:`~scaling_bayes.data.observations.ScalingData`."""
    sd = data if isinstance(data, ScalingData) else load_data(data)
    N, D, loss = sd.get("N"), sd.get("D"), sd.loss
    i = int(np.argmin(np.log(N) + np.log(D)))
    return {"L0": float(loss[i]), "N0": float(np.min(N)), "D0": float(np.min(D))}


# ----------------------------------------------------------------------------- tables
def exclusion_key(exclude: Iterable[str]) -> str:
    """The key of a table: the sorted excluded data sets joined by ``+`` (``""``: none)."""
    return "+".join(sorted(set(exclude)))


def _datasets_of(exclude) -> list[str]:
    """Bundled data set names for ``exclude`` (sweep names map to their data set: the whole
    data set is left out, which is the safe side)."""
    if exclude is None:
        return []
    if isinstance(exclude, str):
        exclude = [exclude]
    names = {s.dataset for s in SWEEPS}
    out = []
    for e in exclude:
        e = str(e)
        if e in names:
            out.append(e)
        elif any(s.name == e for s in SWEEPS):
            out.append(_sweep(e).dataset)
        else:
            raise LiteraturePriorError(
                f"exclude: {e!r} is not one of the prior's data sets ({', '.join(sorted(names))})"
                f" or sweeps ({', '.join(s.name for s in SWEEPS)})")
    return sorted(set(out))


@lru_cache(maxsize=1)
def _tables() -> dict[str, Any]:
    path = files("scaling_bayes.model").joinpath("files", TABLE_FILE)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:  # pragma: no cover - a broken install
        raise LiteraturePriorError(
            f"the literature prior tables ({TABLE_FILE}) are missing from the package") from None
    if raw.get("format") != _FORMAT:
        raise LiteraturePriorError(f"{TABLE_FILE}: unknown format {raw.get('format')!r}")
    return raw


@dataclass(frozen=True)
class LiteraturePriors(Mapping):
    """Population prior of a new sweep's parameters, in units of the sweep's own scales.

    A read-only mapping ``{site: Prior}`` over the *relative* sites (``E`` is ``E/L0``,
    ``lnA0`` is ``log(A N0^-alpha / L0)``, ...; see the module docstring); :meth:`for_data` turns
    it into priors for ``sb.fit`` on your data. ``table`` is the printable prior table,
    ``sweeps`` the sweeps that entered, ``excluded`` the data sets left out, ``groups`` each
    sweep's posterior medians (what the population was learned from).
    """

    law: str
    priors: dict[str, Prior]
    sweeps: tuple[str, ...]
    excluded: tuple[str, ...]
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Prior:
        return self.priors[key]

    def __iter__(self):
        return iter(self.priors)

    def __len__(self) -> int:
        return len(self.priors)

    def __hash__(self) -> int:
        return hash((self.law, self.excluded))

    @property
    def table(self):
        """One row per site: the prior (relative units) and, as ``median``, ``q5``, ``q95``,
        the quantity it is a prior on: ``E/L0``, ``A N0^-alpha / L0`` and ``B D0^-beta / L0``
        (fractions of the smallest-compute run's loss), ``alpha``, ``beta``."""
        import pandas as pd

        meaning = {"E": "E / L0", "lnA0": "A N0^-alpha / L0", "lnB0": "B D0^-beta / L0",
                   "alpha": "alpha", "beta": "beta"}
        rows = []
        for k, p in self.priors.items():
            m, s = float(p.params["loc"]), float(p.params["scale"])
            q = np.exp([m - 1.6449 * s, m, m + 1.6449 * s])  # every site is a log-Normal
            rows.append({"site": k, "quantity": meaning.get(k, k), "prior": str(p),
                         "median": q[1], "q5": q[0], "q95": q[2]})
        return pd.DataFrame(rows).set_index("site")

    def describe(self) -> str:
        """One line: where the prior comes from."""
        ex = f"; left out: {', '.join(self.excluded)}" if self.excluded else ""
        return (f"literature prior of law {self.law!r} from {len(self.sweeps)} bundled sweeps "
                f"({', '.join(self.sweeps)}){ex}")

    def for_data(self, data) -> tuple[dict[str, Prior], dict[str, float]]:
        """``(priors, ref)`` for ``sb.fit(data, priors=priors, ref=ref)``: the table moved to the
        scales of ``data`` (:func:`data_scales`). Raises :class:`LiteraturePriorError` when
        ``data`` are one of the sweeps inside this prior (exclude its data set)."""
        sd = data if isinstance(data, ScalingData) else load_data(data)
        inside = overlapping_sweeps(sd, self.sweeps)
        if inside:
            ds = sorted({_sweep(s).dataset for s in inside})
            raise LiteraturePriorError(
                f"these data overlap sweep {inside[0]!r}, which is inside this literature prior; "
                f"a data set must not be inside its own prior: use "
                f"literature(exclude={ds[0]!r})")
        sc = data_scales(sd)
        lg = math.log(sc["L0"])
        out: dict[str, Prior] = {}
        for k, p in self.priors.items():
            if k in ("E", "lnA0", "lnB0"):
                out[k] = Prior(p.dist, loc=round(float(p.params["loc"]) + lg, 6),
                               scale=float(p.params["scale"]))
            else:
                out[k] = p
        return out, {"N": sc["N0"], "D": sc["D0"]}


def overlapping_sweeps(data: ScalingData, sweeps: Iterable[str]) -> list[str]:
    """Sweeps of ``sweeps`` that share at least half of ``data``'s rows (same N, D and loss to
    6 significant digits)."""
    if data.N is None or data.D is None:
        return []

    def keys(N, D, L):
        return {f"{a:.6g}|{b:.6g}|{c:.6g}" for a, b, c in zip(N, D, L, strict=True)}

    mine = keys(data.N, data.D, data.loss)
    out = []
    for name in sweeps:
        df = sweep_frame(name)
        theirs = keys(df["N"].to_numpy(), df["D"].to_numpy(), df["loss"].to_numpy())
        if len(mine & theirs) >= max(1, 0.5 * len(mine)):
            out.append(name)
    return out


def available_exclusions(law: str = "chinchilla") -> list[tuple[str, ...]]:
    """The exclusion sets with a precomputed table (``()``: every sweep in)."""
    tabs = _tables()["laws"].get(law, {})
    return [tuple(k.split("+")) if k else () for k in tabs]


def literature(law: str | Law = "chinchilla", exclude: str | Iterable[str] | None = None
               ) -> LiteraturePriors:
    """Priors learned from the bundled published sweeps (see the module docstring).

    Parameters
    ----------
    law
        ``"chinchilla"`` (the only law with a literature prior so far).
    exclude
        Bundled data sets (``"marin2026"``) or sweeps (``"marin2026:dclm"``: its whole data set
        is left out) to leave out of the prior; your own data must never be inside their own
        prior. Tables are precomputed for no exclusion and for each single data set; other
        sets raise :class:`LiteraturePriorError` (compute them with
        :func:`scaling_bayes.inference.literature.literature_table`).

    Returns
    -------
    LiteraturePriors
        A mapping ``{site: Prior}`` in units relative to a sweep's own scales; ``.table`` the
        prior table, ``.for_data(data)`` the priors and pivots for ``sb.fit``. Simplest:
        ``sb.fit(data, priors="literature")`` or ``sb.fit(data, priors=sb.priors.literature(
        exclude="chinchilla"))``.
    """
    name = law.name if isinstance(law, Law) else str(law)
    get_law(name)  # unknown law: the registry's error
    if name not in LITERATURE_LAWS:
        raise LiteraturePriorError(
            f"literature priors exist for law {', '.join(LITERATURE_LAWS)} only, not {name!r}")
    ds = _datasets_of(exclude)
    key = exclusion_key(ds)
    tabs = _tables()["laws"][name]
    if key not in tabs:
        have = ", ".join(repr(k) for k in tabs if k) or "none"
        raise LiteraturePriorError(
            f"no precomputed literature table leaves out {' + '.join(ds)}; precomputed: none "
            f"left out, or one data set of {have}; compute others with "
            "scaling_bayes.inference.literature.literature_table(exclude=[...])")
    return from_table(tabs[key])


def from_table(t: Mapping[str, Any]) -> LiteraturePriors:
    """A :class:`LiteraturePriors` from one table of the JSON file (or of
    :func:`scaling_bayes.inference.literature.literature_table`)."""
    return LiteraturePriors(
        law=t["law"], priors={k: Prior.parse(v) for k, v in t["priors"].items()},
        sweeps=tuple(t["sweeps"]), excluded=tuple(t["excluded"]),
        groups={g: dict(v) for g, v in t.get("groups", {}).items()}, info=dict(t.get("info", {})))
