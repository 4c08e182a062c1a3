"""Observations of a scaling sweep: loading, column recognition, FLOP convention, validation.

This is the one choke point for user data: everything downstream receives a validated
:class:`ScalingData` and never sees a NaN, a non-positive size or a missing column.
Every problem raises a subclass of :class:`DataError` (itself a ``ValueError``) that names the
column and the first offending rows, before anything is compiled.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import lzma
import os
import re
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes._core.vocabulary import ALIASES, COVARIATES, STANDARD
from scaling_bayes._core.vocabulary import describe as _describe

#: FLOPs per parameter per token in the default compute model C = 6*N*D.
FLOPS_PER_PARAM_TOKEN = 6.0


class DataError(ScalingBayesError):
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


#: Fewest rows a fit accepts when every prior is proper (the posterior then exists for any
#: number of runs; one run cannot spread any input).
MIN_ROWS_PROPER = 2


class NoSpreadError(DataError):
    """An input the law depends on takes a single value."""


class DataWarning(UserWarning):
    """The data load and can be fitted, but something about them will likely spoil the fit
    (losses not in nats/token, a design on which the law is not identifiable). Issued once per
    fit, before anything is compiled; see :func:`design_warnings`."""


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

    def check_for_law(self, law, *, allow_few: bool = False) -> None:
        """Raise a :class:`DataError` unless these data can fit ``law``.

        ``allow_few=True`` (every prior proper, so the posterior exists for any number of runs):
        fewer rows than free parameters are allowed; an input that takes a single value still
        raises :class:`NoSpreadError` (the law is not identifiable on such a design)."""
        for v in law.inputs:
            self.get(v)
        if self.n < (MIN_ROWS_PROPER if allow_few else law.n_params + 1):
            how = (f" to fit without leaning on the priors, and at least {MIN_ROWS_PROPER} even "
                   "with proper priors" if allow_few else
                   " here (scaling_bayes.fit accepts fewer when every prior is proper)")
            raise TooFewRowsError(
                f"law {law.name!r} has {law.n_params} free parameters (including the noise "
                f"scale) but the data have {self.n} row{'s' if self.n != 1 else ''}; "
                f"at least {law.n_params + 1} are needed{how}"
            )
        for v in law.inputs:
            a = self.get(v)
            if np.all(a == a[0]):
                raise NoSpreadError(
                    f"column {v!r} ({_describe(v)}) takes the single value {a[0]:g} in all "
                    f"{self.n} rows; law {law.name!r} needs several distinct values of "
                    f"{', '.join(law.inputs)}"
                )


#: Compression formats read transparently: name -> (file-name suffixes, leading magic bytes).
#: Detected by the content's magic bytes first (a ``.csv`` that is really gzip is read), then
#: by the suffix (which only sharpens the error when the content is not what the name says).
COMPRESSIONS: dict[str, tuple[tuple[str, ...], tuple[bytes, ...]]] = {
    "gzip": ((".gz", ".gzip"), (b"\x1f\x8b",)),
    "bz2": ((".bz2",), (b"BZh",)),
    "zip": ((".zip",), (b"PK\x03\x04", b"PK\x05\x06")),
    "xz": ((".xz",), (b"\xfd7zXZ\x00",)),
}
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _compression_of(raw: bytes) -> str | None:
    for name, (_, magics) in COMPRESSIONS.items():
        for m in magics:
            if raw.startswith(m) and (name != "bz2" or raw[3:4] in b"123456789"):
                return name
    return None


def _compression_by_name(path: Path) -> str | None:
    lower = path.name.lower()
    for name, (suffixes, _) in COMPRESSIONS.items():
        if lower.endswith(suffixes):
            return name
    return "zstd" if lower.endswith((".zst", ".zstd")) else None


def _decompress(raw: bytes, path: Path) -> tuple[bytes, str | None]:
    """``(bytes, compression)``: ``raw`` decompressed when it is gzip, bz2, zip or xz."""
    kind = _compression_of(raw)
    if kind is None:
        if raw.startswith(_ZSTD_MAGIC):
            raise DataError(f"{path}: zstd-compressed files are not read; decompress it first "
                            "(zstd -d) or recompress with gzip, bz2, xz or zip")
        return raw, None
    try:
        if kind == "gzip":
            return gzip.decompress(raw), kind
        if kind == "bz2":
            return bz2.decompress(raw), kind
        if kind == "xz":
            return lzma.decompress(raw), kind
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()
                       and not i.filename.startswith("__MACOSX/")
                       and not Path(i.filename).name.startswith("._")]
            if not members:
                raise DataError(f"{path}: the zip archive holds no file; expected one CSV")
            if len(members) > 1:
                names = ", ".join(i.filename for i in members[:10])
                more = f" and {len(members) - 10} more" if len(members) > 10 else ""
                raise DataError(
                    f"{path}: the zip archive holds {len(members)} files ({names}{more}); it "
                    "must hold exactly one CSV: extract the one to fit and pass that file")
            return zf.read(members[0]), kind
    except DataError:
        raise
    except (OSError, EOFError, ValueError, RuntimeError, NotImplementedError, zlib.error,
            lzma.LZMAError, zipfile.BadZipFile) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: cannot decompress the {kind} data ({reason}); the file may "
                        "be truncated or corrupt") from None


#: Field separators recognised in a CSV, in order of preference on a tie.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _n_fields(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return line.count(delimiter) + 1


def sniff_delimiter(text: str) -> str:
    """The field separator of CSV ``text``: comma, semicolon, tab or pipe.

    Only separators that split the header into several fields are candidates, and a single
    candidate wins outright (so a file whose header has commas only is read with commas).
    Among several, the one that splits most of the first 20 rows into as many fields as the
    header wins, then the one giving more fields; an exact tie goes to :class:`csv.Sniffer`
    (restricted to the tied separators), else to the order comma, semicolon, tab, pipe.
    A header with none of them (one column) is read with commas.
    """
    lines = [ln for ln in text[:65536].splitlines()[:200] if ln.strip()][:21]
    if not lines:
        return ","
    header = lines[0]
    cands = [d for d in DELIMITERS if _n_fields(header, d) > 1]
    if len(cands) <= 1:
        return cands[0] if cands else ","

    def score(d: str) -> tuple[int, int]:
        width = _n_fields(header, d)
        return sum(_n_fields(ln, d) == width for ln in lines[1:]), width

    best = max(score(d) for d in cands)
    tied = [d for d in cands if score(d) == best]
    if len(tied) > 1:
        try:
            found = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(tied)).delimiter
        except csv.Error:
            found = None
        if found in tied:
            return found
    return tied[0]


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV file (plain or gzip/bz2/zip/xz-compressed; comma, semicolon, tab or pipe
    separated) as a DataFrame, after checking its header and row lengths."""
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"data path {path} is a directory, not a CSV file")
    raw, compression = _decompress(path.read_bytes(), path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        named = _compression_by_name(path)
        hint = (f" after {compression} decompression" if compression else
                f"; the name says {named} but the content is not {named}-compressed"
                if named else "")
        raise DataError(
            f"{path}: not UTF-8 text ({e.reason} at byte {e.start}){hint}") from None
    if not text.strip():
        after = f" after {compression} decompression" if compression else ""
        raise EmptyDataError(
            f"{path} is empty{after}: expected a CSV header and at least one row")
    sep = sniff_delimiter(text)
    sep_name = DELIMITERS[sep]
    reader = csv.reader(io.StringIO(text), strict=True, skipinitialspace=True, delimiter=sep)
    header = next(reader)
    _check_duplicates([h.strip() for h in header], str(path))
    try:
        for line_no, row in enumerate(reader, start=2):
            if row and len(row) != len(header):
                raise DataError(
                    f"{path}: line {line_no} has {len(row)} fields but the header has "
                    f"{len(header)} ({', '.join(header)}); check for stray or missing "
                    f"{sep_name}s" + ("" if sep == "," else
                                      f" (fields read as {sep_name}-separated)"))
    except csv.Error as e:
        raise DataError(f"{path}: cannot parse CSV: {e}") from None
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True, low_memory=False)
    except (pd.errors.ParserError, ValueError) as e:
        first = str(e).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse CSV: {first}") from None
    return df


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV file as :func:`load_data` reads it (compression and delimiter detected, header and
    row lengths checked), before any column is interpreted: for selecting rows first."""
    return _read_csv(Path(path))


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


#: Magnitude suffixes accepted in the N, D and C columns ("100M", "1.6B", "2 T", "350k"),
#: case-insensitive; B and G both mean 1e9.
SUFFIXES = {"k": 3, "m": 6, "b": 9, "g": 9, "t": 12}
SUFFIX_COLUMNS = ("N", "D", "C")
_SUFFIXED = re.compile(r"\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*([kmbgt])\s*",
                       re.IGNORECASE | re.ASCII)
_COMMA_NUMBER = re.compile(r"\s*[+-]?[0-9]+(?:,[0-9]+)+(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)


def _parse_suffixed(cells) -> np.ndarray:
    """Values of ``"1.6B"``-style cells (NaN where a cell is not of that form)."""
    out = np.full(len(cells), np.nan)
    for i, cell in enumerate(cells):
        m = _SUFFIXED.fullmatch(str(cell))
        if m:  # "1.6" + "e9": decimal rounding, so 1.6B == 1.6e9 exactly
            out[i] = float(f"{m[1]}e{SUFFIXES[m[2].lower()]}")
    return out


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
        stripped = as_text.str.strip()
        values = pd.to_numeric(stripped, errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        nonempty = (as_text.notna().to_numpy() &
                    (stripped.str.len() > 0).fillna(False).to_numpy())
        suffixes = std in SUFFIX_COLUMNS
        if suffixes:  # "100M", "1.6B", "2 T" (only where the plain parse failed)
            todo = np.flatnonzero(np.isnan(values) & nonempty)
            if todo.size:
                parsed = _parse_suffixed(s.iloc[todo].tolist())
                values[todo[~np.isnan(parsed)]] = parsed[~np.isnan(parsed)]
        bad = np.flatnonzero(np.isnan(values) & nonempty)
        # "nan"/"inf" spelled out are numbers, and are reported as non-finite below
        bad = [i for i in bad if str(s.iloc[i]).strip().lower() not in ("nan", "-nan", "na")]
        if bad:
            examples = ", ".join(repr(str(s.iloc[i])) for i in bad[:3])
            accepted = (" (a number, optionally with a K, M, B/G or T suffix such as 350k, "
                        "100M, 1.6B or 2T)" if suffixes else "")
            hint = ""
            if any(_COMMA_NUMBER.fullmatch(str(s.iloc[i])) for i in bad):
                hint = ("; commas inside numbers (decimal commas like 1,5 or thousands "
                        "separators like 1,000) are not read: write 1.5 and 1000")
            raise NonNumericError(
                f"column {col!r} ({_describe(std)}) must be numeric{accepted}; {_rows(bad)} "
                f"hold text: {examples}{hint}"
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
        CSV path, DataFrame, or an existing :class:`ScalingData` (returned unchanged). The CSV
        may be gzip/bz2/xz/zip compressed (:data:`COMPRESSIONS`) and comma, semicolon, tab or
        pipe separated (:func:`sniff_delimiter`); N, D and C may carry a K/M/B/G/T suffix
        (``"1.6B"``, :data:`SUFFIXES`).
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


# ----------------------------------------------------------------------------- design warnings
#: Losses outside this range (nats/token) are flagged by :func:`design_warnings`: per-token
#: cross-entropies of language models lie well inside it (uniform over a 256k vocabulary is
#: 12.5 nats); percentages and bits x 100 do not.
PLAUSIBLE_LOSS = (0.01, 20.0)
#: ``log N`` and ``log D`` correlating above this (or ``D/N`` fixed, see below) make the N and D
#: terms of a law in both non-identifiable.
COLLINEAR_R = 0.995
#: ``D/N`` counts as fixed when sd(log(D/N)) is below this fraction of sd(log N).
FIXED_RATIO_SPREAD = 0.02


def _nd_terms(law) -> str:
    names = set(law.param_names)
    if {"A", "alpha", "B", "beta"} <= names:
        return " (A, alpha vs B, beta)"
    n = [p for p in law.param_names if p in ("N_c", "alpha_N")]
    d = [p for p in law.param_names if p in ("D_c", "alpha_D")]
    return f" ({', '.join(n)} vs {', '.join(d)})" if n and d else ""


def _loss_warning(data: ScalingData, law) -> str | None:
    if not law.loss_in_nats:  # e.g. an error rate: no unit check
        return None
    lo, hi = PLAUSIBLE_LOSS
    loss = data.loss
    out = np.flatnonzero((loss > hi) | (loss < lo))
    if not out.size:
        return None
    if np.all(loss > hi):
        guess = ("if these are percentages divide by 100; if bits/token multiply by "
                 "ln 2 ≈ 0.693 (bits x 100: divide by 100 first)")
    elif np.all(loss < lo):
        guess = "if they are scaled down (e.g. divided by 100), undo that"
    else:
        guess = "check that every row uses the same units"
    return (f"loss ranges from {loss.min():.4g} to {loss.max():.4g} ({out.size} of {data.n} "
            f"rows outside {lo:g}-{hi:g}), implausible for the nats/token the laws expect; "
            f"{guess}; fitting continues with the values as given")


def _collinear_warning(data: ScalingData, law) -> str | None:
    if not {"N", "D"} <= set(law.inputs) or data.N is None or data.D is None or data.n < 2:
        return None
    x, y = np.log(data.N), np.log(data.D)
    sx, sy, sr = np.std(x), np.std(y), np.std(y - x)
    if not (sx > 0 and sy > 0):
        return None  # a constant input: check_for_law's NoSpreadError says so
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    # The smallest singular value of the centred [log N, log D] is ~0 along D ∝ N^k. Only a
    # positive slope confounds the terms: with D ∝ N^-1 (one IsoFLOP profile) the D term rises
    # with N while the N term falls, and the two stay separable.
    fixed_ratio = sr < FIXED_RATIO_SPREAD * sx
    if not (fixed_ratio or r > COLLINEAR_R):
        return None
    ratio = data.D / data.N
    if fixed_ratio or np.max(ratio) / np.min(ratio) < 1.5:
        what = (f"all runs have D/N ≈ {float(np.exp(np.mean(y - x))):.3g}"
                if np.max(ratio) / np.min(ratio) < 1.1 else
                f"all runs have D/N between {np.min(ratio):.3g} and {np.max(ratio):.3g}")
    else:
        what = f"D grows with N as D ∝ N^{float(np.polyfit(x, y, 1)[0]):.2f} across the runs"
    return (f"{what} (log N and log D correlate at r = {r:.3f}): the N and D terms of law "
            f"{law.name!r}{_nd_terms(law)} are not separately identifiable; add runs that vary "
            "D at a fixed N, or N at a fixed D; fitting continues")


def design_warnings(data: ScalingData, law) -> list[str]:
    """One-line messages on data that load but will likely spoil a fit of ``law`` (a
    :class:`~scaling_bayes.laws.base.Law`: its ``inputs`` and ``loss_in_nats`` are read).

    * losses outside :data:`PLAUSIBLE_LOSS` (percent, bits x 100: not nats/token);
    * for laws whose inputs include N and D: a design where log N and log D are (nearly)
      collinear, e.g. every run at D = 20N, so that the N and D terms cannot be told apart.

    Empty when nothing is suspect. :func:`scaling_bayes.fit` issues each as a
    :class:`DataWarning` before sampling (see :func:`warn_design`).
    """
    msgs = [_loss_warning(data, law), _collinear_warning(data, law)]
    return [m for m in msgs if m]


def warn_design(data: ScalingData, law, stacklevel: int = 3) -> list[str]:
    """Issue each of :func:`design_warnings` as a :class:`DataWarning` (once per call);
    ``stacklevel=3`` points at the caller of the function that calls this one."""
    msgs = design_warnings(data, law)
    for msg in msgs:
        warnings.warn(msg, DataWarning, stacklevel=stacklevel)
    return msgs
