"""Downstream observations: column checks, chance levels, checkpoint averaging, seed noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.data.downstream import (
    CHANCE,
    DownstreamDataError,
    chance_level,
    downstream_table,
    seed_noise,
)


@pytest.fixture(scope="module")
def ladder():
    return sb.load_dataset("olmo_ladder")


def test_ladder_table(ladder):
    d = downstream_table(ladder, "bpb_mmlu_avg_test", "acc_mmlu_avg_test")
    assert d.n == 24 and d.rerun.sum() == 4
    assert (d.metric > 0.2).all() and (d.metric < 0.4).all()


def test_every_ladder_task_has_a_chance_level(ladder):
    tasks = {c[4:] for c in ladder.columns if c.startswith("acc_")}
    assert tasks == set(CHANCE)
    assert chance_level("acc_csqa_val") == 0.2 and chance_level("socialiqa_val") == 1 / 3
    assert chance_level("acc_unknown") is None


def test_seed_noise_pairs_each_rerun_with_its_run(ladder):
    d = downstream_table(ladder, "bpb_hellaswag_val", "acc_hellaswag_val")
    s = seed_noise(d)
    assert s["pairs"] == 4
    f = ladder.set_index("run")
    diffs = [f.loc[f"{k}-1xC", "acc_hellaswag_val"] - f.loc[f"{k}-1xC-rerun", "acc_hellaswag_val"]
             for k in ("190M", "370M", "760M", "1B")]
    assert s["metric"] == pytest.approx(np.sqrt(np.mean(np.square(diffs)) / 2))
    assert seed_noise(downstream_table(ladder[~ladder.rerun], "bpb_hellaswag_val",
                                       "acc_hellaswag_val"))["pairs"] == 0


def test_checkpoint_averaging_on_the_curves(ladder):
    curves = sb.load_dataset("olmo_ladder_curves")
    last = downstream_table(curves, "bpb_piqa_val", "acc_piqa_val", checkpoints=1)
    final = downstream_table(ladder, "bpb_piqa_val", "acc_piqa_val")
    a = pd.Series(last.metric, index=last.run).sort_index()
    b = pd.Series(final.metric, index=final.run).sort_index()
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy())
    # the curves with several rows per run and checkpoints="final" also take the last one
    again = downstream_table(curves, "bpb_piqa_val", "acc_piqa_val")
    np.testing.assert_allclose(np.sort(again.metric), np.sort(final.metric))
    avg = downstream_table(curves, "bpb_piqa_val", "acc_piqa_val", checkpoints=3)
    run = curves[curves.run == "370M-2xC"].sort_values("step")
    i = list(avg.run).index("370M-2xC")
    assert avg.metric[i] == pytest.approx(run["acc_piqa_val"].tail(3).mean())
    assert avg.D[i] == pytest.approx(run["D"].iloc[-1])


@pytest.mark.parametrize("change, match", [
    (lambda df: df.drop(columns="acc_mmlu_avg_test"), "metric column 'acc_mmlu_avg_test'"),
    (lambda df: df.drop(columns="bpb_mmlu_avg_test"), "task-loss column 'bpb_mmlu_avg_test'"),
    (lambda df: df.assign(acc_mmlu_avg_test=df["acc_mmlu_avg_test"] * 100), "fraction in"),
    (lambda df: df.assign(bpb_mmlu_avg_test=-df["bpb_mmlu_avg_test"]), "must be positive"),
    (lambda df: df.assign(acc_mmlu_avg_test=["x"] * len(df)), "non-numeric"),
    (lambda df: df.assign(bpb_mmlu_avg_test=np.nan), "non-numeric or missing"),
    (lambda df: df.drop(columns=["N"]), "input column 'N'"),
    (lambda df: df.iloc[[0, 6, 12, 1, 7]], "at least 8 runs"),
    (lambda df: df.head(5), "two model sizes"),
])
def test_bad_columns_name_the_column(ladder, change, match):
    with pytest.raises(sb.DataError, match=match):
        downstream_table(change(ladder), "bpb_mmlu_avg_test", "acc_mmlu_avg_test")


def test_bad_checkpoints(ladder):
    with pytest.raises(DownstreamDataError, match="'run' and 'step'"):
        downstream_table(ladder.drop(columns="step"), "bpb_piqa_val", "acc_piqa_val",
                         checkpoints=3)
    for bad in (0, "last", 2.5, True):
        with pytest.raises(DownstreamDataError, match="checkpoints must be"):
            downstream_table(ladder, "bpb_piqa_val", "acc_piqa_val", checkpoints=bad)


def test_fit_downstream_argument_errors(ladder):
    with pytest.raises(DownstreamDataError, match="no known chance level"):
        sb.fit_downstream(ladder.rename(columns={"acc_piqa_val": "acc_x"}), "bpb_piqa_val",
                          "acc_x")
    with pytest.raises(DownstreamDataError, match="mode must be one of"):
        sb.fit_downstream(ladder, "bpb_piqa_val", "acc_piqa_val", mode="both")
    with pytest.raises(DownstreamDataError, match="ceiling must be"):
        sb.fit_downstream(ladder, "bpb_piqa_val", "acc_piqa_val", ceiling=0.4)
    with pytest.raises(DownstreamDataError, match="chance must be"):
        sb.fit_downstream(ladder, "bpb_piqa_val", "acc_piqa_val", chance=1.5)
    with pytest.raises(sb.ScalingBayesError, match="metric column 'acc_nope'"):
        sb.fit_downstream(ladder, "bpb_piqa_val", "acc_nope")


def test_held_out_runs_can_be_averaged_without_a_fit_design():
    curves = sb.load_dataset("olmo_ladder_curves")
    one_size = curves[curves["size"] == "1B"]
    with pytest.raises(DownstreamDataError, match="two model sizes"):
        downstream_table(one_size, "bpb_piqa_val", "acc_piqa_val", checkpoints=2)
    d = downstream_table(one_size, "bpb_piqa_val", "acc_piqa_val", checkpoints=2,
                         check_design=False)
    assert d.n == 6 and set(d.run) == set(one_size["run"])
