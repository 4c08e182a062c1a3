"""Simulation-based calibration of bnsl1, bnsl2, transfer, downstream_error and routed_moe.

    python benchmarks/sbc_curves.py [--sims 100] [--laws bnsl1,transfer,...] [--out benchmarks/sbc]

Like ``benchmarks/sbc.py``, but each law is simulated on the design of its synthetic example
(``scaling_bayes.evaluation.examples.synthetic_example``: D for BNSL, L_train for transfer /
downstream_error, N and experts for routed_moe; 40 rows) instead of the (N, D) sweep, which
these laws do not take. Writes ``<law>_ranks.csv``, ``<law>_ecdf.png`` and ``results_curves.md``
(updated after each law).
"""

from __future__ import annotations

from _sbc_laws import run

from scaling_bayes.evaluation.examples import synthetic_example

LAWS = ("bnsl1", "bnsl2", "transfer", "downstream_error", "routed_moe")


def main() -> None:
    run(
        laws=LAWS,
        design_for=lambda law: synthetic_example(law, n=40, seed=0).drop(columns="loss"),
        title="Simulation-based calibration of BNSL, transfer, downstream error, routed MoE",
        results_name="results_curves.md",
        machine_note="; 2 CPU cores shared with other jobs, so the times are pessimistic",
        intro=lambda a: (
            f"`python benchmarks/sbc_curves.py --sims {a.sims}`: for each law, {a.sims} "
            "parameter sets drawn from the default priors, log-losses simulated with the "
            "Student-t likelihood on the 40-row design of the law's synthetic example "
            "(`scaling_bayes.evaluation.examples.synthetic_example(law, n=40)`), all fitted by "
            "`fit_many` in batches "
            f"of 25 ({a.warmup} warmup + {a.draws} draws x {a.chains} chains, thinned by "
            f"{a.thin} -> {a.chains * a.draws // a.thin} draws per fit). Ranks of the true "
            "values are tested for uniformity with a chi-square test on 10 bins; a parameter "
            "is rejected at p < 0.01. Simulations whose log-losses leave (-700, 700) are "
            "dropped (`sims used`)."
        ),
    )


if __name__ == "__main__":
    main()
