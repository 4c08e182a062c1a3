"""``scaling-bayes downstream`` in process: one small fit end to end, and the usage errors."""

from __future__ import annotations

import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.cli.main import main


def test_downstream_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["downstream", "--dataset", "olmo_ladder", "--task", "piqa_val", "--hold-out",
               "size=1B", "--chains", "1", "--warmup", "60", "--draws", "60", "--threshold",
               "0.7", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    assert "seed-noise floor from 3 rerun pairs" in text and "held out: median |error|" in text
    p = pd.read_csv(out / "downstream_predictions.csv")
    assert len(p) == 6 and {"metric_pred_q5", "p_above", "observed_metric"} <= set(p)
    for f in ("downstream.png", "downstream.pdf", "downstream_summary.csv"):
        assert (out / f).stat().st_size > 0
    fit = sb.load_downstream(out / "downstream_fit.npz")
    assert fit.data.n == 18 and fit.floor == 0.5


@pytest.mark.parametrize("argv, msg", [
    (["--dataset", "olmo_ladder"], "give --task TASK"),
    (["--dataset", "olmo_ladder", "--task", "nope"], "task-loss column 'bpb_nope'"),
    (["--dataset", "olmo_ladder", "--task", "piqa_val", "--hold-out", "size"],
     "COLUMN=VALUE"),
    (["--dataset", "olmo_ladder", "--task", "piqa_val", "--hold-out", "size=3B"],
     "no row matches"),
    (["--dataset", "olmo_ladder", "--task", "piqa_val", "--checkpoints", "x"],
     "--checkpoints must be"),
    (["--dataset", "olmo_ladder", "--task", "piqa_val", "--chains", "0"], "--chains must be"),
])
def test_usage_errors_are_one_line(argv, msg, capsys, tmp_path):
    rc = main(["downstream", *argv, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and len(err.strip().splitlines()) <= 2
    assert not (tmp_path / "o").exists()
