"""Tables of the downstream backtest (reads predictions.csv and fits.csv of run.py), printed as
Markdown for benchmarks/downstream/README.md.

Per mode and task: median absolute error of the predictive median (accuracy points), 90%
coverage (fraction of the five 1B runs inside q5-q95), median width of the 90% interval, the
interval score (Gneiting & Raftery 2007, alpha = 0.1, points; lower is better: width plus
20x the miss), the seed-noise sd, how far the fitted runs got above chance, and the fit's
diagnostics. Pooled: coverage over all 50 predictions with its binomial 90% range.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def to_markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (3 significant digits), without tabulate."""
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "–" if np.isnan(v) else f"{v:.3g}"
        return str(v)
    cols = [df.index.name or ""] + [str(c) for c in df.columns]
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for i, r in df.iterrows():
        rows.append("| " + " | ".join([str(i)] + [fmt(v) for v in r.to_numpy()]) + " |")
    return "\n".join(rows)


def interval_score(y, lo, hi, alpha=0.1):
    return (hi - lo) + 2 / alpha * (np.maximum(lo - y, 0) + np.maximum(y - hi, 0))


def main(pred="predictions.csv", fits="fits.csv"):
    p = pd.read_csv(HERE / pred)
    f = pd.read_csv(HERE / fits)
    p["inside"] = (p.acc_q5 <= p.acc) & (p.acc <= p.acc_q95)
    p["abs_err"] = 100 * (p.acc_q50 - p.acc).abs()
    p["width"] = 100 * (p.acc_q95 - p.acc_q5)
    p["iscore"] = 100 * interval_score(p.acc, p.acc_q5, p.acc_q95)
    if "bpb_q5" in p:
        p["bpb_inside"] = ((p.bpb_q5 <= p.bpb) & (p.bpb <= p.bpb_q95)).astype(float).where(
            p.bpb_q5.notna())  # NaN for the direct mode, which has no task-loss forecast
    g = p.groupby(["mode", "task"], sort=False)
    t = pd.DataFrame({
        "median abs err (pts)": g.abs_err.median(), "90% coverage": g.inside.mean(),
        "median 90% width (pts)": g.width.median(), "interval score (pts)": g.iscore.mean(),
    })
    if "bpb_inside" in p:
        t["task-loss 90% coverage"] = g.bpb_inside.mean()
    f = f.set_index(["mode", "task"])
    t["seed sd (pts)"] = 100 * f["seed_sd_metric"]
    t["max fitted acc - chance (pts)"] = 100 * (f["max_train_acc"] - f["chance"])
    t["divergences"] = f["divergences"]
    t["max R-hat"] = f["max_rhat"]
    t["min ESS"] = f["min_ess_bulk"].round(0)
    t["fit s"] = f["fit_s"]
    for mode, sub in t.groupby(level=0, sort=False):
        pm = p[p["mode"] == mode]
        n = len(pm)
        cov = pm.inside.mean()
        print(f"\n### mode `{mode}`\n")
        print(to_markdown(sub.droplevel(0)))
        line = (f"\npooled: {int(pm.inside.sum())}/{n} inside the 90% predictive interval "
                f"(coverage {cov:.2f}; bar [0.80, 0.97]: "
                f"{'met' if 0.8 <= cov <= 0.97 else 'NOT met'}); median abs error "
                f"{pm.abs_err.median():.2f} pts; mean interval score {pm.iscore.mean():.2f} pts")
        if "bpb_inside" in pm and pm["bpb_inside"].notna().any():
            line += f"; task-loss coverage {pm.bpb_inside.mean():.2f}"
        print(line)
    print("\n### modes compared (pooled over the 50 predictions)\n")
    s = p.groupby("mode", sort=False).agg(
        coverage=("inside", "mean"), median_abs_err_pts=("abs_err", "median"),
        median_width_pts=("width", "median"), interval_score_pts=("iscore", "mean"))
    print(to_markdown(s))


if __name__ == "__main__":
    main(*sys.argv[1:])
