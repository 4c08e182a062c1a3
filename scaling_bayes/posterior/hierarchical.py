"""The posterior of a hierarchical fit (:func:`scaling_bayes.fit_hierarchical`): draws with a
labelled ``group`` (and ``size``) axis, population and per-group summaries, each group as an
ordinary :class:`~scaling_bayes.posterior.fit.Fit`; saved as kind ``"hierarchical"``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import ScalingData
from scaling_bayes.laws.base import Law
from scaling_bayes.model.priors import SIGMA, Prior
from scaling_bayes.model.settings import SamplerConfig
from scaling_bayes.posterior import diagnostics
from scaling_bayes.posterior import idata as _arviz
from scaling_bayes.posterior.base import FORMAT_VERSION, FORMATS, FitFileError, RowsPosterior
from scaling_bayes.posterior.diagnostics import summarize
from scaling_bayes.posterior.draws import law_on_draws
from scaling_bayes.posterior.fit import Fit

#: The ``group`` label of population-level rows in :meth:`HierarchicalFit.summary`.
POPULATION = "population"


class HierarchicalFileError(FitFileError):
    """A file is not a scaling_bayes hierarchical fit, or is from an incompatible version."""


@FORMATS.register("hierarchical")
@dataclass(frozen=True, eq=False)
class HierarchicalFit(RowsPosterior):
    """Posterior of a hierarchical fit (:func:`fit_hierarchical`).

    Attributes
    ----------
    law, data, group_column, groups
        The law, the pooled observations, the group column and the group names (sorted; the
        ``group`` axis of the draws follows this order).
    pool, size_effect, sizes
        Pooling of each site (sites not named vary freely by group), whether the per-size
        offsets are in the model, and the distinct model sizes (the ``size`` axis).
    posterior
        Draws: population and shared parameters ``(chain, draw)``; per-group parameters
        (the law's textbook and sampler parameters, ``{site}_u`` or ``{site}_z``)
        ``(chain, draw, group)``;
        ``size_offset``, ``size_z`` ``(chain, draw, size)``.
    sample_stats, log_likelihood, priors, config, ref, meta
        As in :class:`~scaling_bayes.posterior.fit.Fit`; ``log_likelihood`` is ``(chain, draw, n)``
        over the pooled rows, ``ref`` the pivots common to all groups.
    """

    what = "a hierarchical fit"

    law: Law
    data: ScalingData
    group_column: str
    groups: list[str]
    pool: dict[str, str]
    size_effect: bool
    sizes: np.ndarray
    centered: bool
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    log_likelihood: np.ndarray
    priors: dict[str, Prior]
    config: SamplerConfig
    ref: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ structure
    @property
    def group_index(self) -> np.ndarray:
        """Group position of every row of :attr:`data`."""
        labels = self.data.extra[self.group_column].astype(str).to_numpy()
        return np.searchsorted(np.asarray(self.groups), labels)

    def _kind(self, name: str) -> str:
        nd = self.posterior[name].ndim
        if nd == 2:
            return "population"
        return "size" if name.startswith("size_") else "group"

    @property
    def population_params(self) -> tuple[str, ...]:
        """Reported population-level names: ``{site}_pop`` and ``{site}_scale`` of partially
        pooled sites, shared sites (and their textbook parameters), ``sigma``, ``size_tau``."""
        out = []
        for s in self.law.site_names:
            if self.pool.get(s) == "partial":
                out += [f"{s}_pop", f"{s}_scale"]
            elif self.pool.get(s) == "shared":
                out.append(s)
        out += [
            p
            for p in self.law.param_names
            if p in self.posterior and self.posterior[p].ndim == 2 and p not in out
        ]
        out.append(SIGMA.name)
        if self.size_effect:
            out.append("size_tau")
        return tuple(out)

    @property
    def group_params(self) -> tuple[str, ...]:
        """Reported per-group names: the law's textbook parameters that vary by group."""
        return tuple(p for p in self.law.param_names if self.posterior[p].ndim == 3)

    @property
    def sampled(self) -> tuple[str, ...]:
        """Every latent (sampled) site."""
        return tuple(sorted(self.priors))

    # ------------------------------------------------------------------ summaries
    def _entries(self, names) -> list[tuple[str, str, np.ndarray]]:
        out = []
        for name in names:
            a = self.posterior[name]
            kind = self._kind(name)
            if kind == "population":
                out.append((name, POPULATION, a))
            elif kind == "group":
                out += [(name, g, a[..., i]) for i, g in enumerate(self.groups)]
            else:
                out += [(name, f"N={n:.4g}", a[..., i]) for i, n in enumerate(self.sizes)]
        return out

    def summary(
        self,
        params: str | Sequence[str] | None = None,
        quantiles: tuple[float, ...] = (0.05, 0.5, 0.95),
    ) -> pd.DataFrame:
        """Posterior table indexed by (parameter, group); population-level rows have group
        ``"population"``, per-size offsets ``"N=..."``.

        ``params``: ``None`` (population parameters, then the per-group textbook parameters),
        ``"population"``, ``"group"``, ``"all"`` (adds every sampled site and the per-group
        sampler parameters) or a list of names.
        """
        if params is None:
            names = [*self.population_params, *self.group_params]
        elif params == "population":
            names = list(self.population_params)
        elif params == "group":
            names = list(self.group_params)
        elif params == "all":
            names = list(
                dict.fromkeys(
                    (
                        *self.population_params,
                        *self.group_params,
                        *self.law.site_names,
                        *self.sampled,
                    )
                )
            )
        else:
            names = [params] if isinstance(params, str) else list(params)
        missing = [n for n in names if n not in self.posterior]
        if missing:
            raise KeyError(f"no parameter {missing[0]!r}; available: {', '.join(self.posterior)}")
        entries = self._entries(names)
        table = summarize({str(i): a for i, (_, _, a) in enumerate(entries)}, quantiles=quantiles)
        table.index = pd.MultiIndex.from_tuples(
            [(n, g) for n, g, _ in entries], names=["parameter", "group"]
        )
        return table

    def check(self, warn: bool = False) -> list[str]:
        """Diagnostic problems (empty if clean): divergences, R-hat > 1.01, ESS < 400 over
        every reported and sampled quantity, tree-depth hits."""
        s = self.summary("all")
        s.index = [n if g == POPULATION else f"{n}[{g}]" for n, g in s.index]
        depth = self.sample_stats["tree_depth"]
        msgs = diagnostics.check(
            s,
            divergences=self.divergences,
            n_draws_total=self.n_chains * self.n_draws,
            tree_depth_hits=int(np.sum(depth >= self.config.max_tree_depth)),
            max_tree_depth=self.config.max_tree_depth,
            what_to_try=(
                f"Hierarchical fit: try centered={not self.centered} (the other "
                "parameterization of the pooled sites) and target_accept=0.99."
            ),
        )
        if warn and msgs:
            diagnostics.warn(msgs, title=f"diagnostics of the hierarchical {self.law.name} fit:")
        return msgs

    def __repr__(self) -> str:
        return (
            f"<HierarchicalFit law={self.law.name} group={self.group_column} "
            f"groups={len(self.groups)} n={self.data.n} pool={self.pool} "
            f"size_effect={self.size_effect} chains={self.n_chains} draws={self.n_draws} "
            f"divergences={self.divergences}>"
        )

    # ------------------------------------------------------------------ per group
    def loo(self):
        """PSIS-LOO over the pooled rows (ArviZ ELPDData)."""
        return _arviz.loo(self.idata, pointwise=True)

    def group(self, name: str):
        """Group ``name`` as an ordinary :class:`~scaling_bayes.posterior.fit.Fit` of the base law
        (its rows, its draws of every law parameter, the shared ``sigma``; the per-size offsets
        are left out, i.e. at their mean of zero), so allocation, forecasts and plots work."""
        if name not in self.groups:
            raise KeyError(f"no group {name!r}; groups: {', '.join(self.groups)}")
        i = self.groups.index(name)
        rows = self.group_index == i
        keep = (*self.law.param_names, *self.law.site_names, SIGMA.name)
        post = {}
        for k in dict.fromkeys(keep):
            a = self.posterior[k]
            post[k] = a[..., i] if a.ndim == 3 else a
        priors = {k: v for k, v in self.priors.items() if k in keep}
        meta = {
            **self.meta,
            "hierarchical": {
                "group_column": self.group_column,
                "group": name,
                "groups": self.groups,
                "pool": self.pool,
                "size_effect": self.size_effect,
            },
        }
        return Fit(
            law=self.law,
            data=self.data.subset(rows),
            posterior=post,
            sample_stats=self.sample_stats,
            log_likelihood=self.log_likelihood[..., rows],
            priors=priors,
            config=self.config,
            ref=dict(self.ref),
            meta={**meta, "data_hash": self.data.subset(rows).hash(),
                  "format_version": FORMAT_VERSION},
        )

    # ------------------------------------------------------------------ ArviZ, save / load
    def _dims(self) -> tuple[dict, dict]:
        dims = {}
        for k, a in self.posterior.items():
            if a.ndim == 3:
                dims[k] = ["size" if self._kind(k) == "size" else "group"]
        coords = {"group": list(self.groups)}
        if self.size_effect:
            coords["size"] = np.asarray(self.sizes, dtype=float)
        return dims, coords

    def _info(self) -> dict[str, Any]:
        return {
            "group": self.group_column,
            "groups": self.groups,
            "pool": self.pool,
            "size_effect": self.size_effect,
            "centered": self.centered,
            "sizes": [float(v) for v in self.sizes],
            **super()._info(),
        }

    def _law_mean(self) -> np.ndarray:
        """Each row's group law mean (plus its size offset), ``(chain, draw, n)``."""
        mu = np.empty(self.log_likelihood.shape)
        group_index = self.group_index
        for i in range(len(self.groups)):
            rows = group_index == i
            post = {k: self.posterior[k] for k in self.law.param_names}
            theta = {k: a[..., i] if a.ndim == 3 else a for k, a in post.items()}
            mu[..., rows] = law_on_draws(self.law, theta, self.data.subset(rows))
        if self.size_effect:
            size = np.searchsorted(self.sizes, self.data.get("N"))
            mu += self.posterior["size_offset"][..., size]
        return mu

    @classmethod
    def _from_file(cls, idata, info, path, error) -> HierarchicalFit:
        fields = cls._read(idata, info, path, error)
        fit = cls(
            **fields,
            group_column=info["group"],
            groups=list(info["groups"]),
            pool=dict(info["pool"]),
            size_effect=bool(info["size_effect"]),
            sizes=np.asarray(info["sizes"], dtype=float),
            centered=bool(info["centered"]),
            config=SamplerConfig(**{"extrapolation": "none", **info["config"]}),
        )
        fit._restore(idata, path, error)
        return fit


def load_hierarchical(path: str | os.PathLike) -> HierarchicalFit:
    """Read a fit written by :meth:`HierarchicalFit.save`; every array is restored exactly
    (:func:`scaling_bayes.load_fit` reads it too; this one refuses other kinds of file)."""
    return FORMATS.load(path, expect=HierarchicalFit, error=HierarchicalFileError)
