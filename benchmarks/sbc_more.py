"""Simulation-based calibration of data_constrained, overtraining and kaplan_learning_curve.

    python benchmarks/sbc_more.py [--sims 100] [--laws data_constrained,...] [--out benchmarks/sbc]

Like ``benchmarks/sbc.py``, but each law is simulated on its own 40-row design
(``scaling_bayes.evaluation.examples.example_design``: N, D and unique tokens U for
data_constrained; N, D and steps S for kaplan_learning_curve; N and D with 1-1000 tokens per
parameter for overtraining). Writes ``<law>_ranks.csv``, ``<law>_ecdf.png`` and
``results_more.md`` (updated after each law).
"""

from __future__ import annotations

from _sbc_laws import run

from scaling_bayes.evaluation.examples import example_design

LAWS = ("data_constrained", "overtraining", "kaplan_learning_curve")


def main() -> None:
    run(
        laws=LAWS,
        design_for=example_design,
        title="Simulation-based calibration of the repeated-data and learning-curve laws",
        results_name="results_more.md",
        intro=lambda a: (
            f"`python benchmarks/sbc_more.py --sims {a.sims}`: for each law, {a.sims} parameter "
            "sets drawn from the default priors, log-losses simulated on the law's 40-row design "
            "(`scaling_bayes.evaluation.examples.example_design`) with the Student-t likelihood, "
            "all "
            f"fitted by `fit_many` in batches of 25 ({a.warmup} warmup + {a.draws} draws x "
            f"{a.chains} chains, thinned by {a.thin} -> {a.chains * a.draws // a.thin} draws per "
            "fit). Ranks of the true values are tested for uniformity with a chi-square test on "
            "10 bins; a parameter is rejected at p < 0.01."
        ),
    )


if __name__ == "__main__":
    main()
