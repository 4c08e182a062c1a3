"""OLMo-ladder training-curve benchmark (issue 17): fit the 190M/370M/760M curves, forecast the
1B finals; forecast every run's final loss from its first 25% / 50% of steps.

    python benchmarks/curves/olmo_curves.py            # everything (tens of minutes on 2 cores)
    python benchmarks/curves/olmo_curves.py --only ladder timing
    python benchmarks/curves/olmo_curves.py --quick    # small samplers: checks the script

Writes ``benchmarks/curves/results/<part>.json`` and ``benchmarks/curves/README.md`` (the
table). Loss: C4-en validation cross-entropy (``loss_c4_en``, the bundled ``loss`` column).

Parts
-----
ladder
    ``fit_curves`` on every checkpoint of the 190M, 370M and 760M runs (18 runs, default
    sampler 4 x 1000 x 1000), then ``forecast_run`` for each 1B run with that run's own
    schedule (reconstructed from its logged ``lr``): absolute relative error of the median and
    whether the observed final is inside the 90% predictive interval. Baseline: ``sb.fit``
    (Chinchilla) on the final checkpoints only (``olmo_ladder``) of the same 18 runs,
    ``sb.predict`` at the 1B (N, D).
partial
    For each size s and fraction f in (0.25, 0.5): fit the other sizes' full curves plus every
    run of size s cut to its first f of steps; forecast each run of size s to its last step
    (``forecast_run(fit, run=..., lr=<the run's full schedule>)``). 4 x 1000 x 1000 as well
    unless ``--draws``.
timing
    Wall time of the ladder fit (all ~1,450 kept checkpoints of 1,562 logged) with the on-disk
    program cache on (``sb.enable_cache()``, as the CLI): the first fit in this process (its
    programs loaded from the cache an earlier run filled; the very first run on a machine also
    traces and compiles), and a second fit in the process, with the 1-min load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parents[1]))

import scaling_bayes as sb  # noqa: E402

SIZES = ("190M", "370M", "760M", "1B")


def _load():
    return os.getloadavg()[0]


def _curves():
    return sb.load_dataset("olmo_ladder_curves")


def _schedules(df):
    return sb.load_curves(df).lr_steps


def ladder(args):
    df = _curves()
    lr = _schedules(df)
    train = df[df["size"] != "1B"]
    t0 = time.perf_counter()
    fit = sb.fit_curves(train, seed=args.seed, chains=4, warmup=args.warmup, draws=args.draws,
                        warn=False)
    t_fit = time.perf_counter() - t0
    summ = fit.summary()
    targets = df[df["size"] == "1B"].sort_values("step").groupby("run").tail(1)
    rows = []
    for _, r in targets.iterrows():
        fc = sb.forecast_run(fit, N=float(r["N"]), lr=lr[r["run"]], tokens=float(r["D"]))
        f = fc.final
        rows.append({"run": r["run"], "rerun": bool(r["rerun"]), "observed": float(r["loss"]),
                     "median": float(f["loss"]), "pred_lo": float(f["pred_lo"]),
                     "pred_hi": float(f["pred_hi"]),
                     "are_pct": 100 * abs(f["loss"] / r["loss"] - 1),
                     "inside90": bool(f["pred_lo"] <= r["loss"] <= f["pred_hi"])})
    # baseline: final checkpoints only (Chinchilla, sb.fit, default sampler)
    fin = sb.load_dataset("olmo_ladder")
    fit_f = sb.fit(fin[fin["size"] != "1B"], law="chinchilla", seed=args.seed, chains=4,
                   warmup=args.warmup, draws=args.draws, warn=False)
    t1 = fin[fin["size"] == "1B"]
    pr = sb.predict(fit_f, N=t1["N"].to_numpy(), D=t1["D"].to_numpy(), quantiles=(0.05, 0.5, 0.95))
    base = []
    for i, (_, r) in enumerate(t1.iterrows()):
        p = pr.iloc[i]
        med, lo, hi = (float(p[c]) for c in ("mean_q50", "pred_q5", "pred_q95"))
        base.append({"run": r["run"], "rerun": bool(r["rerun"]), "observed": float(r["loss"]),
                     "median": med, "pred_lo": lo, "pred_hi": hi,
                     "are_pct": 100 * abs(med / r["loss"] - 1),
                     "inside90": bool(lo <= r["loss"] <= hi)})
    return {"fit_s": t_fit, "load": _load(), "n_checkpoints": fit.data.n,
            "n_logged": len(train), "divergences": fit.divergences,
            "max_rhat": float(summ["r_hat"].max()), "min_ess_bulk": float(summ["ess_bulk"].min()),
            "summary": summ.round(6).reset_index().to_dict("records"),
            "curves": rows, "finals_only": base}


def partial(args):
    df = _curves()
    lr = _schedules(df)
    last = df.groupby("run")["step"].max()
    out = []
    for frac in (0.25, 0.5):
        for size in SIZES:
            cut = df["step"] <= frac * df["run"].map(last)
            data = df[(df["size"] != size) | cut]
            t0 = time.perf_counter()
            fit = sb.fit_curves(data, seed=args.seed, chains=4, warmup=args.warmup,
                                draws=args.draws, warn=False)
            t_fit = time.perf_counter() - t0
            summ = fit.summary()
            for run in sorted(df.loc[df["size"] == size, "run"].unique()):
                r = df[df["run"] == run].sort_values("step").iloc[-1]
                fc = sb.forecast_run(fit, run=run, lr=lr[run])
                f = fc.final
                out.append({"frac": frac, "size": size, "run": run, "observed": float(r["loss"]),
                            "median": float(f["loss"]), "pred_lo": float(f["pred_lo"]),
                            "pred_hi": float(f["pred_hi"]),
                            "are_pct": 100 * abs(f["loss"] / r["loss"] - 1),
                            "inside90": bool(f["pred_lo"] <= r["loss"] <= f["pred_hi"]),
                            "fit_s": t_fit, "max_rhat": float(summ["r_hat"].max()),
                            "divergences": fit.divergences})
            print(f"partial frac={frac} size={size}: {t_fit:.0f} s", flush=True)
    return {"rows": out, "load": _load()}


_COLD = """
import time, scaling_bayes as sb
sb.enable_cache()
df = sb.load_dataset("olmo_ladder_curves")
t0 = time.perf_counter()
sb.fit_curves(df[df["size"] != "1B"], seed={seed}, chains=4, warmup={warmup}, draws={draws},
              warn=False)
