"""One base for every posterior result: draws, summary, check, save and load by ``kind``.

:class:`Posterior` is the interface :class:`~scaling_bayes.posterior.fit.Fit`,
:class:`~scaling_bayes.posterior.many.ManyFits` and
:class:`~scaling_bayes.posterior.hierarchical.HierarchicalFit` share (the idiom of
pymc-marketing's ``model_builder``: one base owning the settings, the file attributes, save and
load). Every file is one netCDF in ArviZ's InferenceData layout whose ``posterior`` group carries
a JSON attribute ``scaling_bayes`` with the result's ``kind``; :data:`FORMATS` maps each kind
to its class (``@FORMATS.register("hierarchical")``), so :func:`load` reads any of them. Single
fits written by v0.1 carry no kind: they are kind ``"fit"``.
"""

from __future__ import annotations

import abc
import datetime as _dt
import json
import os
import platform
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes._core.io import atomic_write
from scaling_bayes.data.observations import STANDARD, ScalingData
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import SIGMA, Prior
from scaling_bayes.posterior import idata as _arviz
from scaling_bayes.posterior.draws import replicate_log_loss

#: Version of the on-disk format written by :meth:`Posterior.save`.
FORMAT_VERSION = 1
_ATTR = "scaling_bayes"


class FitFileError(ScalingBayesError):
    """A file is not a scaling_bayes fit, or was written by an incompatible version."""


