"""Comparing laws fitted to the same data: PSIS-LOO, WAIC, stacking, and what each law implies.

:func:`compare` takes fits of several laws (e.g. Kaplan and Chinchilla) **on the same
observations** and reports, one row per fit,

* PSIS-LOO (``elpd_loo``, its SE, ``p_loo``), the ELPD difference to the best fit with the SE of
  the difference (``dse``), stacking weights and the number of Pareto ``k > 0.7`` observations,
  whose LOO estimates are unreliable, and WAIC (``elpd_waic``, ``p_waic``);
* the compute-optimal allocation exponents ``a`` (``N_opt ∝ C^a``) and ``b`` (``D_opt ∝ C^b``)
  with 90% intervals, and (in :attr:`ComparisonResult.allocations`) ``N_opt``, ``D_opt``,
  tokens/param and the loss at the optimum at the chosen budgets.

Every law's likelihood is on the *same* observed log-loss, so the ELPDs compare predictive
densities of the same numbers and are comparable across laws (not across data sets, nor with fits
on loss instead of log-loss).

With ``baselines=True`` the classical Chinchilla Approach 3 (Huber fit on log-loss, Hoffmann 2022
as replicated by Epoch 2024) and its bootstrap add one row: point estimates of ``a``, ``b`` and the
allocations with bootstrap 90% intervals. LOO does not apply to a point fit: its ELPD columns are
NaN.

:func:`compare_conventions` fits one law per parameter-count convention (Pearce & Song 2024;
Porian et al. 2024), all in one vmapped program (:func:`scaling_bayes.fit_many`), and shows how the
allocation exponent moves.

All ArviZ calls go through :mod:`scaling_bayes.posterior.idata`; the figures are in
:mod:`scaling_bayes.plots.comparison`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes.data.datasets import load_dataset
from scaling_bayes.decisions.allocation import COMPUTE_RANGE, _as_array, compute_optimal
from scaling_bayes.decisions.forecast import predict
from scaling_bayes.decisions.shape import at_aspect
from scaling_bayes.evaluation import baselines as _baselines
from scaling_bayes.inference.many import fit_many
from scaling_bayes.laws import SHAPE_REF_ASPECT
from scaling_bayes.posterior import idata as _arviz
from scaling_bayes.posterior.fit import Fit

#: Pareto k above which a PSIS-LOO term is unreliable (Vehtari et al. 2017/2024).
PARETO_K_BAD = 0.7
#: Budgets (FLOPs) reported by default: Chinchilla's (5.76e23) and 1e26.
DEFAULT_BUDGETS = (5.76e23, 1e26)
_QS = (0.05, 0.5, 0.95)
_ALLOC_QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss_opt")
APPROACH3 = "approach3"
_A3_NOTE = (
    "classical Approach 3 (Huber point fit on log-loss); LOO/WAIC do not apply to a point "
    "fit (elpd NaN); intervals are bootstrap 90% intervals"
)


class ComparisonWarning(UserWarning):
    """A comparison result needs care (e.g. Pareto k > 0.7: LOO unreliable for some points)."""


# ============================================================================ helpers
def _check_fits(fits) -> dict[str, Any]:
    if not isinstance(fits, Mapping):
        raise TypeError(
            "compare: fits must be a dict {name: Fit}, e.g. {'chinchilla': fit1, 'kaplan': fit2}"
        )
    if not fits:
        raise ValueError("compare: no fits given")
    out = {}
    for name, f in fits.items():
        if not isinstance(f, Fit):
            raise TypeError(f"compare: fits[{name!r}] is a {type(f).__name__}, not a Fit")
        out[str(name)] = f
    if APPROACH3 in out:
        raise ValueError(f"compare: the name {APPROACH3!r} is reserved for the baseline row")
    hashes = {n: f.data.hash() for n, f in out.items()}
    ref_name = next(iter(out))
    bad = [n for n, h in hashes.items() if h != hashes[ref_name]]
    if bad:
        desc = ", ".join(f"{n!r} ({out[n].data.n} rows)" for n in bad)
        raise ValueError(
            f"compare: fits must be on the same data (LOO compares predictive densities of the "
            f"same observations); {desc} differ{'s' if len(bad) == 1 else ''} from "
            f"{ref_name!r} ({out[ref_name].data.n} rows, data hash {hashes[ref_name][:12]})"
        )
    return out


def _budgets(budgets) -> np.ndarray:
    return np.atleast_1d(
        _as_array("budgets", budgets, lo=COMPUTE_RANGE[0], hi=COMPUTE_RANGE[1], unit=" FLOPs")
    ).astype(float)


def _quiet(fn, *args, **kwargs):
    """Call an ArviZ wrapper, collecting its warnings (returned, not shown)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [
        str(w.message)
        for w in caught
        if not issubclass(w.category, (DeprecationWarning, FutureWarning))
    ]


