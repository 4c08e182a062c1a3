"""Every ArviZ call of the package lives here, so moving to ArviZ 1.x (DataTree) is one file.

ArviZ is imported lazily: ``import arviz`` costs 1-2 s, and neither a fit nor saving it needs
it (:func:`datasets` and :func:`write_datasets` use xarray alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

OBS_DIM = "obs"


def _group(arrays: Mapping[str, np.ndarray], *, sampled: bool, dims: Mapping[str, list[str]],
           coords: Mapping[str, Any], attrs: Mapping[str, Any]):
    """One group as an ``xarray.Dataset`` laid out as ``arviz.from_dict`` lays it out: sampled
    groups lead with ``chain`` and ``draw``; other axes take the names in ``dims`` or
    ``{var}_dim_{i}``, and every dimension gets a coordinate (``coords`` or 0..n-1)."""
    import xarray as xr

    data_vars, all_coords = {}, {}
    for name, value in arrays.items():
        value = np.asarray(value)
        lead = ["chain", "draw"] if sampled else []
        rest = list(dims.get(name, []))
        n_event = value.ndim - len(lead)
        rest += [f"{name}_dim_{i}" for i in range(len(rest), n_event)]
        names = lead + rest
        for d, n in zip(names, value.shape, strict=True):
            all_coords.setdefault(d, np.asarray(coords[d]) if d in coords else np.arange(n))
        data_vars[name] = (names, value)
    return xr.Dataset(data_vars, coords=all_coords, attrs=dict(attrs))


def _attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    import datetime
    from importlib.metadata import PackageNotFoundError, version

    try:
        av = version("arviz")
    except PackageNotFoundError:  # pragma: no cover
        av = "unknown"
    return {"created_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "arviz_version": av, **dict(attrs)}


def datasets(
    *,
    posterior: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    log_likelihood: np.ndarray,
    observed_log_loss: np.ndarray,
    constant_data: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any],
    dims: Mapping[str, list[str]] | None = None,
    coords: Mapping[str, Any] | None = None,
    posterior_predictive: np.ndarray | None = None,
) -> dict:
    """The InferenceData groups of a fit as ``{group: xarray.Dataset}`` (xarray only: no ArviZ
    import, which costs ~1.2 s): posterior, posterior_predictive (when given: replicated
    log-loss ``(chain, draw, obs)``), sample_stats, log_likelihood, observed_data (log-loss)
    and constant_data (N, D, C, loss and extra columns), provenance on every group.

    The observed, predictive and pointwise log-likelihood variables share the name
    ``log_loss`` and the ``obs`` dimension, as ``arviz.plot_ppc`` and ``arviz.loo`` expect.
    ``dims``/``coords`` name the event dimensions of posterior variables (e.g.
    ``{"alpha": ["group"]}``, ``{"group": ["comma", "dclm"]}``)."""
    dims = {**dict(dims or {}), "log_loss": [OBS_DIM], **{k: [OBS_DIM] for k in constant_data}}
    coords = dict(coords or {})
    a = _attrs(attrs)
    kw = {"dims": dims, "coords": coords, "attrs": a}
    predictive = {}
    if posterior_predictive is not None:
        pp = np.asarray(posterior_predictive)
        if pp.shape != np.shape(log_likelihood):
            raise ValueError(f"posterior_predictive has shape {pp.shape}; expected the "
                             f"log-likelihood's {np.shape(log_likelihood)} (chain, draw, obs)")
        predictive = {"posterior_predictive": _group({"log_loss": pp}, sampled=True, **kw)}
    return {
        "posterior": _group(posterior, sampled=True, **kw),
        **predictive,
        "sample_stats": _group(sample_stats, sampled=True, **kw),
        "log_likelihood": _group({"log_loss": log_likelihood}, sampled=True, **kw),
        "observed_data": _group({"log_loss": observed_log_loss}, sampled=False, **kw),
        "constant_data": _group(constant_data, sampled=False, **kw),
    }


def as_inference_data(groups: Mapping[str, Any]):
    """``arviz.InferenceData`` holding the :func:`datasets` groups."""
    import arviz as az

    return az.InferenceData(**dict(groups))


def write_datasets(groups: Mapping[str, Any], path: str) -> None:
    """Write :func:`datasets` groups to ``path`` exactly as ``InferenceData.to_netcdf`` does
    (one netCDF group each, zlib on numeric variables, h5netcdf), without importing ArviZ."""
    mode = "w"
    for name, ds in groups.items():
        encoding = {k: {"zlib": True} for k, v in ds.variables.items()
                    if v.dtype.kind in {"b", "i", "u", "f", "c", "S"}}
        ds.to_netcdf(str(path), mode=mode, group=f"//{name}", engine="h5netcdf",
                     encoding=encoding)
        mode = "a"


def from_log_likelihood(
    log_likelihood: np.ndarray,
    observed_log_loss: np.ndarray,
    posterior: Mapping[str, np.ndarray],
):
    """A minimal InferenceData: posterior draws ``(chain, draw, ...)`` (ArviZ's LOO needs them
    for the relative efficiency), a pointwise log-likelihood ``(chain, draw, obs)`` and the
    observations; enough for PSIS-LOO of models that are not one Fit."""
    import arviz as az

    return az.from_dict(
        posterior={k: np.asarray(v) for k, v in posterior.items()},
        log_likelihood={"log_loss": np.asarray(log_likelihood)},
        observed_data={"log_loss": np.asarray(observed_log_loss)},
        dims={"log_loss": [OBS_DIM]},
    )


def read_netcdf(path: str):
    """Read an InferenceData written by :func:`write_datasets`, fully loaded into memory."""
    import arviz as az

    idata = az.from_netcdf(str(path), engine="h5netcdf")
    for group in idata.groups():
        getattr(idata, group).load()
    return idata


def group_to_dict(idata, group: str) -> dict[str, np.ndarray]:
    """Variables of an InferenceData group as numpy arrays (empty dict if absent)."""
    if group not in idata.groups():
        return {}
    ds = getattr(idata, group)
    return {str(k): np.asarray(ds[k].values) for k in ds.data_vars}


def group_attrs(idata, group: str = "posterior") -> dict[str, Any]:
    return dict(getattr(idata, group).attrs)


def loo(idata, pointwise: bool = True):
    """PSIS-LOO of ``idata`` (ArviZ ELPDData)."""
    import arviz as az

    return az.loo(idata, pointwise=pointwise)


def compare(idatas: Mapping[str, Any], ic: str = "loo", method: str = "stacking"):
    """``arviz.compare`` table over named InferenceData."""
    import arviz as az

    return az.compare(dict(idatas), ic=ic, method=method)