def package_versions() -> dict[str, str]:
    """Versions of the packages a fit's numbers depend on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("scaling_bayes", "jax", "jaxlib", "numpyro", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def provenance(data_hash: str, timings: dict[str, float], mode) -> dict[str, Any]:
    """The ``meta`` of a new fit: format version, data hash, package versions, creation time,
    timings and the posterior mode."""
    return {
        "format_version": FORMAT_VERSION,
        "data_hash": data_hash,
        "versions": package_versions(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "timings": {k: float(v) for k, v in timings.items()},
        "mode": mode,
    }


class FileFormats:
    """The result classes by the ``kind`` their files record (a registry object with
    ``register``, as numpyro's ``biject_to``)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Posterior]] = {}

    def register(self, kind: str):
        """Class decorator: files of ``kind`` are read by ``cls._from_file``."""

        def deco(cls):
            self._classes[kind] = cls
            cls.kind = kind
            return cls

        return deco

    def __contains__(self, kind: str) -> bool:
        return kind in self._classes

    def load(self, path: str | os.PathLike, *, expect: type | None = None,
             error: type[Exception] = FitFileError) -> Posterior:
        """Read any result file; with ``expect``, a file of another class is an ``error``."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"fit file not found: {path}")
        try:
            idata = _arviz.read_netcdf(path)
        except Exception as e:  # h5py/xarray raise many types for a non-netCDF file
            raise error(f"{path} is not a scaling_bayes fit file ({type(e).__name__})") from None
        attrs = _arviz.group_attrs(idata, "posterior") if "posterior" in idata.groups() else {}
        if _ATTR not in attrs:
            raise error(f"{path} is a netCDF file but not a scaling_bayes fit")
        info = json.loads(attrs[_ATTR])
        kind = info.get("kind") or "fit"  # v0.1 single fits record no kind
        written_by = info.get("meta", {}).get("versions", {}).get("scaling_bayes", "unknown")
        if kind not in self._classes:
            raise error(f"{path} holds a result of kind {kind!r}, written by scaling_bayes "
                        f"{written_by}; this version reads kinds {', '.join(self._classes)}: "
                        f"load it with scaling_bayes {written_by}")
        cls = self._classes[kind]
        if expect is not None and not issubclass(cls, expect):
            raise error(f"{path} holds {cls.what}, not {expect.what}: load it with "
                        "scaling_bayes.load_fit")
        fmt = info.get("meta", {}).get("format_version")
        if fmt != FORMAT_VERSION:
            raise error(
                f"{path} was written by scaling_bayes {written_by} in {cls.kind} format {fmt}; "
                f"this version reads format {FORMAT_VERSION}: refit, or load it with "
                f"scaling_bayes {written_by}")
        return cls._from_file(idata, info, path, error)


#: Every kind of result file this version reads.
FORMATS = FileFormats()


def load(path: str | os.PathLike) -> Posterior:
    """Read a file written by any result's ``save`` (a Fit, a ManyFits or a HierarchicalFit,
    by the kind the file records); every array is restored exactly."""
    return FORMATS.load(path)


class Posterior(abc.ABC):
    """Posterior draws of one law with their settings and provenance.

    Subclasses are frozen dataclasses with at least ``law``, ``posterior`` (``{name: array}``,
    chain and draw axes first, or after a leading fit axis), ``sample_stats``, ``priors`` and
    ``config``; they implement :meth:`summary`, :meth:`check`, :meth:`_info` (the kind's file
    attributes), :meth:`_groups` (the InferenceData groups written) and :meth:`_from_file`.
    """

    kind: ClassVar[str]
    what: ClassVar[str] = "a fit"  # for messages: "a hierarchical fit", ...
    law: Law
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    priors: dict[str, Prior]
    config: Any

    # ------------------------------------------------------------------ draws
    @property
    def n_chains(self) -> int:
        return int(self.sample_stats["diverging"].shape[-2])

    @property
    def n_draws(self) -> int:
        return int(self.sample_stats["diverging"].shape[-1])

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of ``name`` (chain and draw axes, plus the kind's own axes)."""
        try:
            return self.posterior[name]
        except KeyError:
            raise KeyError(
                f"no parameter {name!r} in this {self.law.name} fit; available: "
                f"{', '.join(self.posterior)}") from None

    @abc.abstractmethod
    def summary(self, params=None, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)
                ) -> pd.DataFrame:
        """Posterior table (mean, sd, quantiles, MCSE, ESS, R-hat) indexed by parameter (and
        the kind's own index levels: fit, group)."""

    @abc.abstractmethod
    def check(self, *args, **kwargs):
        """Diagnostic problems (R-hat, ESS, divergences, tree-depth hits); empty if clean."""

    # ------------------------------------------------------------------ files
    @abc.abstractmethod
    def _info(self) -> dict[str, Any]:
        """The kind's entries of the file's ``scaling_bayes`` attribute."""

    def _attrs(self) -> dict[str, Any]:
        info = {"kind": self.kind, "law": self.law.name, **self._info(),
                "priors": {k: str(v) for k, v in self.priors.items()},
                "config": self.config.to_dict()}
        meta = info.get("meta", {})
        return {_ATTR: json.dumps(info), "law": self.law.name,
                "data_hash": meta.get("data_hash", ""),
                "scaling_bayes_version": meta.get("versions", {}).get("scaling_bayes", "")}

    @abc.abstractmethod
    def _groups(self) -> dict:
        """The InferenceData groups written by :meth:`save`, as ``{group: xarray.Dataset}``."""

    @cached_property
    def idata(self):
        """ArviZ InferenceData of the saved groups (posterior, posterior_predictive,
        sample_stats, log_likelihood, observed_data, constant_data)."""
        return _arviz.as_inference_data(self._groups())

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result to one netCDF file (atomically: a temporary file, then a rename), in
        ArviZ's InferenceData layout (``arviz.from_netcdf`` reads it), without importing
        ArviZ."""
        groups = self._groups()
        return atomic_write(path, lambda tmp: _arviz.write_datasets(groups, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Posterior:
        """Read a file of this class (see :func:`load` for any kind)."""
        return FORMATS.load(path, expect=cls)

    @classmethod
    @abc.abstractmethod
    def _from_file(cls, idata, info: dict, path: Path, error: type[Exception]) -> Posterior:
        """The result held by a file of this kind (already checked: ours, this format)."""


class RowsPosterior(Posterior):
    """A posterior of one set of observations (``data``): a pointwise ``log_likelihood``
    ``(chain, draw, n)``, a posterior predictive of the same shape, ``ref`` and ``meta``."""

    data: ScalingData
    log_likelihood: np.ndarray
    ref: dict[str, float]
    meta: dict[str, Any]

    @property
    def divergences(self) -> int:
        return int(np.sum(self.sample_stats["diverging"]))

    @abc.abstractmethod
    def _law_mean(self) -> np.ndarray:
        """The law's mean log-loss at every row for every draw, ``(chain, draw, n)``."""

    @cached_property
    def posterior_predictive(self) -> np.ndarray:
        """Replicated observations ``(chain, draw, n)``, on the scale of ``observed_data``
        (log-loss): each draw's law mean at the data's rows plus noise from the fit's likelihood
        (:func:`~scaling_bayes.posterior.draws.replicate_log_loss`: Normal or Student-t with
        ``config.nu``, scale ``sigma``), from a generator seeded by ``config.seed``. Saved with
        the fit (group ``posterior_predictive``, variable ``log_loss``, as in
        ``observed_data``)."""
        return replicate_log_loss(self._law_mean(), self.posterior[SIGMA.name], self.config)

    def _info(self) -> dict[str, Any]:
        return {"ref": self.ref, "meta": self.meta, "data": _data_info(self.data)}

    def _constant_data(self) -> dict[str, np.ndarray]:
        """The observations as saved (group ``constant_data``): N, D, C, loss, extras."""
        return _constant_data(self.data)

    def _dims(self) -> tuple[dict, dict]:
        """Names and coordinates of the posterior's event dimensions."""
        return {}, {}

    def _groups(self) -> dict:
        dims, coords = self._dims()
        return _arviz.datasets(
            posterior=self.posterior, sample_stats=self.sample_stats,
            log_likelihood=self.log_likelihood, observed_log_loss=np.log(self.data.loss),
            posterior_predictive=self.posterior_predictive,
            constant_data=self._constant_data(), attrs=self._attrs(),
            dims=dims, coords=coords)

    @classmethod
    def _read(cls, idata, info: dict, path: Path, error: type[Exception]) -> dict[str, Any]:
        """The fields every file of observations holds, read and checked."""
        written_by = info["meta"].get("versions", {}).get("scaling_bayes", "unknown")
        try:
            law = get_law(info["law"])
        except ValueError as e:
            raise error(
                f"{path} holds a fit of law {info['law']!r}, unknown here: {e}. If it is a "
                "user-defined law, define it again in this process first with "
                "scaling_bayes.custom_law(name, ..., register=True) (same name, parameters and "
                "inputs), then load the fit") from None
        posterior = _arviz.group_to_dict(idata, "posterior")
        missing = [p for p in (*law.param_names, *law.site_names) if p not in posterior]
        if missing:
            raise error(
                f"{path}: law {law.name!r} here has parameters {', '.join(missing)} that the "
                f"file (written by scaling_bayes {written_by}) lacks: the law changed; refit")
        data = _data_from_idata(idata, info["data"])
        if data.hash() != info["meta"].get("data_hash"):
            raise error(f"{path}: the stored data do not match the recorded data hash")
        return {
            "law": law, "data": data, "posterior": posterior,
            "sample_stats": _arviz.group_to_dict(idata, "sample_stats"),
            "log_likelihood": _arviz.group_to_dict(idata, "log_likelihood")["log_loss"],
            "priors": {k: Prior.parse(v) for k, v in info["priors"].items()},
            "ref": {k: float(v) for k, v in info["ref"].items()}, "meta": info["meta"],
        }

    def _restore(self, idata, path: Path, error: type[Exception]) -> None:
        """Pin the file's posterior predictive draws (and its InferenceData), so saving the
        fit again writes them unchanged. A file from before the posterior_predictive group
        (v0.1) has none: ``idata`` is then built again, with the group drawn from the stored
        posterior exactly as a save would."""
        pp = _arviz.group_to_dict(idata, "posterior_predictive").get("log_loss")
        if pp is None:
            return
        if pp.shape != self.log_likelihood.shape:
            raise error(f"{path}: posterior_predictive has shape {pp.shape}, the log-likelihood "
                        f"{self.log_likelihood.shape}: the file is damaged; refit")
        self.__dict__["posterior_predictive"] = pp
        self.__dict__["idata"] = idata