def _loo_table(fits: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """PSIS-LOO, WAIC and stacking per fit (rows in the order of ``fits``)."""
    loos, notes = {}, []
    for name, f in fits.items():
        loos[name], _ = _quiet(_arviz.loo, f.idata, pointwise=True)
    rows = {}
    for name, lo in loos.items():
        k = np.asarray(lo.pareto_k, dtype=float)
        rows[name] = {
            "elpd_loo": float(lo["elpd_loo"]),
            "se": float(lo["se"]),
            "p_loo": float(lo["p_loo"]),
            "n_pareto_k_bad": int(np.sum(k > PARETO_K_BAD)),
            "max_pareto_k": float(np.max(k)),
        }
    idatas = {n: f.idata for n, f in fits.items()}
    if len(fits) > 1:
        c_loo, _ = _quiet(_arviz.compare, idatas, ic="loo", method="stacking")
        c_waic, _ = _quiet(_arviz.compare, idatas, ic="waic", method="stacking")
        for name in fits:
            rows[name].update(
                elpd_diff=float(c_loo.loc[name, "elpd_diff"]),
                dse=float(c_loo.loc[name, "dse"]),
                weight=float(c_loo.loc[name, "weight"]),
                elpd_waic=float(c_waic.loc[name, "elpd_waic"]),
                p_waic=float(c_waic.loc[name, "p_waic"]),
                waic_warning=bool(c_waic.loc[name, "warning"]),
            )
    else:  # one fit: nothing to compare against; WAIC through the same wrapper
        name = next(iter(fits))
        rows[name].update(elpd_diff=0.0, dse=0.0, weight=1.0)
        try:
            c_waic, _ = _quiet(_arviz.compare, idatas, ic="waic", method="stacking")
            rows[name].update(
                elpd_waic=float(c_waic.loc[name, "elpd_waic"]),
                p_waic=float(c_waic.loc[name, "p_waic"]),
                waic_warning=bool(c_waic.loc[name, "warning"]),
            )
        except Exception:  # noqa: BLE001 - ArviZ versions differ on one-model compare
            rows[name].update(elpd_waic=np.nan, p_waic=np.nan, waic_warning=False)
    for name, r in rows.items():
        if r["n_pareto_k_bad"]:
            msg = (
                f"{name}: {r['n_pareto_k_bad']} of {fits[name].data.n} observations have "
                f"Pareto k > {PARETO_K_BAD} (max {r['max_pareto_k']:.2f}): PSIS-LOO is "
                "unreliable for them (influential points; consider K-fold CV or a more "
                "robust likelihood)"
            )
            notes.append(msg)
            warnings.warn(msg, ComparisonWarning, stacklevel=3)
        if r.get("waic_warning"):
            notes.append(
                f"{name}: WAIC's posterior-variance check failed for some points (prefer PSIS-LOO)"
            )
    return pd.DataFrame.from_dict(rows, orient="index"), loos, notes


def _posterior_allocations(name: str, fit, C: np.ndarray) -> tuple[pd.DataFrame, dict]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = compute_optimal(fit, C, quantiles=_QS)
    for w in caught:
        warnings.warn(f"{name}: {w.message}", w.category, stacklevel=3)
    t = res.table.copy()
    t.insert(0, "method", name)
    t.insert(1, "kind", "posterior")
    t["estimate"] = t["q50"]
    ex = {}
    if res.exponents is not None:
        e = res.exponents.copy()
        for q in ("a", "b"):
            if q in e.index:
                ex[q] = e.loc[q]
        ext = e.loc[[q for q in ("a", "b") if q in e.index]].reset_index(names="quantity")
        ext.insert(0, "method", name)
        ext.insert(1, "kind", "posterior")
        ext.insert(2, "C", np.nan)
        ext["boundary"] = 0.0
        ext["estimate"] = ext["q50"]
        t = pd.concat([t, ext[t.columns]], ignore_index=True)
    return t, ex


def _a3_quantities(params: Mapping[str, np.ndarray], C: np.ndarray) -> dict[str, np.ndarray]:
    """Allocations of the Chinchilla law (C = 6ND) for parameter arrays of shape (R,)."""
    E, A, B = (np.asarray(params[k], dtype=float)[:, None] for k in ("E", "A", "B"))
    al, be = (np.asarray(params[k], dtype=float)[:, None] for k in ("alpha", "beta"))
    a, b, G = (np.asarray(params[k], dtype=float)[:, None] for k in ("a", "b", "G"))
    with np.errstate(all="ignore"):
        N = G * (C[None] / 6.0) ** a
        D = (C[None] / 6.0) ** b / G
        L = E + A / N**al + B / D**be
    return {"N_opt": N, "D_opt": D, "tokens_per_param": D / N, "loss_opt": L}


def approach3_rows(
    data, C: np.ndarray, *, n_boot: int = 1000, seed: int = 0, **fit_kwargs
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Approach-3 point fit and bootstrap on ``data`` (:class:`~scaling_bayes.data.observations.ScalingData`):
    a tidy allocation table (``estimate`` = point fit, ``q5/q50/q95`` from the bootstrap) and the
    raw results ``{"fit": ..., "boot": ...}``. ``fit_kwargs`` go to
    :func:`scaling_bayes.evaluation.baselines.approach3_fit` (``delta``, ``grid``, ...)."""
    if data.N is None or data.D is None:
        raise ValueError("the Approach-3 baseline needs N and D columns in the data")
    point = _baselines.approach3_fit(data.N, data.D, data.loss, **fit_kwargs)
    boot = None
    if n_boot:
        boot = _baselines.approach3_bootstrap(
            data.N,
            data.D,
            data.loss,
            n_boot=int(n_boot),
            seed=seed,
            start=point,
            delta=fit_kwargs.get("delta", 1e-3),
        )
    pt = _a3_quantities(
        {k: np.array([point[k]]) for k in ("E", "A", "B", "alpha", "beta", "a", "b", "G")}, C
    )
    bt = _a3_quantities(boot, C) if boot is not None else None
    rows = []

    def stats(v):
        v = v[np.isfinite(v)]
        if v.size == 0:
            return {"mean": np.nan, "sd": np.nan, "q5": np.nan, "q50": np.nan, "q95": np.nan}
        q = np.quantile(v, _QS)
        return {
            "mean": v.mean(),
            "sd": v.std(ddof=1) if v.size > 1 else np.nan,
            "q5": q[0],
            "q50": q[1],
            "q95": q[2],
        }

    nanstats = {"mean": np.nan, "sd": np.nan, "q5": np.nan, "q50": np.nan, "q95": np.nan}
    for j, c in enumerate(C):
        for q in _ALLOC_QUANTITIES:
            s = stats(bt[q][:, j]) if bt is not None else nanstats
            rows.append(
                {
                    "method": APPROACH3,
                    "kind": "point+bootstrap",
                    "C": c,
                    "quantity": q,
                    **s,
                    "boundary": 0.0,
                    "estimate": float(pt[q][0, j]),
                }
            )
    for q in ("a", "b"):
        s = stats(np.asarray(boot[q], dtype=float)) if boot is not None else nanstats
        rows.append(
            {
                "method": APPROACH3,
                "kind": "point+bootstrap",
                "C": np.nan,
                "quantity": q,
                **s,
                "boundary": 0.0,
                "estimate": float(point[q]),
            }
        )
    return pd.DataFrame(rows), {"fit": point, "boot": boot}


def _forecast_points(fits, points) -> pd.DataFrame | None:
    if points is None:
        return None
    if isinstance(points, pd.DataFrame):
        pts = points
    elif isinstance(points, Mapping):
        pts = pd.DataFrame({k: np.atleast_1d(v) for k, v in points.items()})
    else:
        pts = pd.DataFrame(list(points), columns=["N", "D"])
    frames = []
    for name, f in fits.items():
        cols = {k: pts[k].to_numpy(float) for k in f.law.inputs if k in pts.columns}
        p = predict(f, **cols, quantiles=_QS)
        p.insert(0, "method", name)
        frames.append(p)
    return pd.concat(frames, ignore_index=True)


# ============================================================================ compare
@dataclass(frozen=True, eq=False)
class ComparisonResult:
    """Result of :func:`compare`.

    Attributes
    ----------
    table
        One row per method (index: the fit names, plus ``approach3`` with ``baselines=True``),
        best ELPD first: ``law``, ``kind``, ``n``, ``elpd_loo``, ``se``, ``p_loo``, ``elpd_diff``
        (best minus this, >= 0), ``dse`` (SE of the difference), ``weight`` (stacking),
        ``n_pareto_k_bad`` (k > 0.7), ``max_pareto_k``, ``elpd_waic``, ``p_waic``,
        ``waic_warning``, ``a``, ``a_q5``, ``a_q95``, ``b``, ``b_q5``, ``b_q95`` (posterior median
        and 90% interval; for Approach 3 the point fit and bootstrap 90% interval),
        ``divergences`` and ``note``.
    allocations
        Tidy DataFrame, one row per (method, budget, quantity): ``method``, ``kind``, ``C`` (NaN
        for the budget-free exponents ``a``, ``b``), ``quantity`` (``N_opt``, ``D_opt``,
        ``tokens_per_param``, ``loss_opt``, ``a``, ``b``), ``estimate`` (posterior median, or the
        Approach-3 point fit), ``mean``, ``sd``, ``q5``, ``q50``, ``q95`` (90% interval) and
        ``boundary``.
    forecasts
        With ``points``: :func:`scaling_bayes.decisions.forecast.predict` per fit at those points
        (column ``method`` added), else ``None``.
    loo
        ``{name: arviz ELPDData}`` (pointwise ``loo_i`` and ``pareto_k`` included).
    budgets
        The budgets in FLOPs.
    notes
        Warnings and caveats in words.
    baseline
        ``{"fit": approach3_fit result, "boot": approach3_bootstrap result}`` or ``None``.
    """

    table: pd.DataFrame
    allocations: pd.DataFrame
    forecasts: pd.DataFrame | None
    loo: dict[str, Any]
    budgets: np.ndarray
    notes: list[str] = field(default_factory=list)
    baseline: dict[str, Any] | None = None

    def allocation(self, quantity: str) -> pd.DataFrame:
        """Rows of :attr:`allocations` for one quantity (e.g. ``"tokens_per_param"``)."""
        return self.allocations[self.allocations["quantity"] == quantity]

    def pointwise(self) -> pd.DataFrame:
        """Pointwise LOO terms and Pareto k per observation (columns ``elpd_i:NAME``,
        ``pareto_k:NAME``), with N, D, loss of the data."""
        out = {}
        for name, lo in self.loo.items():
            out[f"elpd_i:{name}"] = np.asarray(lo.loo_i, dtype=float)
            out[f"pareto_k:{name}"] = np.asarray(lo.pareto_k, dtype=float)
        return pd.DataFrame(out)


def compare(
    fits: Mapping[str, Any],
    *,
    budgets: Sequence[float] | float = DEFAULT_BUDGETS,
    points=None,
    baselines: bool | Mapping[str, Any] = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> ComparisonResult:
    """Compare fits of several laws on the same data.

    Parameters
    ----------
    fits
        ``{name: Fit}``; all on the same observations (same data hash), else ``ValueError``
        naming the mismatching fits. Laws without a compute-optimal allocation (not N, D laws)
        get NaN exponents and no allocation rows.
    budgets
        Training budgets (FLOPs, ``C = 6ND``) for ``N_opt``, ``D_opt``, tokens/param and loss at
        the optimum.
    points
        Optional (N, D) points to forecast the loss at with every law (DataFrame or dict with
        columns ``N``, ``D``, or a list of ``(N, D)`` pairs): :attr:`ComparisonResult.forecasts`.
    baselines
        ``True`` adds the Approach-3 Huber point fit (:func:`scaling_bayes.evaluation.baselines.approach3_fit`)
        with ``n_boot`` bootstrap replicates (seed ``seed``) for intervals; a dict passes options
        to ``approach3_fit`` (``delta``, ``grid``, ...). ``False`` (default) skips it.
    """
    fits = _check_fits(fits)
    C = _budgets(budgets)
    loo_df, loos, notes = _loo_table(fits)
    alloc_frames, ex_rows = [], {}
    for name, f in fits.items():
        if f.law.reference_view is not None and f.law.base_law.allocatable:
            # a shape law: allocate for models of the reference aspect ratio (the N/D split does
            # not depend on the aspect ratio; the loss at the optimum does)
            t, ex = _posterior_allocations(name, at_aspect(f, SHAPE_REF_ASPECT), C)
            alloc_frames.append(t)
            ex_rows[name] = ex
            notes.append(
                f"{name}: allocations are for models of aspect ratio "
                f"{SHAPE_REF_ASPECT:g} (d_model/n_layers)"
            )
        elif f.law.allocatable:
            t, ex = _posterior_allocations(name, f, C)
            alloc_frames.append(t)
            ex_rows[name] = ex
        else:
            notes.append(
                f"{name}: law {f.law.name!r} has no compute-optimal allocation (needs N and D)"
            )
            ex_rows[name] = {}
    rows = []
    for name, f in fits.items():
        r = {"law": f.law.name, "kind": "bayes", "n": f.data.n, **loo_df.loc[name].to_dict()}
        for q in ("a", "b"):
            e = ex_rows[name].get(q)
            r[q] = float(e["q50"]) if e is not None else np.nan
            r[f"{q}_q5"] = float(e["q5"]) if e is not None else np.nan
            r[f"{q}_q95"] = float(e["q95"]) if e is not None else np.nan
        r["divergences"] = f.divergences
        r["note"] = ""
        rows.append(pd.Series(r, name=name))
    table = pd.DataFrame(rows)
    table = table.sort_values("elpd_loo", ascending=False, kind="stable")
    baseline = None
    if baselines:
        opts = dict(baselines) if isinstance(baselines, Mapping) else {}
        data = next(iter(fits.values())).data
        a3, baseline = approach3_rows(data, C, n_boot=n_boot, seed=seed, **opts)
        alloc_frames.append(a3)
        ex = a3[a3["C"].isna()].set_index("quantity")
        r = {"law": "chinchilla", "kind": "approach3", "n": data.n}
        for q in ("a", "b"):
            r[q] = float(ex.loc[q, "estimate"])
            r[f"{q}_q5"] = float(ex.loc[q, "q5"])
            r[f"{q}_q95"] = float(ex.loc[q, "q95"])
        r["note"] = _A3_NOTE
        table = pd.concat([table, pd.DataFrame([pd.Series(r, name=APPROACH3)])])
        notes.append(_A3_NOTE)
    num = [
        "elpd_loo",
        "se",
        "p_loo",
        "elpd_diff",
        "dse",
        "weight",
        "max_pareto_k",
        "elpd_waic",
        "p_waic",
    ]
    for c in num:
        table[c] = table[c].astype(float)
    for c in ("n_pareto_k_bad", "divergences"):
        table[c] = table[c].astype("Int64")
    table.index.name = "method"
    allocations = (
        pd.concat(alloc_frames, ignore_index=True)
        if alloc_frames
        else pd.DataFrame(
            columns=[
                "method",
                "kind",
                "C",
                "quantity",
                "estimate",
                "mean",
                "sd",
                "q5",
                "q50",
                "q95",
                "boundary",
            ]
        )
    )
    front = ["method", "kind", "C", "quantity", "estimate"]
    allocations = allocations[front + [c for c in allocations.columns if c not in front]]
    return ComparisonResult(
        table=table,
        allocations=allocations,
        forecasts=_forecast_points(fits, points),
        loo=loos,
        budgets=C,
        notes=notes,
        baseline=baseline,
    )


# ============================================================================ conventions
#: Porian et al. (2024) settings that differ in how N (and C) are counted, per convention.
PORIAN_CONVENTION_SETTINGS = {
    "nonembedding_excl_head": "reproducing_kaplan",
    "nonembedding_plus_output_head": "counting_last_layer_flops",
    "effective_incl_attention_flops": "counting_last_layer_and_attention_flops",
}


def porian_conventions(dataset: str = "refinedweb") -> pd.DataFrame:
    """Rows of the bundled ``porian2024`` data for one ``dataset`` (``"refinedweb"`` has all three
    conventions, ``"openwebtext2"`` the first two), one Porian setting per ``N_convention``:
    ``reproducing_kaplan`` (non-embedding params excluding the head, Kaplan's count),
    ``counting_last_layer_flops`` (head included) and ``counting_last_layer_and_attention_flops``
    (attention FLOPs included). Each setting has a single ``N_convention`` in the source; the
    settings also share Kaplan's long warmup and untuned hyperparameters, so the comparison
    isolates (mostly) the counting, as in Porian et al.'s first step."""
    df = load_dataset("porian2024")
    if dataset not in set(df["dataset"]):
        raise ValueError(f"porian2024 has datasets {sorted(set(df['dataset']))}, not {dataset!r}")
    keep = (df["dataset"] == dataset) & df["setting"].isin(
        list(PORIAN_CONVENTION_SETTINGS.values())
    )
    sub = df[keep]
    sub = sub[
        [
            PORIAN_CONVENTION_SETTINGS.get(c) == s
            for c, s in zip(sub["N_convention"], sub["setting"], strict=True)
        ]
    ]
    return sub.reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class ConventionResult:
    """Result of :func:`compare_conventions`.

    ``table``: one row per convention (index), ``n``, ``N_min``, ``N_max``, the law's parameters
    (posterior medians), ``a``/``b`` medians with 90% intervals, ``tpp@C`` medians per budget,
    ``divergences`` and ``max_r_hat``. ``allocations``: tidy table as in :func:`compare` with
    ``method`` = convention. ``fits``: the :class:`~scaling_bayes.inference.many.ManyFits`.
    """

    table: pd.DataFrame
    allocations: pd.DataFrame
    fits: Any
    by: str
    budgets: np.ndarray


def compare_conventions(
    data: pd.DataFrame | None = None,
    by: str = "N_convention",
    law: str = "chinchilla",
    *,
    budgets: Sequence[float] | float = DEFAULT_BUDGETS,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 500,
    draws: int = 500,
    **fit_kwargs,
) -> ConventionResult:
    """Fit ``law`` once per value of ``by`` (default: the parameter-count convention) in one
    vmapped program (:func:`scaling_bayes.fit_many`) and tabulate how the allocation exponents
    move.

    ``data``: a DataFrame with N, D (or C), loss and the ``by`` column; ``None`` uses
    :func:`porian_conventions` (Porian 2024, RefinedWeb). Each group must be one sweep measured
    under one convention: mixing settings within a group mixes experiments.
    ``fit_kwargs`` go to :func:`~scaling_bayes.fit_many` (``priors``, ``likelihood``, ...).
    """
    if data is None:
        data = porian_conventions()
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"compare_conventions: data must be a DataFrame with a {by!r} column")
    if by not in data.columns:
        raise ValueError(
            f"compare_conventions: column {by!r} is not in the data; columns are "
            f"{', '.join(map(str, data.columns))}"
        )
    groups = data[by].dropna().unique()
    if len(groups) < 1:
        raise ValueError(f"compare_conventions: column {by!r} has no values")
    C = _budgets(budgets)
    many = fit_many(
        data[data[by].notna()],
        law,
        by=by,
        seed=seed,
        chains=chains,
        warmup=warmup,
        draws=draws,
        **fit_kwargs,
    )
    summ = many.summary()
    rows, frames = [], []
    for i, name in enumerate(many.names):
        f = many[i]
        r = {"n": f.data.n}
        if f.data.N is not None:
            r.update(N_min=float(f.data.N.min()), N_max=float(f.data.N.max()))
        s = summ.xs(name, level="fit")
        for p in f.law.param_names:
            r[p] = float(s.loc[p, "q50"])
        r["max_r_hat"] = float(s["r_hat"].max())
        r["divergences"] = int(many.divergences[i])
        if f.law.allocatable:
            t, ex = _posterior_allocations(name, f, C)
            frames.append(t)
            for q in ("a", "b"):
                e = ex.get(q)
                r[q] = float(e["q50"]) if e is not None else np.nan
                r[f"{q}_q5"] = float(e["q5"]) if e is not None else np.nan
                r[f"{q}_q95"] = float(e["q95"]) if e is not None else np.nan
            tp = t[t["quantity"] == "tokens_per_param"]
            for c, v in zip(tp["C"], tp["q50"], strict=True):
                r[f"tpp@{c:.3g}"] = float(v)
        rows.append(pd.Series(r, name=name))
    table = pd.DataFrame(rows)
    table.index.name = by
    allocations = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return ConventionResult(table=table, allocations=allocations, fits=many, by=by, budgets=C)


