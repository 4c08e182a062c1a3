"""Observations of a scaling sweep: loading, column recognition, FLOP convention, validation.

This is the one choke point for user data: everything downstream receives a validated
:class:`ScalingData` and never sees a NaN, a non-positive size or a missing column.
Every problem raises a subclass of :class:`DataError` (itself a ``ValueError``) that names the
column and the first offending rows, before anything is compiled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

STANDARD = ("N", "D", "C", "loss")

#: Recognised column names (case-insensitive), in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "N": (
        "n", "params", "parameters", "n_params", "num_params", "nparams", "model_size",
        "model_params", "param_count", "parameter_count", "n_parameters", "size",
    ),
    "D": (
        "d", "tokens", "n_tokens", "num_tokens", "train_tokens", "training_tokens",
        "tokens_seen", "data", "data_size", "dataset_size",
    ),
    "C": (
        "c", "flops", "compute", "flop", "train_flops", "training_flops", "training_flop",
        "c_6nd", "compute_flops",
    ),
    "loss": (
        "loss", "l", "val_loss", "eval_loss", "validation_loss", "valid_loss", "test_loss",
        "final_loss",
    ),
}

DESCRIPTIONS = {
    "N": "model size in parameters",
    "D": "training tokens",
    "C": "training compute in FLOPs",
    "loss": "final loss (nats/token)",
}

#: Covariates beyond N, D, C that a law may take as inputs (``Law.inputs``), read from the extra
#: columns by name (case-insensitive, first alias found wins): ``{input: (description,
#: aliases)}``. Laws that need another covariate add an entry here. The aspect ratio is taken
#: from an ``aspect`` column, else derived as width / depth.
COVARIATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "aspect": ("aspect ratio d_model/n_layers", ("aspect", "aspect_ratio")),
    "width": ("model width d_model",
              ("width", "d_model", "hidden_size", "n_embd", "model_dim", "dim")),
    "depth": ("number of layers",
              ("depth", "n_layers", "n_layer", "num_layers", "layers", "num_hidden_layers")),
    "L_train": ("loss on the training distribution (nats/token)",
                ("l_train", "train_loss", "training_loss", "loss_train", "upstream_loss")),
    "experts": ("number of experts (1 = dense)",
                ("experts", "n_experts", "num_experts", "e_experts", "num_local_experts")),
    "U": ("unique training tokens",
          ("u", "unique_tokens", "u_d", "u_unique_tokens", "n_unique_tokens", "unique")),
    "S": ("optimizer steps", ("s", "step", "steps", "optimizer_step", "train_step", "iteration")),
}


def _describe(name: str) -> str:
    return DESCRIPTIONS[name] if name in DESCRIPTIONS else COVARIATES[name][0]

#: FLOPs per parameter per token in the default compute model C = 6*N*D.
FLOPS_PER_PARAM_TOKEN = 6.0


class DataError(ValueError):
    """Base class of every data-validation error."""


class EmptyDataError(DataError):
    """The input holds no rows (or no header)."""


class MissingColumnError(DataError):
    """A required column is absent and cannot be derived."""


class DuplicateColumnError(DataError):
    """The same column name (or two aliases of one quantity) appears twice."""


class NonNumericError(DataError):
    """A numeric column holds text."""


class NonFiniteError(DataError):
    """A numeric column holds NaN, an empty cell or an infinity."""


class NonPositiveError(DataError):
    """N, D, C or loss is zero or negative."""


class TooFewRowsError(DataError):
    """Fewer rows than the law has free parameters."""


class NoSpreadError(DataError):
    """An input the law depends on takes a single value."""


def _rows(idx: Sequence[int], k: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:k])
    more = f" and {len(idx) - k} more" if len(idx) > k else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"


@dataclass(frozen=True, eq=False)
class ScalingData:
    """Validated observations: float64 arrays ``N``, ``D``, ``C``, ``loss`` plus extra columns.

    ``N``, ``D`` or ``C`` is ``None`` when the source lacks it and it cannot be derived.
    ``flop_convention`` records how ``C`` and ``D`` were obtained. Row numbers in error
    messages are 0-based positions in the data as given (for a CSV: line number minus 2).
    """

    loss: np.ndarray
    N: np.ndarray | None = None
    D: np.ndarray | None = None
    C: np.ndarray | None = None
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)
    flop_convention: str = "C, N, D as given"
    source: str = "<DataFrame>"
    columns_used: dict[str, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.loss.shape[0])

    def get(self, name: str) -> np.ndarray:
        """The array for input ``name``: ``"N"``, ``"D"``, ``"C"``, ``"loss"``, or a shape
        covariate (``"aspect"``, ``"width"``, ``"depth"``) read from the extra columns."""
        if name in COVARIATES:
            return self.covariate(name)
        value = getattr(self, name)
        if value is None:
            raise MissingColumnError(
                f"column {name!r} ({_describe(name)}) is not in the data and cannot be "
                f"derived; columns recognised as {name}: {', '.join(ALIASES[name])}"
            )
        return value

    def covariate(self, name: str) -> np.ndarray:
        """A covariate input (:data:`COVARIATES`) from the extra columns, validated like N and D
        (numeric, finite, > 0; errors name the column and rows)."""
        desc, aliases = COVARIATES[name]
        lower = {str(c).strip().lower(): c for c in self.extra.columns}
        for alias in aliases:
            if alias in lower:
                return _numeric(self.extra, lower[alias], name)
        how = ""
        if name == "aspect":
            try:
                width, depth = self.covariate("width"), self.covariate("depth")
            except MissingColumnError:
                pass
            else:
                return width / depth
            how = (f" or width and depth columns (width: {', '.join(COVARIATES['width'][1])}; "
                   f"depth: {', '.join(COVARIATES['depth'][1])})")
        raise MissingColumnError(
            f"column {name!r} ({desc}) is not in the data; give a column named "
            f"{' or '.join(aliases)}{how}")

    def to_frame(self) -> pd.DataFrame:
        """Standard columns (those present) followed by the extra columns."""
        cols = {k: getattr(self, k) for k in STANDARD if getattr(self, k) is not None}
        out = pd.DataFrame(cols)
        for c in self.extra.columns:
            out[c] = self.extra[c].to_numpy()
        return out

    def subset(self, rows: np.ndarray) -> ScalingData:
        """The observations at boolean mask or integer positions ``rows`` (not re-validated)."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        return ScalingData(
            loss=self.loss[rows],
            N=pick(self.N),
            D=pick(self.D),
            C=pick(self.C),
            extra=self.extra.iloc[rows].reset_index(drop=True),
            flop_convention=self.flop_convention,
            source=self.source,
            columns_used=dict(self.columns_used),
        )

    def hash(self) -> str:
        """SHA-256 of the standard columns' float64 bytes (stable across platforms)."""
        h = hashlib.sha256()
        for k in STANDARD:
            a = getattr(self, k)
            h.update(k.encode())
            if a is not None:
                h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        return h.hexdigest()

    def check_for_law(self, law) -> None:
        """Raise a :class:`DataError` unless these data can fit ``law``."""
        for v in law.inputs:
            self.get(v)
        if self.n < law.n_params + 1:
            raise TooFewRowsError(
                f"law {law.name!r} has {law.n_params} free parameters (including the noise "
                f"scale) but the data have {self.n} row{'s' if self.n != 1 else ''}; "
                f"at least {law.n_params + 1} are needed"
            )
        for v in law.inputs:
            a = self.get(v)
            if np.all(a == a[0]):
                raise NoSpreadError(
                    f"column {v!r} ({_describe(v)}) takes the single value {a[0]:g} in all "
                    f"{self.n} rows; law {law.name!r} needs several distinct values of "
                    f"{', '.join(law.inputs)}"
                )


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"data path {path} is a directory, not a CSV file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not text.strip():
        raise EmptyDataError(f"{path} is empty: expected a CSV header and at least one row")
    reader = csv.reader(io.StringIO(text), strict=True, skipinitialspace=True)
    header = next(reader)
    _check_duplicates([h.strip() for h in header], str(path))
    try:
        for line_no, row in enumerate(reader, start=2):
            if row and len(row) != len(header):
                raise DataError(
                    f"{path}: line {line_no} has {len(row)} fields but the header has "
                    f"{len(header)} ({', '.join(header)}); check for stray or missing commas")
    except csv.Error as e:
        raise DataError(f"{path}: cannot parse CSV: {e}") from None
    try:
        df = pd.read_csv(io.StringIO(text), skipinitialspace=True, low_memory=False)
    except (pd.errors.ParserError, ValueError) as e:
        first = str(e).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse CSV: {first}") from None
    return df


