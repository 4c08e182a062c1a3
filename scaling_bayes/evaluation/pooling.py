"""Partial pooling against no pooling and complete pooling: PSIS-LOO on the same rows.

:func:`compare_pooling` fits a law three ways to groups of runs (independent fits per group,
one fit to all rows, the hierarchical fit of :func:`scaling_bayes.fit_hierarchical`) and
compares their predictive densities of the same observations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import DataError, load_data
from scaling_bayes.inference.fit import fit as single_fit
from scaling_bayes.inference.hierarchical import fit_hierarchical
from scaling_bayes.inference.many import fit_many
from scaling_bayes.laws.base import Law
from scaling_bayes.posterior import idata as _arviz
from scaling_bayes.posterior.many import ManyFits


def compare_pooling(
    data,
    law: str | Law = "chinchilla",
    *,
    group: str | Sequence[str],
    pool=None,
    size_effect: bool | None = None,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    hierarchical: Mapping[str, Any] | None = None,
    **kwargs,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """PSIS-LOO of partial pooling against no pooling and complete pooling, same rows.

    Fits ``law`` three ways to the same observations (:func:`pooling_fits`): ``"no pooling"``
    (an independent fit per group, :func:`scaling_bayes.fit_many`), ``"complete pooling"`` (one
    fit to all rows, :func:`scaling_bayes.fit`) and ``"partial pooling"``
    (:func:`~scaling_bayes.inference.hierarchical.fit_hierarchical` with ``pool``); with
    ``size_effect=True`` also ``"partial pooling + size effect"`` instead, and with
    ``size_effect=None`` (default) both. ``kwargs`` go to every fit (e.g. ``likelihood``),
    ``hierarchical`` only to the hierarchical ones (e.g. ``{"centered": True,
    "target_accept": 0.99}``).

    Returns ``(table, fits)``: the ``arviz.compare`` table (elpd_loo, p_loo, elpd_diff, dse,
    stacking weight) plus ``n_pareto_k_gt_0.7`` and ``divergences`` per model
    (:func:`pooling_loo`), and the fits.
    """
    fits = pooling_fits(
        data,
        law,
        group=group,
        pool=pool,
        size_effect=size_effect,
        seed=seed,
        chains=chains,
        warmup=warmup,
        draws=draws,
        hierarchical=hierarchical,
        **kwargs,
    )
    return pooling_loo(fits), fits


def pooling_fits(
    data,
    law: str | Law = "chinchilla",
    *,
    group: str | Sequence[str],
    pool=None,
    size_effect: bool | None = None,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    hierarchical: Mapping[str, Any] | None = None,
    **kwargs,
) -> dict[str, Any]:
    """The fits of :func:`compare_pooling`, by name, without the LOO table (rows sorted by
    group, so that every fit sees the observations in the same order)."""
    if not isinstance(data, pd.DataFrame):
        data = load_data(data).to_frame()
    cols = [group] if isinstance(group, str) else list(group)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise DataError(f"group column {missing[0]!r} is not in the data")
    gcol = cols[0] if len(cols) == 1 else "/".join(cols)
    df = data.copy()
    if len(cols) > 1:
        df[gcol] = df[cols].astype(str).agg("/".join, axis=1)
    labels = df[gcol].astype(str)
    groups = sorted(set(labels))
    order = pd.Categorical(labels, categories=groups).codes
    df = df.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    labels = df[gcol].astype(str)
    common = {"seed": seed, "chains": chains, "warmup": warmup, "draws": draws, **kwargs}
    fits: dict[str, Any] = {}
    many = fit_many({g: df[labels == g] for g in groups}, law=law, log_likelihood=True, **common)
    fits["no pooling"] = many
    fits["complete pooling"] = single_fit(df, law=law, warn=False, **common)
    variants = [False, True] if size_effect is None else [bool(size_effect)]
    for se in variants:
        name = "partial pooling" + (" + size effect" if se else "")
        fits[name] = fit_hierarchical(
            df,
            law=law,
            group=gcol,
            pool=pool,
            size_effect=se,
            warn=False,
            **{**common, **dict(hierarchical or {})},
        )
    return fits


def pooling_loo(fits: Mapping[str, Any]) -> pd.DataFrame:
    """The PSIS-LOO table of :func:`compare_pooling` from its fits: ``"no pooling"`` a
    :class:`~scaling_bayes.posterior.many.ManyFits` (with log-likelihoods, groups in the pooled
    rows' order), the others a Fit or a
    :class:`~scaling_bayes.posterior.hierarchical.HierarchicalFit` of the same rows."""
    import warnings

    idatas = {}
    for k, v in fits.items():
        if isinstance(v, ManyFits):  # one fit per group, rows concatenated in order
            post = {
                f"{p}[{g}]": v.posterior[p][i]
                for i, g in enumerate(v.names)
                for p in v.law.param_names
            }
            idatas[k] = _arviz.from_log_likelihood(v.rows_log_likelihood(), v.rows_log_loss(),
                                                   post)
        else:
            idatas[k] = v.idata
    ys = [np.asarray(i.observed_data["log_loss"].values) for i in idatas.values()]
    if any(y.shape != ys[0].shape or not np.array_equal(y, ys[0]) for y in ys):
        raise ValueError(
            "pooling_loo: the fits do not see the same observations in the same "
            "order (LOO compares predictive densities of the same rows)"
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = _arviz.compare(idatas, ic="loo", method="stacking")
        table["n_pareto_k_gt_0.7"] = [
            int(np.sum(np.asarray(_arviz.loo(idatas[k]).pareto_k) > 0.7)) for k in table.index
        ]
    div = {k: int(np.sum(v.divergences)) for k, v in fits.items()}
    table["divergences"] = [div[k] for k in table.index]
    return table
