"""Downstream backtest: fit the OLMo ladder's 190M-760M runs, predict the five 1B runs.

For each mode (chained, joint, direct) and each of the ten tasks: ``sb.fit_downstream`` on the
18 runs of 190M, 370M and 760M (final checkpoints, the three 1xC reruns included: they set the
seed-noise floor), then ``sb.predict`` at the (N, D) of the five 1B runs (0.5, 1, 2, 5, 10 xC;
the 1B rerun is left out). Recorded per prediction: the observed accuracy, the predictive
median and 90% interval (q5-q95) of the accuracy and of the task loss. Writes
``predictions.csv`` (one row per mode, task and 1B run) and ``fits.csv`` (one row per fit:
diagnostics, time, noise floor) next to this file; ``table.py`` makes the README tables.

Usage: ``python benchmarks/downstream/run.py [--modes chained,joint,direct] [--tasks ...]
[--checkpoints final|K]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

import scaling_bayes as sb
from scaling_bayes.data.downstream import CHANCE, downstream_table

HERE = Path(__file__).resolve().parent
TASKS = list(CHANCE)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="chained,joint,direct")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--checkpoints", default="final")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(HERE))
    a = ap.parse_args(argv)
    ck = a.checkpoints if a.checkpoints == "final" else int(a.checkpoints)
    src = sb.load_dataset("olmo_ladder" if ck == "final" else "olmo_ladder_curves")
    final = sb.load_dataset("olmo_ladder")
    train = src[src["size"] != "1B"]
    test = final[(final["size"] == "1B") & (~final["rerun"])]
    out = Path(a.out)
    pred_path, fit_path = out / "predictions.csv", out / "fits.csv"
    preds, fits = [], []
    for mode in a.modes.split(","):
        for task in a.tasks.split(","):
            loss, acc = f"bpb_{task}", f"acc_{task}"
            if ck != "final":
                tt = downstream_table(src[(src["size"] == "1B") & (~src["rerun"])], loss, acc,
                                      checkpoints=ck, check_design=False)
                yN, yD, yl, ya = tt.N, tt.D, tt.loss, tt.metric
                runs = tt.run
            else:
                yN, yD = test["N"].to_numpy(), test["D"].to_numpy()
                yl, ya = test[loss].to_numpy(), test[acc].to_numpy()
                runs = test["run"].to_numpy()
            t0 = time.perf_counter()
            f = sb.fit_downstream(train, loss, acc, mode=mode, checkpoints=ck, seed=a.seed)
            t_fit = time.perf_counter() - t0
            p = sb.predict(f, N=yN, D=yD, quantiles=(0.05, 0.5, 0.95), seed=a.seed)
            s = f.summary("sampled")
            fits.append(dict(mode=mode, task=task, checkpoints=a.checkpoints,
                             fit_s=round(t_fit, 1), divergences=f.divergences,
                             max_rhat=float(s["r_hat"].max()),
                             min_ess_bulk=float(s["ess_bulk"].min()),
                             min_ess_tail=float(s["ess_tail"].min()),
                             seed_sd_metric=f.noise_floor["metric"],
                             seed_sd_logloss=f.noise_floor["loss"],
                             chance=f.floor, max_train_acc=float(f.data.metric.max()),
                             load=os.getloadavg()[0]))
            for i in range(len(yN)):
                row = dict(mode=mode, task=task, run=runs[i], N=yN[i], D=yD[i], acc=ya[i],
                           acc_q5=p["metric_pred_q5"][i], acc_q50=p["metric_pred_q50"][i],
                           acc_q95=p["metric_pred_q95"][i],
                           acc_mean_q5=p["metric_mean_q5"][i],
                           acc_mean_q95=p["metric_mean_q95"][i], bpb=yl[i])
                if mode != "direct":
                    row.update(bpb_q5=p["loss_pred_q5"][i], bpb_q50=p["loss_pred_q50"][i],
                               bpb_q95=p["loss_pred_q95"][i])
                preds.append(row)
            pr = pd.DataFrame(preds[-len(yN):])
            cov = ((pr.acc_q5 <= pr.acc) & (pr.acc <= pr.acc_q95)).mean()
            print(f"{mode:8s} {task:20s} err {100 * np.median(np.abs(pr.acc_q50 - pr.acc)):5.2f}"
                  f" cov {cov:.2f} width {100 * np.median(pr.acc_q95 - pr.acc_q5):5.2f} "
                  f"div {f.divergences} rhat {s['r_hat'].max():.3f} "
                  f"ess {s['ess_bulk'].min():.0f} {t_fit:.0f}s", flush=True)
            _append(pred_path, pd.DataFrame(preds[-len(yN):]))
            _append(fit_path, pd.DataFrame(fits[-1:]))


def _append(path: Path, df: pd.DataFrame) -> None:
    df.to_csv(path, mode="a", header=not path.exists(), index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