def _check_duplicates(names: Sequence[str], where: str) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = str(name).strip()
        if key in seen:
            raise DuplicateColumnError(
                f"{where}: column {key!r} appears twice (positions {seen[key] + 1} and {i + 1})"
            )
        seen[key] = i


def _find_columns(df: pd.DataFrame, columns: dict[str, str] | None) -> dict[str, str]:
    """Map standard names to the frame's columns (explicit ``columns`` first, then aliases)."""
    found: dict[str, str] = {}
    lower = {str(c).strip().lower(): c for c in df.columns}
    for std, col in (columns or {}).items():
        if std not in STANDARD:
            raise ValueError(
                f"columns: unknown key {std!r}; map any of {', '.join(STANDARD)} to column names"
            )
        if col not in df.columns:
            raise MissingColumnError(
                f"columns: {std}={col!r} is not a column of the data; columns are: "
                f"{', '.join(map(str, df.columns))}"
            )
        found[std] = col
    for std in STANDARD:
        if std in found:
            continue
        hits = [lower[a] for a in ALIASES[std] if a in lower]
        exact = [c for c in df.columns if str(c).strip() == std]
        if exact:  # the standard name itself wins over look-alikes (C over C_6ND)
            hits = exact
        if len(hits) > 1 and std != "loss":
            raise DuplicateColumnError(
                f"columns {', '.join(map(repr, hits))} all look like {std} ({_describe(std)}); "
                f"say which to use, e.g. columns={{'{std}': {hits[0]!r}}} "
                f"(CLI: --column {std}={hits[0]})"
            )
        if hits:
            found[std] = hits[0]
    used: dict[str, str] = {}
    for std, col in found.items():
        if col in used:
            raise DuplicateColumnError(
                f"columns: {used[col]} and {std} are both mapped to column {col!r}; each "
                "quantity needs its own column")
        used[col] = std
    return found


