"""The posterior of a training-curve fit (:func:`scaling_bayes.fit_curves`): the law's draws,
the noise model's (``sigma``; ``ell`` for the AR(1) models; for ``noise="ar1_run"`` ``tau``
and the per-run offsets ``run_effect``), the curve data it was fitted to, and the law on draws at any schedule.
Saved as kind ``"curves"`` (one netCDF file, the checkpoint table in ``constant_data``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.curves import CurveData, load_curves
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import Prior
from scaling_bayes.model.settings import SamplerConfig
from scaling_bayes.posterior import diagnostics
from scaling_bayes.posterior import idata as _arviz
from scaling_bayes.posterior.base import FORMATS, FitFileError, Posterior
from scaling_bayes.posterior.diagnostics import summarize

__all__ = ["CurveFit", "CurveFitFileError"]

_TABLE_COLUMNS = ("N", "step", "D", "lr", "loss")


class CurveFitFileError(FitFileError):
    """A file is not a scaling_bayes curve fit, or is from an incompatible version."""


@FORMATS.register("curves")
@dataclass(frozen=True, eq=False)
class CurveFit(Posterior):
    """Posterior of a training-curve fit.

    Attributes
    ----------
    law, data, noise
        The schedule-aware law, the :class:`~scaling_bayes.data.curves.CurveData` (every
        checkpoint with its schedule features; ``keep`` marks the likelihood's rows) and the
        noise model (``"ar1"``, ``"ar1_run"`` or ``"iid"``).
    posterior
        Draws ``(chain, draw)`` of the law's sampler and textbook parameters, ``sigma``, ``ell``
        (AR(1)), and for ``"ar1_run"`` ``tau``, ``z`` and ``run_effect = tau * z``
        ``(chain, draw, run)``
        (runs in the order of :attr:`run_names`).
    sample_stats, priors, config, ref, meta
        NUTS statistics, priors, settings, the pivots ``ref`` (N, S1, S2) and provenance.
    """

    what = "a curve fit"

    law: Law
    data: CurveData
    noise: str
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    priors: dict[str, Prior]
    config: SamplerConfig
    ref: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ structure
    @property
    def run_names(self) -> list[str]:
        return list(self.data.runs.index)

    @property
    def divergences(self) -> int:
        return int(np.sum(self.sample_stats["diverging"]))

    @property
    def reported(self) -> tuple[str, ...]:
        extra = {"ar1": ("sigma", "ell"), "ar1_run": ("sigma", "tau", "ell")}.get(
            self.noise, ("sigma",))
        return (*self.law.param_names, *extra)

    def flat(self, name: str) -> np.ndarray:
        """Draws of ``name`` with chains and draws merged into one leading axis."""
        a = self.draws(name)
        return a.reshape(-1, *a.shape[2:])

    def log_law(self, N, S1, S2) -> np.ndarray:
        """The law's log-loss ``(draws, k)`` at inputs of shape ``(k,)`` for every draw."""
        import jax.numpy as jnp

        phi = {s: jnp.asarray(self.flat(s))[:, None] for s in self.law.site_names}
        with np.errstate(divide="ignore"):
            x = {"N": np.log(np.asarray(N, float) / self.ref["N"])[None],
                 "S1": np.log(np.asarray(S1, float) / self.ref["S1"])[None],
                 "S2": np.log(np.maximum(np.asarray(S2, float), 0.0) / self.ref["S2"])[None]}
        return np.asarray(self.law.sampler_log_loss(phi, {k: jnp.asarray(v) for k, v in x.items()}))

    def run_effect(self, run: str) -> np.ndarray:
        """Draws of the offset on log-loss of the fitted run ``run`` (zeros for ``"iid"``)."""
        if run not in self.data.runs.index:
            raise KeyError(f"run {run!r} is not in this fit; runs: {', '.join(self.run_names)}")
        if self.noise != "ar1_run":
            return np.zeros(self.flat("sigma").shape[0])
        return self.flat("run_effect")[:, self.run_names.index(run)]

    # ------------------------------------------------------------------ summaries
    def summary(self, params=None, quantiles=(0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Posterior table of the law's textbook parameters and the noise parameters (or the
        names in ``params``; ``"all"`` adds the sampler sites and the run offsets)."""
        if params is None:
            names = list(self.reported)
        elif params == "all":
            names = list(dict.fromkeys((*self.reported, *self.law.site_names)))
        else:
            names = [params] if isinstance(params, str) else list(params)
        arrays = {}
        for n in names:
            a = self.draws(n)
            arrays[n] = a
        if params == "all" and self.noise == "ar1_run":
            for i, r in enumerate(self.run_names):
                arrays[f"run_effect[{r}]"] = self.posterior["run_effect"][..., i]
        return summarize(arrays, quantiles=quantiles)

    def check(self, warn: bool = False) -> list[str]:
        """Diagnostic problems (empty if clean): divergences, R-hat > 1.01, ESS < 400,
        tree-depth hits."""
        depth = self.sample_stats["tree_depth"]
        msgs = diagnostics.check(
            self.summary("all"), divergences=self.divergences,
            n_draws_total=self.n_chains * self.n_draws,
            tree_depth_hits=int(np.sum(depth >= self.config.max_tree_depth)),
            max_tree_depth=self.config.max_tree_depth,
            what_to_try="Curve fit: try target_accept=0.95, more warmup, or thin=... "
            "(fewer checkpoints per run).")
        if warn and msgs:
            diagnostics.warn(msgs, title=f"diagnostics of the {self.law.name} curve fit:")
        return msgs

    def __repr__(self) -> str:
        return (f"<CurveFit law={self.law.name} noise={self.noise} runs={len(self.run_names)} "
                f"checkpoints={self.data.n} chains={self.n_chains} draws={self.n_draws} "
                f"divergences={self.divergences}>")

    # ------------------------------------------------------------------ files
    def _info(self) -> dict[str, Any]:
        d = self.data
        return {"ref": self.ref, "meta": self.meta, "noise": self.noise,
                "curves": {"lam": d.lam, "warmup_factor": d.warmup_factor,
                           "min_fraction": d.min_fraction, "thin": d.thin, "source": d.source}}

    def _groups(self) -> dict:
        import xarray as xr

        t = self.data.table
        const = {c: t[c].to_numpy(dtype=float) for c in _TABLE_COLUMNS}
        const["run"] = t["run"].to_numpy().astype(str)
        dims = {"z": ["run"], "run_effect": ["run"]}
        attrs = _arviz._attrs(self._attrs())
        post = _arviz._group(self.posterior, sampled=True, dims=dims,
                             coords={"run": np.asarray(self.run_names)}, attrs=attrs)
        stats = _arviz._group(self.sample_stats, sampled=True, dims={}, coords={}, attrs=attrs)
        cd = xr.Dataset({k: ("checkpoint", v) for k, v in const.items()},
                        coords={"checkpoint": np.arange(len(t))}, attrs=attrs)
        return {"posterior": post, "sample_stats": stats, "constant_data": cd}

    @classmethod
    def _from_file(cls, idata, info, path: Path, error) -> CurveFit:
        law = get_law(info["law"])
        cd = _arviz.group_to_dict(idata, "constant_data")
        c = info["curves"]
        frame = pd.DataFrame({k: cd[k] for k in _TABLE_COLUMNS})
        frame["run"] = np.asarray(cd["run"]).astype(str)
        data = load_curves(frame, lam=c["lam"], warmup_factor=c["warmup_factor"],
                           min_fraction=c["min_fraction"], thin=c["thin"])
        data = CurveData(**{**data.__dict__, "source": c["source"]})
        if data.hash() != info["meta"].get("data_hash"):
            raise error(f"{path}: the stored curve data do not match the recorded data hash")
        return cls(law=law, data=data, noise=info["noise"],
                   posterior=_arviz.group_to_dict(idata, "posterior"),
                   sample_stats=_arviz.group_to_dict(idata, "sample_stats"),
                   priors={k: Prior.parse(v) for k, v in info["priors"].items()},
                   config=SamplerConfig(**info["config"]),
                   ref={k: float(v) for k, v in info["ref"].items()}, meta=info["meta"])

