"""Simulation-based calibration of the laws in scaling_bayes.laws_curves.

    python benchmarks/sbc_curves.py [--sims 100] [--laws bnsl1,transfer,...] [--out benchmarks/sbc]

Like ``benchmarks/sbc.py``, but each law is simulated on the design of its synthetic example
(``laws_curves.synthetic_example``: D for BNSL, L_train for transfer / downstream_error,
N and experts for routed_moe; 40 rows) instead of the (N, D) sweep, which these laws do not
take. Writes ``<law>_ranks.csv``, ``<law>_ecdf.png`` and ``results_curves.md`` (updated after
each law).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import jax

from scaling_bayes.laws_curves import synthetic_example
from scaling_bayes.validate import plot_sbc, sbc

LAWS = ("bnsl1", "bnsl2", "transfer", "downstream_error", "routed_moe")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=100)
    ap.add_argument("--laws", default=",".join(LAWS))
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=250)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--thin", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).parent / "sbc"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for law in a.laws.split(","):
        design = synthetic_example(law, n=40, seed=0).drop(columns="loss")
        t = time.perf_counter()
        r = sbc(
            law,
            n_sims=a.sims,
            design=design,
            chains=a.chains,
            warmup=a.warmup,
            draws=a.draws,
            thin=a.thin,
            seed=0,
            progress=lambda d, n, law=law, t=t: print(
                f"  {law}: {d}/{n} simulations, {time.perf_counter() - t:.0f} s", flush=True
            ),
        )
        wall = time.perf_counter() - t
        r.ranks.to_csv(out / f"{law}_ranks.csv", index=False)
        plot_sbc(r, out / f"{law}_ecdf.png")
        d = r.diagnostics
        for k, row in r.tests.iterrows():
            rows.append(
                f"| {law} | {k} | {row.chi2:.1f} | {row.p_value:.3f} | "
                f"{'REJECTED' if row.rejected else 'ok'} |"
            )
        rows.append(
            f"| {law} | (fits) | {r.settings['n_used']}/{a.sims} sims used; "
            f"{int((d.divergences > 0).sum())} with divergences; median max R-hat "
            f"{d.max_r_hat.median():.3f}; {wall:.0f} s | | |"
        )
        text = [
            "# Simulation-based calibration of the laws_curves laws",
            "",
            f"`python benchmarks/sbc_curves.py --sims {a.sims}`: for each law, {a.sims} "
            "parameter sets drawn from the default priors, log-losses simulated with the "
            "Student-t likelihood on the 40-row design of the law's synthetic example "
            "(`laws_curves.synthetic_example(law, n=40)`), all fitted by `fit_many` in batches "
            f"of 25 ({a.warmup} warmup + {a.draws} draws x {a.chains} chains, thinned by "
            f"{a.thin} -> {a.chains * a.draws // a.thin} draws per fit). Ranks of the true "
            "values are tested for uniformity with a chi-square test on 10 bins; a parameter "
            "is rejected at p < 0.01. Simulations whose log-losses leave (-700, 700) are "
            "dropped (`sims used`).",
            "",
            f"Machine: {platform.processor() or platform.machine()}, "
            f"{jax.device_count()} {jax.default_backend()} device(s); jax {jax.__version__}; "
            "2 CPU cores shared with other jobs, so the times are pessimistic.",
            "",
            "| law | parameter | chi2 (9 dof) | p | verdict |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
        (out / "results_curves.md").write_text("\n".join(text))
        print("\n".join(rows[-(len(r.tests) + 1) :]), flush=True)


if __name__ == "__main__":
    main()