def _numeric(df: pd.DataFrame, col: str, std: str) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        raise NonNumericError(f"column {col!r} ({_describe(std)}) holds booleans, not numbers")
    if pd.api.types.is_complex_dtype(s) or (
            s.dtype == object and any(isinstance(v, complex) for v in s)):
        raise NonNumericError(
            f"column {col!r} ({_describe(std)}) holds complex numbers; values must be real")
    if pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        as_text = s.astype("string")
        values = pd.to_numeric(as_text.str.strip(), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        bad = np.flatnonzero(np.isnan(values) & as_text.notna().to_numpy() &
                             (as_text.str.strip().str.len() > 0).fillna(False).to_numpy())
        # "nan"/"inf" spelled out are numbers, and are reported as non-finite below
        bad = [i for i in bad if str(s.iloc[i]).strip().lower() not in ("nan", "-nan", "na")]
        if bad:
            examples = ", ".join(repr(str(s.iloc[i])) for i in bad[:3])
            raise NonNumericError(
                f"column {col!r} ({_describe(std)}) must be numeric; {_rows(bad)} hold "
                f"text: {examples}"
            )
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        raise NonFiniteError(
            f"column {col!r} ({_describe(std)}) has missing or NaN values in "
            f"{_rows(missing)}; drop or fill those rows"
        )
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        raise NonFiniteError(
            f"column {col!r} ({_describe(std)}) has infinite values in {_rows(inf)}"
        )
    nonpos = np.flatnonzero(values <= 0)
    if nonpos.size:
        examples = ", ".join(f"{values[i]:g}" for i in nonpos[:3])
        raise NonPositiveError(
            f"column {col!r} ({_describe(std)}) must be > 0; {_rows(nonpos)} "
            f"hold {examples}"
        )
    return values


def load_data(
    data: ScalingData | pd.DataFrame | str | os.PathLike,
    *,
    columns: dict[str, str] | None = None,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
) -> ScalingData:
    """Read and validate a sweep from a CSV path or a pandas DataFrame.

    Parameters
    ----------
    data
        CSV path, DataFrame, or an existing :class:`ScalingData` (returned unchanged).
    columns
        Explicit mapping from standard names to column names, e.g. ``{"N": "non_emb_params"}``;
        otherwise common names are recognised (``N``/``params``/``model_size``,
        ``D``/``tokens``, ``C``/``flops``/``compute``, ``loss``/``val_loss``), case-insensitive.
    flops_per_param_token
        ``k`` in the compute model ``C = k*N*D`` used to derive ``D = C/(kN)`` when only ``C`` is
        given, or ``C = kND`` when only ``D`` is (default 6).

    Returns
    -------
    ScalingData
        Float64 arrays; extra columns (run, group, seed, learning rate, ...) kept in ``extra``.
        ``flop_convention`` says which of N, D, C were given and which derived.

    Raises
    ------
    DataError
        A subclass naming the column and first offending rows: missing or duplicated columns,
        text in numeric columns, NaN/inf, values <= 0, or an empty table.
    """
    if isinstance(data, ScalingData):
        return data
    if isinstance(data, pd.DataFrame):
        df, source = data, str(data.attrs.get("dataset", "<DataFrame>"))
        _check_duplicates([str(c) for c in df.columns], "DataFrame")
    elif isinstance(data, (str, os.PathLike)):
        path = Path(data)
        df, source = _read_csv(path), str(path)
    else:
        raise TypeError(
            f"data must be a CSV path, a pandas DataFrame or ScalingData, not {type(data).__name__}"
        )
    if not (np.isfinite(flops_per_param_token) and flops_per_param_token > 0):
        raise ValueError(
            f"flops_per_param_token must be finite and > 0, got {flops_per_param_token}")
    if df.shape[0] == 0:
        raise EmptyDataError(f"{source}: the table has a header but no rows")
    found = _find_columns(df, columns)
    if "loss" not in found:
        raise MissingColumnError(
            f"{source}: no loss column; expected one of {', '.join(ALIASES['loss'])} "
            f"(columns are: {', '.join(map(str, df.columns))})"
        )
    vals = {std: _numeric(df, col, std) for std, col in found.items()}
    k = float(flops_per_param_token)
    given = [s for s in ("N", "D", "C") if s in vals]
    N, D, C = vals.get("N"), vals.get("D"), vals.get("C")
    with np.errstate(over="ignore"):
        if D is None and N is not None and C is not None:
            D = C / (k * N)
            convention = f"C given; D = C/({k:g}N) derived"
        elif C is None and N is not None and D is not None:
            C = k * N * D
            convention = f"N, D given; C = {k:g}ND derived"
        elif N is None and C is not None and D is not None:
            N = C / (k * D)
            convention = f"C, D given; N = C/({k:g}D) derived"
        else:
            convention = f"{', '.join(given) or 'no inputs'} given"
    if isinstance(data, pd.DataFrame) and data.attrs.get("flop_convention"):
        convention = str(data.attrs["flop_convention"])
    for name, arr in (("N", N), ("D", D), ("C", C)):
        if arr is not None and name not in vals:
            bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
            if bad.size:
                raise NonFiniteError(
                    f"derived column {name!r} ({_describe(name)}) over- or underflows in "
                    f"{_rows(bad)} ({convention}); check the magnitudes of N, D and C"
                )
    extra_cols = [c for c in df.columns if c not in found.values()]
    return ScalingData(
        loss=vals["loss"],
        N=N,
        D=D,
        C=C,
        extra=df[extra_cols].reset_index(drop=True).copy(),
        flop_convention=convention,
        source=source,
        columns_used={k_: str(v) for k_, v in found.items()},
    )