def _data_info(data: ScalingData) -> dict[str, Any]:
    return {
        "source": data.source,
        "flop_convention": data.flop_convention,
        "columns_used": data.columns_used,
        "present": [k for k in STANDARD if getattr(data, k) is not None],
        "extra": {c: str(data.extra[c].dtype) for c in data.extra.columns},
    }


def _constant_data(data: ScalingData) -> dict[str, np.ndarray]:
    """The observations as constant_data variables: N, D, C, loss and ``extra:{column}``."""
    out = {k: getattr(data, k) for k in STANDARD if getattr(data, k) is not None}
    for c in data.extra.columns:
        s = data.extra[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[f"extra:{c}"] = s.to_numpy()
        else:
            out[f"extra:{c}"] = s.astype(str).to_numpy().astype(str)
    return out


def _data_from_idata(idata, d: dict) -> ScalingData:
    """The observations stored in ``idata``'s constant_data, as described by ``d``."""
    return _data_from_columns(_arviz.group_to_dict(idata, "constant_data"), d)


def _data_from_columns(const: dict[str, np.ndarray], d: dict) -> ScalingData:
    """The observations in constant_data variables ``const``, as described by ``d``."""
    extra = pd.DataFrame({c: const[f"extra:{c}"] for c in d["extra"]})
    for c, dtype in d["extra"].items():
        if dtype not in ("object", "str", "string"):
            try:
                extra[c] = extra[c].astype(dtype)
            except (TypeError, ValueError):
                pass
    return ScalingData(
        loss=const["loss"], N=const.get("N"), D=const.get("D"), C=const.get("C"), extra=extra,
        flop_convention=d["flop_convention"], source=d["source"], columns_used=d["columns_used"])
