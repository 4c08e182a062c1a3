"""The result of a fit: posterior draws as labelled arrays, settings, provenance; save/load.

A :class:`Fit` is immutable. ``fit.idata`` builds an ``arviz.InferenceData`` on first use (the
fit path itself does not import ArviZ); ``fit.summary()`` is a DataFrame indexed by parameter;
``fit.save(path)`` writes one netCDF file atomically, and :func:`load_fit` restores the fit exactly
(every array bit-for-bit). The file holds a ``posterior_predictive`` group (replicated log-loss at
the data's rows, :attr:`Fit.posterior_predictive`), so ``arviz.plot_ppc(arviz.from_netcdf(path))``
works; files written before it existed load too (the group is then drawn again, identically).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import STANDARD, ScalingData
from scaling_bayes.inference.engine import SamplerConfig
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import SIGMA, Prior

#: Version of the on-disk format written by :meth:`Fit.save`.
FORMAT_VERSION = 1
_ATTR = "scaling_bayes"
#: Mixed with a fit's seed to seed its posterior predictive draws (a stream of their own).
_PREDICTIVE_STREAM = 0x5050_4C4C
_CHUNK = 1 << 21  # (draw x row) elements of the law mean evaluated at once


class FitFileError(ValueError):
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


def law_log_loss(law: Law, theta: dict[str, np.ndarray], data: ScalingData) -> np.ndarray:
    """The law's mean log-loss at every row of ``data`` for every draw: ``theta`` maps the
    textbook parameters to arrays of one shape (e.g. ``(chain, draw)``); the result has that
    shape plus ``(data.n,)``. One jitted program over chunks of draws of one size (memory stays
    bounded; compiled once per data size: ~0.05 s from JAX's persistent cache, where eager
    evaluation takes 0.3-1.5 s)."""
    import jax
    import jax.numpy as jnp

    from scaling_bayes.inference.engine import enable_x64_on_cpu

    enable_x64_on_cpu()
    shape = np.shape(theta[law.param_names[0]])
    n_draws = int(np.prod(shape, dtype=int))
    flat = {k: np.asarray(theta[k], dtype=float).reshape(-1) for k in law.param_names}
    inputs = {v: jnp.asarray(data.get(v), dtype=float)[None, :] for v in law.inputs}
    step = max(1, min(n_draws, _CHUNK // max(data.n, 1)))
    fn = jax.jit(lambda th, x: jnp.broadcast_to(law.log_loss(th, x), (step, data.n)))
    out = np.empty((n_draws, data.n))
    for s in range(0, n_draws, step):
        # the last chunk is padded with its last draw: every call has the same shapes
        idx = np.minimum(np.arange(s, s + step), n_draws - 1)
        mu = fn({k: jnp.asarray(v[idx])[:, None] for k, v in flat.items()}, inputs)
        out[s:s + step] = np.asarray(mu)[: n_draws - s]
    return out.reshape(*shape, data.n)


def replicate_log_loss(mu: np.ndarray, sigma: np.ndarray, config: SamplerConfig) -> np.ndarray:
    """Posterior predictive log-loss: ``mu + sigma * eps`` with ``eps`` from the fit's likelihood
    (standard Normal, or Student-t with ``config.nu``; see
    :func:`scaling_bayes.model.likelihoods.observation_dist`). ``mu`` is ``(*draws, n)``, ``sigma``
    ``draws``-shaped. The generator is seeded by ``config.seed`` (and a fixed stream tag), so
    the same fit always gets the same replicates."""
    from scaling_bayes.decisions.forecast import _standard_noise

    rng = np.random.default_rng([int(config.seed), _PREDICTIVE_STREAM])
    eps = _standard_noise(rng, np.shape(mu), config.likelihood, float(config.nu))
    return np.asarray(mu, dtype=float) + np.asarray(sigma, dtype=float)[..., None] * eps


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


@dataclass(frozen=True, eq=False)
class Fit:
    """Posterior of one law on one data set.

    Attributes
    ----------
    law
        The :class:`~scaling_bayes.laws.base.Law`.
    data
        The validated observations.
    posterior
        ``{name: array (chain, draw)}`` for the sampler parameters, the textbook parameters
        (e.g. ``E, A, B, alpha, beta``) and ``sigma``.
    sample_stats
        NUTS statistics per draw: ``diverging``, ``n_steps``, ``tree_depth``,
        ``acceptance_rate``, ``lp``, ``energy``, ``step_size``.
    log_likelihood
        Pointwise log-likelihood of the observed log-loss, ``(chain, draw, n)``.
    priors, config, ref
        Priors used, sampler settings, pivot scales of the sampler parameterization.
    meta
        Provenance: data hash, package versions, creation time, timings, posterior mode.
    """

    law: Law
    data: ScalingData
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    log_likelihood: np.ndarray
    priors: dict[str, Prior]
    config: SamplerConfig
    ref: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_sampler(cls, *, law, data, posterior, sample_stats, log_likelihood, priors, config,
                     ref, mode, timings) -> Fit:
        meta = {
            "format_version": FORMAT_VERSION,
            "data_hash": data.hash(),
            "versions": package_versions(),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "timings": {k: float(v) for k, v in timings.items()},
            "mode": mode,
        }
        return cls(law=law, data=data, posterior=posterior, sample_stats=sample_stats,
                   log_likelihood=log_likelihood, priors=dict(priors), config=config,
                   ref={k: float(v) for k, v in ref.items()}, meta=meta)

    # ------------------------------------------------------------------ access
    @property
    def reported(self) -> tuple[str, ...]:
        """Names of the parameters users read: the textbook ones and ``sigma``."""
        return (*self.law.param_names, SIGMA.name)

    @property
    def sampled(self) -> tuple[str, ...]:
        """Names of the sampler parameters."""
        return (*self.law.site_names, SIGMA.name)

    @property
    def n_chains(self) -> int:
        return int(self.sample_stats["diverging"].shape[0])

    @property
    def n_draws(self) -> int:
        return int(self.sample_stats["diverging"].shape[1])

    @property
    def divergences(self) -> int:
        return int(np.sum(self.sample_stats["diverging"]))

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of ``name``, shape ``(chain, draw)``."""
        try:
            return self.posterior[name]
        except KeyError:
            raise KeyError(
                f"no parameter {name!r} in this {self.law.name} fit; available: "
                f"{', '.join(self.posterior)}") from None

    def textbook_draws(self) -> dict[str, np.ndarray]:
        """Textbook parameters as flat arrays over all draws (chains concatenated)."""
        return {k: self.posterior[k].reshape(-1) for k in self.law.param_names}

    # ------------------------------------------------------------------ summaries
    def summary(self, params: str | list[str] | None = None,
                quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Posterior table indexed by parameter.

        Columns: mean, sd, the requested quantiles (``q5``, ``q50``, ``q95``: the 90% central
        interval by default), mcse_mean, ess_bulk, ess_tail and rank-normalized r_hat.
        ``params``: ``None`` for the reported (textbook) parameters, ``"sampled"`` for the sampler
        parameters, ``"all"`` for both, or a list of names.
        """
        from scaling_bayes.posterior.diagnostics import summarize

        if params is None:
            names = list(self.reported)
        elif params == "sampled":
            names = list(self.sampled)
        elif params == "all":
            names = list(dict.fromkeys((*self.reported, *self.sampled)))
        else:
            names = [params] if isinstance(params, str) else list(params)
        return summarize({k: self.draws(k) for k in names}, quantiles=quantiles)

    def check(self, warn: bool = False):
        """Diagnostic problems (an empty list if clean): one line per kind of problem (R-hat >
        1.01 or NaN, bulk or tail ESS < 400 or NaN, divergences, tree-depth hits) naming the
        parameters and their values; the advice is in ``.advice`` (a
        :class:`~scaling_bayes.posterior.diagnostics.Problems`). ``print(fit.check().block())`` shows the
        block.

        R-hat and ESS are checked for the reported and the sampled parameters. With
        ``warn=True`` the block is also issued as one ``DiagnosticWarning``.
        """
        from scaling_bayes.posterior import diagnostics

        depth = self.sample_stats["tree_depth"]
        msgs = diagnostics.check(
            self.summary("all"),
            divergences=self.divergences,
            n_draws_total=self.n_chains * self.n_draws,
            tree_depth_hits=int(np.sum(depth >= self.config.max_tree_depth)),
            max_tree_depth=self.config.max_tree_depth,
        )
        if warn and msgs:
            diagnostics.warn(msgs, title=f"diagnostics of the {self.law.name} fit:")
        return msgs

    def __repr__(self) -> str:
        return (f"<Fit law={self.law.name} n={self.data.n} chains={self.n_chains} "
                f"draws={self.n_draws} divergences={self.divergences}>")

    # ------------------------------------------------------------------ ArviZ
    def _attrs(self) -> dict[str, Any]:
        info = {
            "law": self.law.name,
            "priors": {k: str(v) for k, v in self.priors.items()},
            "config": self.config.to_dict(),
            "ref": self.ref,
            "meta": self.meta,
            "data": {
                "source": self.data.source,
                "flop_convention": self.data.flop_convention,
                "columns_used": self.data.columns_used,
                "present": [k for k in STANDARD if getattr(self.data, k) is not None],
                "extra": {c: str(self.data.extra[c].dtype) for c in self.data.extra.columns},
            },
        }
        return {_ATTR: json.dumps(info), "law": self.law.name,
                "data_hash": self.meta.get("data_hash", ""),
                "scaling_bayes_version": self.meta.get("versions", {}).get("scaling_bayes", "")}

    def _constant_data(self) -> dict[str, np.ndarray]:
        out = {k: getattr(self.data, k) for k in STANDARD if getattr(self.data, k) is not None}
        for c in self.data.extra.columns:
            s = self.data.extra[c]
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                out[f"extra:{c}"] = s.to_numpy()
            else:
                out[f"extra:{c}"] = s.astype(str).to_numpy().astype(str)
        return out

    @cached_property
    def posterior_predictive(self) -> np.ndarray:
        """Replicated observations ``(chain, draw, n)``, on the scale of ``observed_data``
        (log-loss): each draw's law mean at the data's rows plus noise from the fit's likelihood
        (:func:`replicate_log_loss`: Normal or Student-t with ``config.nu``, scale ``sigma``),
        from a generator seeded by ``config.seed``. Saved with the fit (group
        ``posterior_predictive``, variable ``log_loss``, as in ``observed_data``)."""
        theta = {k: self.posterior[k] for k in self.law.param_names}
        return replicate_log_loss(law_log_loss(self.law, theta, self.data),
                                  self.posterior[SIGMA.name], self.config)

    def _groups(self) -> dict:
        from scaling_bayes.posterior import idata as _arviz

        return _arviz.datasets(
            posterior=self.posterior, sample_stats=self.sample_stats,
            log_likelihood=self.log_likelihood, observed_log_loss=np.log(self.data.loss),
            posterior_predictive=self.posterior_predictive,
            constant_data=self._constant_data(), attrs=self._attrs())

    @cached_property
    def idata(self):
        """ArviZ InferenceData: posterior (textbook names included), posterior_predictive
        (replicated log-loss, :attr:`posterior_predictive`), sample_stats, log_likelihood,
        observed_data (log-loss) and constant_data (N, D, C, loss, extras)."""
        from scaling_bayes.posterior import idata as _arviz

        return _arviz.as_inference_data(self._groups())

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fit to one netCDF file (atomically: a temporary file, then a rename), in
        ArviZ's InferenceData layout (``arviz.from_netcdf`` reads it), without importing
        ArviZ."""
        from scaling_bayes.posterior import idata as _arviz

        groups = self._groups()
        return atomic_write(path, lambda tmp: _arviz.write_datasets(groups, tmp))


def load_fit(path: str | os.PathLike) -> Fit:
    """Read a fit written by :meth:`Fit.save`; every array is restored exactly."""
    from scaling_bayes.posterior import idata as _arviz

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"fit file not found: {path}")
    try:
        idata = _arviz.read_netcdf(path)
    except Exception as e:  # h5py/xarray raise many types for a non-netCDF file
        raise FitFileError(f"{path} is not a scaling_bayes fit file ({type(e).__name__})") from None
    attrs = _arviz.group_attrs(idata, "posterior") if "posterior" in idata.groups() else {}
    if _ATTR not in attrs:
        raise FitFileError(f"{path} is a netCDF file but not a scaling_bayes fit")
    info = json.loads(attrs[_ATTR])
    if info.get("kind") == "hierarchical":
        raise FitFileError(f"{path} holds a hierarchical fit: load it with "
                           "scaling_bayes.load_hierarchical (and .group(name) for one group)")
    fmt = info["meta"].get("format_version")
    written_by = info["meta"].get("versions", {}).get("scaling_bayes", "unknown")
    if fmt != FORMAT_VERSION:
        raise FitFileError(
            f"{path} was written by scaling_bayes {written_by} in fit format {fmt}; this "
            f"version reads format {FORMAT_VERSION}: refit, or load it with scaling_bayes "
            f"{written_by}")
    try:
        law = get_law(info["law"])
    except ValueError as e:
        raise FitFileError(
            f"{path} holds a fit of law {info['law']!r}, unknown here: {e}. If it is a "
            "user-defined law, define it again in this process first with "
            "scaling_bayes.custom_law(name, ..., register=True) (same name, parameters and "
            "inputs), then load the fit") from None
    stored = set(_arviz.group_to_dict(idata, "posterior"))
    missing = [p for p in (*law.param_names, *law.site_names) if p not in stored]
    if missing:
        raise FitFileError(
            f"{path}: law {law.name!r} here has parameters {', '.join(missing)} that the file "
            f"(written by scaling_bayes {written_by}) lacks: the law changed; refit")
    data = _data_from_idata(idata, info["data"])
    config = SamplerConfig(**info["config"])
    fit = Fit(
        law=law, data=data,
        posterior=_arviz.group_to_dict(idata, "posterior"),
        sample_stats=_arviz.group_to_dict(idata, "sample_stats"),
        log_likelihood=_arviz.group_to_dict(idata, "log_likelihood")["log_loss"],
        priors={k: Prior.parse(v) for k, v in info["priors"].items()},
        config=config, ref={k: float(v) for k, v in info["ref"].items()}, meta=info["meta"])
    if fit.data.hash() != info["meta"].get("data_hash"):
        raise FitFileError(f"{path}: the stored data do not match the recorded data hash")
    if _restore_predictive(fit, idata, path, FitFileError):
        fit.__dict__["idata"] = idata
    # else: a file from before the posterior_predictive group; fit.idata is built again (with
    # the group, drawn from the stored posterior exactly as a save would)
    return fit


def _restore_predictive(fit, idata, path, error: type[Exception]) -> bool:
    """Pin the file's posterior predictive draws on ``fit`` (a :class:`Fit` or a hierarchical
    fit), so saving it again writes them unchanged; False when the file has none."""
    from scaling_bayes.posterior import idata as _arviz

    pp = _arviz.group_to_dict(idata, "posterior_predictive").get("log_loss")
    if pp is None:
        return False
    if pp.shape != fit.log_likelihood.shape:
        raise error(f"{path}: posterior_predictive has shape {pp.shape}, the log-likelihood "
                    f"{fit.log_likelihood.shape}: the file is damaged; refit")
    fit.__dict__["posterior_predictive"] = pp
    return True


def _data_from_idata(idata, d: dict) -> ScalingData:
    """The observations stored in ``idata``'s constant_data, as described by ``d``."""
    from scaling_bayes.posterior import idata as _arviz

    const = _arviz.group_to_dict(idata, "constant_data")
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
