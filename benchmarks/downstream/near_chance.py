"""A task that never leaves chance on the ladder: does the forecast stay honest?

The 18 runs of 190M-760M with their real MMLU task losses (bpb), but accuracies replaced by
chance plus noise (0.25 + Normal(0, 0.005), seed 0): the ladder never leaves random guessing.
Fit (default mode) and predict the five 1B runs; print the 90% predictive intervals and their
widths next to those of the real MMLU fit. A calibrated model must not return a confident
number here: the sigmoid's midpoint is only bounded (it lies below the smallest task loss seen),
so the interval must allow a take-off.
"""

from __future__ import annotations

import numpy as np

import scaling_bayes as sb


def main():
    df = sb.load_dataset("olmo_ladder")
    train = df[df["size"] != "1B"].copy()
    test = df[(df["size"] == "1B") & ~df["rerun"]]
    rng = np.random.default_rng(0)
    train["acc_flat"] = 0.25 + 0.005 * rng.standard_normal(len(train))
    out = {}
    for name, metric in (("flat at chance", "acc_flat"), ("real MMLU", "acc_mmlu_avg_test")):
        f = sb.fit_downstream(train, "bpb_mmlu_avg_test", metric, chance=0.25, seed=0)
        p = sb.predict(f, N=test["N"].to_numpy(), D=test["D"].to_numpy(), threshold=0.3)
        out[name] = p
        w = 100 * (p["metric_pred_q95"] - p["metric_pred_q5"])
        print(f"{name}: divergences {f.divergences}, problems {f.check()}")
        for r, lo, md, hi, wi, pa in zip(test["run"], p["metric_pred_q5"], p["metric_pred_q50"],
                                         p["metric_pred_q95"], w, p["p_above"], strict=True):
            print(f"  {r:10s} median {md:.3f}  90% [{lo:.3f}, {hi:.3f}]  width {wi:.1f} pts"
                  f"  P(acc > 0.30) {pa:.2f}")


if __name__ == "__main__":
    main()
