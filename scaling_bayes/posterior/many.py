"""Many independent fits of one law: :class:`ManyFits`, the result of
:func:`scaling_bayes.fit_many` (arrays with a leading fit axis)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import ScalingData
from scaling_bayes.laws.base import Law, get_law
from scaling_bayes.model.priors import SIGMA, Prior
from scaling_bayes.model.settings import SamplerConfig
from scaling_bayes.posterior import diagnostics as dg
from scaling_bayes.posterior import idata as _arviz
from scaling_bayes.posterior.base import (
    FORMAT_VERSION,
    FORMATS,
    Posterior,
    _constant_data,
    _data_from_columns,
    _data_info,
    package_versions,
)
from scaling_bayes.posterior.fit import Fit


@FORMATS.register("many")
@dataclass(frozen=True, eq=False)
class ManyFits(Posterior):
    """Results of :func:`~scaling_bayes.inference.many.fit_many`: arrays with a leading fit
    axis, per-fit diagnostics; ``many[i]`` is fit ``i`` as a
    :class:`~scaling_bayes.posterior.fit.Fit`. Saved as kind ``"many"`` (the draws with a
    labelled ``fit`` axis, the pointwise log-likelihood and the observations of every fit, rows
    concatenated in fit order)."""

    what = "many fits"

    law: Law
    names: list[str]
    datas: list[ScalingData]
    posterior: dict[str, np.ndarray]  # (fit, chain, draw)
    sample_stats: dict[str, np.ndarray]
    priors: dict[str, Prior]
    config: SamplerConfig
    refs: list[dict[str, float]]
    modes: list[dict[str, float]]
    timings: dict[str, float]
    _run: Any = field(repr=False, default=None)
    _ll: np.ndarray | None = field(repr=False, default=None)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return (f"<ManyFits law={self.law.name} fits={len(self)} chains={self.config.chains} "
                f"draws={self.config.draws} divergent fits={int(np.sum(self.divergences > 0))}>")

    @property
    def divergences(self) -> np.ndarray:
        """Divergent transitions per fit."""
        return self.sample_stats["diverging"].sum(axis=(1, 2))

    def summary(self, params: Sequence[str] | None = None,
                quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Per-fit posterior table indexed by (fit, parameter), computed vectorized over fits."""
        names = list(params) if params else [*self.law.param_names, SIGMA.name]
        frames = []
        for p in names:
            x = np.moveaxis(self.posterior[p], 0, -1)  # (chain, draw, fit)
            flat = x.reshape(-1, x.shape[-1])
            cols = {"mean": flat.mean(axis=0), "sd": flat.std(axis=0, ddof=1)}
            for q, v in zip(quantiles, np.quantile(flat, quantiles, axis=0), strict=True):
                cols[dg._quantile_label(q)] = v
            cols.update(mcse_mean=dg.mcse_mean(x), ess_bulk=dg.ess_bulk(x),
                        ess_tail=dg.ess_tail(x), r_hat=dg.rhat(x))
            frames.append(pd.DataFrame(cols, index=pd.MultiIndex.from_product(
                [self.names, [p]], names=["fit", "parameter"])))
        return pd.concat(frames).sort_index(level=0, sort_remaining=False)

    def check(self, rhat_max: float = 1.01, ess_min: float = 400) -> dict[str, list[str]]:
        """Diagnostic problems per fit (only fits with problems appear)."""
        s = self.summary([*self.law.param_names, *self.law.site_names, SIGMA.name])
        out = {}
        depth = self.sample_stats["tree_depth"]
        for i, name in enumerate(self.names):
            msgs = dg.check(s.xs(name, level="fit").loc[lambda t: ~t.index.duplicated()],
                            divergences=int(self.divergences[i]),
                            n_draws_total=self.config.chains * self.config.draws,
                            tree_depth_hits=int(np.sum(depth[i] >= self.config.max_tree_depth)),
                            max_tree_depth=self.config.max_tree_depth,
                            rhat_max=rhat_max, ess_min=ess_min)
            if msgs:
                out[name] = msgs
        return out

    def __getitem__(self, key: int | str):
        """Fit ``key`` (position or name) as a full :class:`~scaling_bayes.posterior.fit.Fit`."""
        i = self.names.index(key) if isinstance(key, str) else int(key)
        if not -len(self) <= i < len(self):
            raise IndexError(f"fit index {key} out of range for {len(self)} fits")
        i %= len(self)
        data = self.datas[i]
        if self._ll is not None:
            ll = self._ll[i, ..., : data.n]
        else:
            run = self._run
            args_i = _index_args(run.args, i)
            _, ll = run.program.postprocess(run.flat_draws[i][None], args_i)
            ll = np.asarray(ll)[0].reshape(self.config.chains, self.config.draws, -1)
            ll = ll[..., : data.n]
        return Fit.from_sampler(
            law=self.law, data=data, posterior={k: v[i] for k, v in self.posterior.items()},
            sample_stats={k: v[i] for k, v in self.sample_stats.items()}, log_likelihood=ll,
            priors=self.priors, config=self.config, ref=self.refs[i], mode=self.modes[i],
            timings=self.timings)


    # ------------------------------------------------------------------ files
    def rows_log_likelihood(self) -> np.ndarray:
        """Pointwise log-likelihood of every fit's rows, concatenated in fit order:
        ``(chain, draw, rows)``."""
        if self._ll is not None:
            parts = [self._ll[i, ..., : d.n] for i, d in enumerate(self.datas)]
        else:
            parts = [self[i].log_likelihood for i in range(len(self))]
        return np.concatenate(parts, axis=-1)

    def rows_log_loss(self) -> np.ndarray:
        """Observed log-loss of every fit's rows, concatenated in fit order."""
        return np.log(np.concatenate([d.loss for d in self.datas]))

    def _info(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "refs": self.refs,
            "modes": self.modes,
            "timings": self.timings,
            "data": [_data_info(d) for d in self.datas],
            "data_hashes": [d.hash() for d in self.datas],
            "meta": {"format_version": FORMAT_VERSION, "versions": package_versions()},
        }

    def _groups(self) -> dict:
        def fit_last(arrays):  # (fit, chain, draw, ...) -> (chain, draw, fit, ...)
            return {k: np.moveaxis(np.asarray(v), 0, 2) for k, v in arrays.items()}

        posterior, stats = fit_last(self.posterior), fit_last(self.sample_stats)
        dims = {k: ["fit"] for k in (*posterior, *stats)}
        return _arviz.datasets(
            posterior=posterior, sample_stats=stats,
            log_likelihood=self.rows_log_likelihood(), observed_log_loss=self.rows_log_loss(),
            constant_data=_rows_columns(self.datas), attrs=self._attrs(),
            dims=dims, coords={"fit": list(self.names)})

    @classmethod
    def _from_file(cls, idata, info, path, error) -> ManyFits:
        try:
            law = get_law(info["law"])
        except ValueError as e:
            raise error(f"{path} holds fits of law {info['law']!r}, unknown here: {e}") from None

        def fit_first(arrays):
            return {k: np.moveaxis(v, 2, 0) for k, v in arrays.items()}

        const = _arviz.group_to_dict(idata, "constant_data")
        row_fit = const.pop(_ROW_FIT)
        datas = []
        for i, d in enumerate(info["data"]):
            rows = row_fit == i
            data = _data_from_columns({k: v[rows] for k, v in const.items()}, d)
            if data.hash() != info["data_hashes"][i]:
                raise error(f"{path}: the stored data of fit {info['names'][i]!r} do not match "
                            "the recorded data hash")
            datas.append(data)
        rows_ll = _arviz.group_to_dict(idata, "log_likelihood")["log_loss"]
        ll = np.full((len(datas), *rows_ll.shape[:2], max(d.n for d in datas)), np.nan)
        start = 0
        for i, d in enumerate(datas):
            ll[i, ..., : d.n] = rows_ll[..., start:start + d.n]
            start += d.n
        return cls(
            law=law, names=list(info["names"]), datas=datas,
            posterior=fit_first(_arviz.group_to_dict(idata, "posterior")),
            sample_stats=fit_first(_arviz.group_to_dict(idata, "sample_stats")),
            priors={k: Prior.parse(v) for k, v in info["priors"].items()},
            config=SamplerConfig(**{"extrapolation": "none", **info["config"]}),
            refs=[{k: float(v) for k, v in r.items()} for r in info["refs"]],
            modes=list(info["modes"]), timings=dict(info["timings"]), _ll=ll)


_ROW_FIT = "fit_of_row"  # constant_data variable: the fit each concatenated row belongs to


def _rows_columns(datas: list[ScalingData]) -> dict[str, np.ndarray]:
    """Every fit's constant_data columns, rows concatenated in fit order (a column a fit lacks
    is filled: NaN, False or ""; its description in the file leaves it out on reading)."""
    cols = [_constant_data(d) for d in datas]
    names = list(dict.fromkeys(k for c in cols for k in c))
    out = {}
    for k in names:
        parts = []
        for c, d in zip(cols, datas, strict=True):
            if k in c:
                parts.append(np.asarray(c[k]))
            else:
                like = next(np.asarray(x[k]) for x in cols if k in x)
                fill = "" if like.dtype.kind in "US" else (False if like.dtype == bool else np.nan)
                parts.append(np.full(d.n, fill, dtype=like.dtype if fill == "" else None))
        out[k] = np.concatenate(parts)
    out[_ROW_FIT] = np.concatenate([np.full(d.n, i) for i, d in enumerate(datas)])
    return out


def _index_args(args, i: int):
    import jax

    return jax.tree_util.tree_map(lambda a: a[i : i + 1], args)
