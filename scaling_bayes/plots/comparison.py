"""Figures comparing laws: the LOO comparison with each law's allocation
(:func:`plot_comparison`, of :func:`scaling_bayes.evaluation.comparison.compare`), and the
allocation under each parameter-counting convention (:func:`plot_conventions`, of
:func:`scaling_bayes.evaluation.comparison.compare_conventions`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scaling_bayes.plots.style import OKABE_ITO, plain_log_ticks, pyplot

if TYPE_CHECKING:  # pragma: no cover
    from scaling_bayes.evaluation.comparison import ComparisonResult, ConventionResult

__all__ = ["plot_comparison", "plot_conventions"]


def _colors(names) -> dict[str, str]:
    return {n: OKABE_ITO[i % (len(OKABE_ITO) - 1)] for i, n in enumerate(names)}


def plot_comparison(result: ComparisonResult):
    """Figure: ELPD difference to the best fit (±SE of the difference), the allocation exponent
    ``a`` and tokens/param at each budget (medians with 90% intervals; Approach 3: point fit with
    bootstrap 90% interval), one colour per method (Okabe–Ito)."""
    plt = pyplot()
    t = result.table
    names = list(t.index)
    col = _colors(names)
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8), layout="constrained")
    ax = axes[0]
    bay = [n for n in names if np.isfinite(t.loc[n, "elpd_loo"])]
    y = np.arange(len(bay))
    for i, n in enumerate(bay):
        ax.errorbar(
            -t.loc[n, "elpd_diff"], i, xerr=t.loc[n, "dse"], fmt="o", color=col[n], capsize=4, ms=7
        )
    ax.axvline(0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(y, [f"{n}\n(w={t.loc[n, 'weight']:.2f})" for n in bay])
    ax.set_ylim(-0.6, len(bay) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("ELPD-LOO difference to the best (nats, ±SE)")
    ax.set_ylabel("law (stacking weight)")
    ax.set_title("Predictive fit (PSIS-LOO, log-loss)")

    ax = axes[1]
    for i, n in enumerate(names):
        a, lo, hi = t.loc[n, "a"], t.loc[n, "a_q5"], t.loc[n, "a_q95"]
        if np.isfinite(a):
            ax.errorbar(
                a,
                i,
                xerr=[[a - lo if np.isfinite(lo) else 0], [hi - a if np.isfinite(hi) else 0]],
                fmt="o",
                color=col[n],
                capsize=4,
                ms=7,
            )
    ax.axvline(0.5, color="0.5", lw=0.8, ls=":", label="a = 0.5 (equal scaling)")
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("allocation exponent a  (N_opt ∝ C^a), 90% interval")
    ax.set_ylabel("method")
    ax.set_title("Compute-optimal allocation")
    ax.legend(loc="best")

    ax = axes[2]
    tpp = result.allocations[result.allocations["quantity"] == "tokens_per_param"]
    nb = len(result.budgets)
    width = 0.8 / max(len(names), 1)
    for i, n in enumerate(names):
        r = tpp[tpp["method"] == n]
        if r.empty:
            continue
        x = np.arange(nb) + (i - (len(names) - 1) / 2) * width
        est = r["estimate"].to_numpy(float)
        lo = np.where(np.isfinite(r["q5"]), est - r["q5"].to_numpy(float), 0)
        hi = np.where(np.isfinite(r["q95"]), r["q95"].to_numpy(float) - est, 0)
        ax.errorbar(
            x,
            est,
            yerr=[np.clip(lo, 0, None), np.clip(hi, 0, None)],
            fmt="o",
            color=col[n],
            capsize=4,
            ms=7,
            label=n,
        )
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.set_xticks(np.arange(nb), [f"C = {c:.3g}" for c in result.budgets])
    ax.set_xlabel("training budget (FLOPs)")
    ax.set_ylabel("compute-optimal tokens per parameter")
    ax.set_title("Tokens/param at the optimum (90%)")
    ax.legend(loc="best")
    return fig


def plot_conventions(result: ConventionResult):
    """Figure: allocation exponent ``a`` (median, 90% interval) per convention, and the
    compute-optimal tokens/param at each budget."""
    plt = pyplot()
    t = result.table
    names = list(t.index)
    col = _colors(names)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6), layout="constrained")
    ax = axes[0]
    for i, n in enumerate(names):
        if "a" in t.columns and np.isfinite(t.loc[n, "a"]):
            a = t.loc[n, "a"]
            ax.errorbar(
                a,
                i,
                xerr=[[a - t.loc[n, "a_q5"]], [t.loc[n, "a_q95"] - a]],
                fmt="o",
                color=col[n],
                capsize=4,
                ms=7,
            )
    ax.axvline(0.5, color="0.5", lw=0.8, ls=":", label="a = 0.5 (Chinchilla)")
    ax.axvline(0.73, color="0.5", lw=0.8, ls="--", label="a = 0.73 (Kaplan)")
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("allocation exponent a  (N_opt ∝ C^a), 90% interval")
    ax.set_ylabel(result.by)
    ax.set_title(f"Allocation exponent by {result.by}")
    ax.legend(loc="best")
    ax = axes[1]
    al = result.allocations
    if not al.empty:
        tpp = al[al["quantity"] == "tokens_per_param"]
        nb = len(result.budgets)
        width = 0.8 / max(len(names), 1)
        for i, n in enumerate(names):
            r = tpp[tpp["method"] == n]
            x = np.arange(nb) + (i - (len(names) - 1) / 2) * width
            est = r["q50"].to_numpy(float)
            ax.errorbar(
                x,
                est,
                yerr=[
                    np.clip(est - r["q5"].to_numpy(float), 0, None),
                    np.clip(r["q95"].to_numpy(float) - est, 0, None),
                ],
                fmt="o",
                color=col[n],
                capsize=4,
                ms=7,
                label=n,
            )
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
        ax.set_xticks(np.arange(nb), [f"C = {c:.3g}" for c in result.budgets])
        ax.legend(loc="best")
    ax.set_xlabel("training budget (FLOPs)")
    ax.set_ylabel("compute-optimal tokens per parameter")
    ax.set_title("Tokens/param at the optimum (90%)")
    return fig
