"""Leave-one-data-set-out validation of few-run fits (issue 20).

For every sweep of the literature prior (scaling_bayes.model.literature.SWEEPS): build the
literature prior WITHOUT the sweep's whole data set (the precomputed leave-one-out table), fit
a tiny design of its smallest runs and forecast its largest runs (the top 10% by compute, at
least 3, at most 20). Designs:

* ``5_smallest``: the 5 smallest-compute runs (N*D);
* ``3x2``: the 3 smallest model sizes (levels within 5% merged) that have two token counts at
  least a factor 1.5 apart, at each the smallest such pair (the smallest D, and the smallest D at
  least 1.5 times it).

Methods: (i) default priors, (ii) literature priors, both sb.fit with the default structural
term (prior-only with so few runs), predictive intervals ``pred_q*``; (iii) Approach 3 (Huber
point fit, Epoch grid) where defined (>= 5 runs): point forecast only.

Writes results/points_TAG.csv (one row per held-out run and method); ``--summarize`` combines
them into results/summary.md.

    .venv/bin/python benchmarks/few_runs/run.py [--chains 2 --warmup 500 --draws 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import scaling_bayes as sb  # noqa: E402
from scaling_bayes.evaluation.baselines import approach3_fit  # noqa: E402
from scaling_bayes.model.literature import SWEEPS, from_table, sweep_frame  # noqa: E402

OUT = Path(__file__).resolve().parent / "results"
QS = (0.05, 0.25, 0.5, 0.75, 0.95)


def _levels(x: np.ndarray) -> np.ndarray:
    return np.round(np.log10(x) / np.log10(1.05)).astype(int)


def design(df: pd.DataFrame, kind: str) -> pd.DataFrame | None:
    c = np.log(df["N"].to_numpy()) + np.log(df["D"].to_numpy())
    if kind == "5_smallest":
        return df.iloc[np.argsort(c, kind="stable")[:5]]
    lev = _levels(df["N"].to_numpy())
    rows = []
    for lv in np.unique(lev):
        sub = df[lev == lv].sort_values("D")
        d = sub["D"].to_numpy()
        j = np.flatnonzero(d >= 1.5 * d[0])
        if j.size:  # sizes with a single token count are skipped
            rows += [sub.index[0], sub.index[j[0]]]
        if len(rows) == 6:
            return df.loc[rows]
    return None


def targets(df: pd.DataFrame) -> pd.DataFrame:
    c = df["N"] * df["D"]
    k = int(np.clip(round(0.1 * len(df)), 3, 20))
    return df.loc[c.sort_values(ascending=False).index[:k]]


def _score(name, design_kind, method, test, q, extra=None):
    y = test["loss"].to_numpy()
    out = pd.DataFrame({"sweep": name, "design": design_kind, "method": method,
                        "N": test["N"].to_numpy(), "D": test["D"].to_numpy(), "loss": y,
                        "median": q[0.5]})
    out["are"] = np.abs(out["median"] - y) / y
    if 0.05 in q:
        out["in50"] = (y >= q[0.25]) & (y <= q[0.75])
        out["in90"] = (y >= q[0.05]) & (y <= q[0.95])
        out["width90"] = (q[0.95] - q[0.05]) / q[0.5]
    for k, v in (extra or {}).items():
        out[k] = v
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--sweeps", default=None, help="comma-separated subset")
    ap.add_argument("--methods", default="default,literature,approach3")
    ap.add_argument("--designs", default="5_smallest,3x2")
    ap.add_argument("--tag", default="all", help="points file: results/points_TAG.csv")
    ap.add_argument("--table", default=None,
                    help="read the literature tables from this JSON (build_priors.py --out) "
                         "instead of the bundled ones")
    ap.add_argument("--out-name", default=None, help="points file name (default points_TAG)")
    ap.add_argument("--summarize", action="store_true",
                    help="only combine results/points_*.csv into results/summary.md")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if a.summarize:
        pts = pd.concat([pd.read_csv(p) for p in sorted(OUT.glob("points_*.csv"))])
        (OUT / "summary.md").write_text(summarize(pts))
        print(summarize(pts))
        return
    methods = a.methods.split(",")
    sweeps = [s for s in SWEEPS if a.sweeps is None or s.name in a.sweeps.split(",")]
    frames = []
    for s in sweeps:
        df = sweep_frame(s.name)[["N", "D", "loss"]].reset_index(drop=True)
        test = targets(df)
        lit = None
        if "literature" in methods:
            lit = (sb.priors.literature(exclude=s.dataset) if a.table is None else
                   from_table(json.loads(Path(a.table).read_text())["laws"]["chinchilla"][
                       s.dataset]))
        for kind in a.designs.split(","):
            train = design(df, kind)
            if train is None:
                print(f"{s.name} {kind}: design not available", flush=True)
                continue
            test_k = test.drop(index=[i for i in train.index if i in test.index])
            gap = float(np.log10((test_k["N"] * test_k["D"]).min()
                                 / (train["N"] * train["D"]).max()))
            for method, priors in (("default", None), ("literature", lit)):
                if method not in methods:
                    continue
                t = time.time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = sb.fit(train, priors=priors, chains=a.chains, warmup=a.warmup,
                               draws=a.draws, seed=0, warn=False)
                    p = sb.predict(f, N=test_k["N"].to_numpy(), D=test_k["D"].to_numpy(),
                                   quantiles=QS, seed=0)
                q = {qq: p[f"pred_q{100 * qq:g}"].to_numpy() for qq in QS}
                frames.append(_score(s.name, kind, method, test_k, q,
                                     {"decades": gap, "seconds": time.time() - t}))
                r = frames[-1]
                print(f"{s.name:22s} {kind:10s} {method:10s} ARE {r['are'].median():.4f} "
                      f"cov90 {r['in90'].mean():.2f} w90 {r['width90'].median():.3f} "
                      f"({time.time() - t:.0f} s)", flush=True)
            if len(train) >= 5 and "approach3" in methods:
                try:
                    th = approach3_fit(train["N"].to_numpy(), train["D"].to_numpy(),
                                       train["loss"].to_numpy())
                    pred = (th["E"] + th["A"] * test_k["N"].to_numpy() ** -th["alpha"]
                            + th["B"] * test_k["D"].to_numpy() ** -th["beta"])
                    frames.append(_score(s.name, kind, "approach3", test_k, {0.5: pred},
                                         {"decades": gap}))
                except (RuntimeError, ValueError) as e:
                    print(f"{s.name} {kind}: approach3 failed: {e}")
        if frames:
            name = a.out_name or f"points_{a.tag}"
            pd.concat(frames).to_csv(OUT / f"{name}.csv", index=False)
    print(summarize(pd.concat(frames)))


def _md(df: pd.DataFrame, index: bool = True) -> str:
    if index:
        df = df.reset_index()
    cols = list(df.columns)

    def f(v):
        return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)
    out = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(f(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(out)


def summarize(pts: pd.DataFrame) -> str:
    """Per design and method: coverage (each sweep weighs 1), median ARE, median width."""
    lines = []
    pts = pts.copy()
    for c in ("in50", "in90", "width90"):
        pts[c] = pts[c].astype(float) if c in pts else np.nan
    per = pts.groupby(["design", "method", "sweep"]).agg(
        are=("are", "median"), in50=("in50", "mean"), in90=("in90", "mean"),
        width90=("width90", "median"), n=("loss", "size"))
    lines.append("## Per sweep (median ARE, coverage of the held-out largest runs)\n")
    lines.append(_md(per))
    lines.append("\n## Pooled (each sweep weighs 1; ARE: median over sweeps of the per-sweep "
                 "median; points: over all held-out runs)\n")
    rows = []
    for keys, g in list(per.groupby(level=["design", "method"])) + [
            (("all", m), per.xs(m, level="method")) for m in
            per.index.get_level_values("method").unique()]:
        d, m = keys
        raw = pts[(pts["method"] == m) & ((pts["design"] == d) | (d == "all"))]
        rows.append({"design": d, "method": m, "sweeps": len(g),
                     "cov50": g["in50"].mean(), "cov90": g["in90"].mean(),
                     "median_ARE": g["are"].median(), "median_ARE_points": raw["are"].median(),
                     "median_width90": g["width90"].median(),
                     "cov90_points": raw["in90"].mean() if "in90" in raw else np.nan})
    lines.append(_md(pd.DataFrame(rows), index=False))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
