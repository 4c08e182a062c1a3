"""Prior sensitivity of a fit's headline numbers: default versus literature priors, side by side.

:func:`prior_sensitivity` fits the data twice (the default priors and the literature prior of
:func:`scaling_bayes.priors.literature`) -- or takes the two fits -- and tabulates the headline
quantities under each: the forecast loss at the largest requested point, the compute-optimal
model size ``N_opt`` and tokens per parameter at a budget. When the two columns disagree by more
than their intervals, the prior, not the data, is deciding the answer.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from scaling_bayes.data.observations import ScalingData, load_data
from scaling_bayes.decisions.allocation import compute_optimal
from scaling_bayes.decisions.forecast import predict
from scaling_bayes.inference.fit import fit as _fit
from scaling_bayes.model.literature import LiteraturePriors, literature

__all__ = ["default_targets", "format_sensitivity", "prior_sensitivity"]


def default_targets(data: ScalingData) -> tuple[dict[str, float], float]:
    """``({"N": 10 max N, "D": 10 max D}, 100 x the largest 6ND)``: a forecast point and a
    budget two decades of compute beyond the data."""
    N, D = data.get("N"), data.get("D")
    return ({"N": float(10 * np.max(N)), "D": float(10 * np.max(D))},
            float(100 * np.max(6 * N * D)))


def prior_sensitivity(data, law: str = "chinchilla", *, at: Mapping | None = None,
                      budget: float | None = None, exclude=None,
                      fits: Mapping | None = None, seed: int = 0, **fit_kwargs) -> pd.DataFrame:
    """Headline quantities under the default and the literature priors.

    Parameters
    ----------
    data
        The runs (anything :func:`scaling_bayes.load_data` reads).
    at
        Requested forecast points ``{"N": [...], "D": [...]}``; the largest (by N*D) is
        reported. Default: :func:`default_targets`.
    budget
        Training budget (FLOPs) for ``N_opt`` and tokens per parameter (default: 100 x the
        largest 6ND of the data).
    exclude
        Data sets to leave out of the literature prior (``sb.priors.literature(exclude=)``),
        or a :class:`~scaling_bayes.model.literature.LiteraturePriors`.
    fits
        ``{"default": Fit, "literature": Fit}`` already made (no fitting then).
    fit_kwargs
        Passed to :func:`scaling_bayes.fit` (``chains``, ``draws``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per quantity (``loss at N=..., D=...``, ``N_opt at C=...``,
        ``tokens per parameter at C=...``); columns ``default`` and ``literature`` (posterior
        median and 90% interval as text) and their medians ``default_q50``,
        ``literature_q50`` and ``ratio`` (literature / default).
    """
    sd = data if isinstance(data, ScalingData) else load_data(data)
    point, c_default = default_targets(sd)
    if at is not None:
        n = np.atleast_1d(np.asarray(at["N"], dtype=float))
        d = np.atleast_1d(np.asarray(at["D"], dtype=float))
        n, d = np.broadcast_arrays(n, d)
        i = int(np.argmax(np.log(n) + np.log(d)))
        point = {"N": float(n[i]), "D": float(d[i])}
    C = float(budget) if budget is not None else c_default
    if fits is None:
        lit = exclude if isinstance(exclude, LiteraturePriors) else literature(law, exclude)
        kw = {"seed": seed, "warn": False, **fit_kwargs}
        fits = {"default": _fit(sd, law, **kw), "literature": _fit(sd, law, priors=lit, **kw)}
    rows: dict[str, dict[str, tuple[float, float, float]]] = {}
    lab_loss = f"loss at N={point['N']:.3g}, D={point['D']:.3g}"
    lab_n, lab_t = f"N_opt at C={C:.3g}", f"tokens per parameter at C={C:.3g}"
    for name, f in fits.items():
        p = predict(f, N=point["N"], D=point["D"], quantiles=(0.05, 0.5, 0.95), seed=seed)
        rows.setdefault(lab_loss, {})[name] = tuple(
            float(p[f"pred_q{q}"].iloc[0]) for q in (5, 50, 95))
        if f.law.allocatable:
            a = compute_optimal(f, C, warn=False)
            for q, lab in (("N_opt", lab_n), ("tokens_per_param", lab_t)):
                r = a.quantity(q).iloc[0]
                rows.setdefault(lab, {})[name] = (float(r["q5"]), float(r["q50"]),
                                                  float(r["q95"]))
    out = []
    for lab, by in rows.items():
        rec = {"quantity": lab}
        for name, (lo, med, hi) in by.items():
            rec[name] = f"{med:.4g} [{lo:.4g}, {hi:.4g}]"
            rec[f"{name}_q50"] = med
        if "default" in by and "literature" in by:
            rec["ratio"] = by["literature"][1] / by["default"][1]
        out.append(rec)
    return pd.DataFrame(out).set_index("quantity")


def format_sensitivity(table: pd.DataFrame) -> str:
    """The table as aligned text (median [5%, 95%] per prior)."""
    cols = [c for c in ("default", "literature") if c in table.columns]
    w0 = max(len(str(i)) for i in table.index)
    ws = [max(len(c), *(len(str(v)) for v in table[c])) for c in cols]
    lines = ["  ".join([" " * w0, *(c.ljust(w) for c, w in zip(cols, ws, strict=True))])]
    for i, r in table.iterrows():
        lines.append("  ".join([str(i).ljust(w0),
                                *(str(r[c]).ljust(w) for c, w in zip(cols, ws, strict=True))]))
    return "\n".join(lines)