print(time.perf_counter() - t0)
"""


def timing(args):
    import subprocess
    import tempfile

    df = _curves()
    train = df[df["size"] != "1B"]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:  # the very first run on a machine: empty caches
        load = _load()
        code = _COLD.format(seed=args.seed, warmup=args.warmup, draws=args.draws)
        env = dict(os.environ, SCALING_BAYES_CACHE_DIR=tmp)
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True)
        out["cold"] = {"s": float(res.stdout.split()[-1]), "load_before": load}
    sb.enable_cache()  # as the CLI does: compiled programs persist across processes
    for label in ("first", "second"):
        load = _load()
        t0 = time.perf_counter()
        fit = sb.fit_curves(train, seed=args.seed + (label == "second"), chains=4,
                            warmup=args.warmup, draws=args.draws, warn=False)
        out[label] = {"s": time.perf_counter() - t0, "load_before": load, "load_after": _load(),
                      "timings": fit.meta["timings"]}
    out["n_checkpoints"] = fit.data.n
    out["n_logged"] = len(train)
    return out


PARTS = {"ladder": ladder, "partial": partial, "timing": timing}


def _fmt_rows(rows):
    lines = ["| run | observed | median | 90% predictive | ARE % | inside |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['observed']:.4f} | {r['median']:.4f} | "
                     f"{r['pred_lo']:.4f}-{r['pred_hi']:.4f} | {r['are_pct']:.2f} | "
                     f"{'yes' if r['inside90'] else 'no'} |")
    return lines


def render() -> str:
    res = {p: json.loads((RESULTS / f"{p}.json").read_text()) for p in PARTS
           if (RESULTS / f"{p}.json").exists()}
    out = ["# Training curves on the OLMo ladder (issue 17)", "",
           "<!-- generated by benchmarks/curves/olmo_curves.py from results/*.json -->", "",
           "C4-en validation loss; law `lr_annealing` (Tissue et al. 2024 + model-size term), "
           "likelihood `ar1` (AR(1) residuals in log-step), default sampler 4 x 1000 x 1000 "
           "unless noted. Timings on a shared 2-core machine: the 1-min load average is given "
           "next to each.", "", "## Bars", "", "| bar | measured | status |", "|---|---|---|"]
    bars = []
    if "ladder" in res:
        L = res["ladder"]
        five = [r for r in L["curves"] if not r["rerun"]]
        med = float(np.median([r["are_pct"] for r in five]))
        inside = sum(r["inside90"] for r in five)
        bars.append(f"| 1B finals from the 190M-760M curves: median ARE <= 1.0%, all 5 inside "
                    f"90% | median ARE {med:.2f}%, {inside}/5 inside | "
                    f"**{'met' if med <= 1.0 and inside == 5 else 'missed'}** |")
        five_b = [r for r in L["finals_only"] if not r["rerun"]]
        med_b = float(np.median([r["are_pct"] for r in five_b]))
        bars.append(f"| (reported) same from final checkpoints only, Chinchilla | median ARE "
                    f"{med_b:.2f}%, {sum(r['inside90'] for r in five_b)}/5 inside | - |")
    if "partial" in res:
        P = pd.DataFrame(res["partial"]["rows"])
        for frac, g in P.groupby("frac"):
            cov = g["inside90"].mean()
            bars.append(f"| every run from its first {frac:.0%} of steps: 90% coverage >= 0.85 | "
                        f"coverage {cov:.2f} ({g['inside90'].sum()}/{len(g)}), median ARE "
                        f"{g['are_pct'].median():.2f}% | **{'met' if cov >= 0.85 else 'missed'}** |")
    if "timing" in res:
        T = res["timing"]
        s = T["first"]["s"]
        bars.append(f"| fit on all checkpoints of 3 sizes <= 30 s (4 chains, default draws) | "
                    f"first fit in a fresh process (disk cache warm) {s:.1f} s (load "
                    f"{T['first']['load_before']:.1f}), a second fit in the process "
                    f"{T['second']['s']:.1f} s (load {T['second']['load_before']:.1f}); "
                    f"{T['n_checkpoints']} kept of {T['n_logged']} logged | "
                    f"**{'met' if s <= 30 else 'missed'}** |")
        if "cold" in T:
            c = T["cold"]
            bars.append(f"| ... the very first fit on a machine (empty program caches: trace + "
                        f"compile) | {c['s']:.1f} s (load {c['load_before']:.1f}) | "
                        f"**{'met' if c['s'] <= 30 else 'missed'}** |")
    out += bars
    if "ladder" in res:
        L = res["ladder"]
        out += ["", "## 1B finals from the 190M/370M/760M curves", "",
                f"Fit {L['fit_s']:.0f} s (load {L['load']:.1f}), {L['n_checkpoints']} checkpoints "
                f"in the likelihood, {L['divergences']} divergences, max R-hat "
                f"{L['max_rhat']:.3f}, min bulk ESS {L['min_ess_bulk']:.0f}.", "",
                *_fmt_rows(L["curves"]), "", "Final checkpoints only (`sb.fit`, chinchilla, "
                "`olmo_ladder` 190M-760M):", "", *_fmt_rows(L["finals_only"])]
    if "partial" in res:
        P = pd.DataFrame(res["partial"]["rows"])
        out += ["", "## Every run from its first 25% / 50% of steps", "",
                "Fit: the other sizes' full curves + every run of the same size cut at the "
                "fraction; forecast each to its last step with its full schedule.", "",
                "| fraction | size | runs | inside 90% | median ARE % | max ARE % | fit s | "
                "max R-hat |", "|---|---|---|---|---|---|---|---|"]
        for (frac, size), g in P.groupby(["frac", "size"], sort=False):
            out.append(f"| {frac:.0%} | {size} | {len(g)} | {g['inside90'].sum()} | "
                       f"{g['are_pct'].median():.2f} | {g['are_pct'].max():.2f} | "
                       f"{g['fit_s'].iloc[0]:.0f} | {g['max_rhat'].iloc[0]:.3f} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", choices=list(PARTS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--render", action="store_true", help="only re-render the README")
    args = ap.parse_args(argv)
    if args.quick:
        args.warmup, args.draws = 150, 100
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.render:
        for name in args.only or list(PARTS):
            res = PARTS[name](args)
            res["settings"] = {"warmup": args.warmup, "draws": args.draws, "seed": args.seed}
            (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=1, default=float))
            print(f"{name}: done", flush=True)
    (HERE / "README.md").write_text(render())
    print(render())


if __name__ == "__main__":
    main()
