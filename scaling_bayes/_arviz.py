"""Every ArviZ call of the package lives here, so moving to ArviZ 1.x (DataTree) is one file.

ArviZ is imported lazily: ``import arviz`` costs about 2 s and the fit path does not need it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

OBS_DIM = "obs"


def to_inference_data(
    *,
    posterior: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray],
    log_likelihood: np.ndarray,
    observed_log_loss: np.ndarray,
    constant_data: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any],
    dims: Mapping[str, list[str]] | None = None,
    coords: Mapping[str, Any] | None = None,
):
    """Build an ``arviz.InferenceData`` with posterior, sample_stats, log_likelihood,
    observed_data (log-loss) and constant_data (N, D, C, loss and extra columns).

    ``dims``/``coords`` name the event dimensions of posterior variables (e.g.
    ``{"alpha": ["group"]}``, ``{"group": ["comma", "dclm"]}``)."""
    import arviz as az

    idata = az.from_dict(
        posterior=dict(posterior),
        sample_stats=dict(sample_stats),
        log_likelihood={"log_loss": log_likelihood},
        observed_data={"log_loss": observed_log_loss},
        constant_data=dict(constant_data),
        coords=dict(coords) if coords else None,
        dims={**dict(dims or {}), "log_loss": [OBS_DIM], **{k: [OBS_DIM] for k in constant_data}},
    )
    # provenance on every group, so it survives whichever groups a user keeps
    for group in idata.groups():
        getattr(idata, group).attrs.update(dict(attrs))
    return idata


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


def write_netcdf(idata, path: str) -> None:
    """Write ``idata`` to ``path`` (netCDF4/HDF5 via h5netcdf)."""
    idata.to_netcdf(str(path), engine="h5netcdf")


def read_netcdf(path: str):
    """Read an InferenceData written by :func:`write_netcdf`, fully loaded into memory."""
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
