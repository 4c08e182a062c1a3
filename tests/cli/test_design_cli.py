"""``scaling-bayes design``: the ranked table, the batch, identifiability, the figure, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from scaling_bayes.cli.main import main


@pytest.fixture(scope="module")
def fit_file(small_fit, tmp_path_factory):
    path = tmp_path_factory.mktemp("design") / "fit.nc"
    small_fit.save(path)
    return path


def test_design_command(fit_file, tmp_path, capsys):
    out_csv, fig = tmp_path / "design.csv", tmp_path / "design.png"
    code = main(["design", str(fit_file), "--budget", "1e21", "--target-compute", "1e24",
                 "--out", str(out_csv), "--plot", str(fig), "--top", "5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "compute-optimal model size N_opt at C* = 1e+24" in out
    assert "reduction_per_flop" in out and "batch (greedy" in out and "identifiability:" in out
    table = pd.read_csv(out_csv)
    assert (table.cost <= 1e21 * (1 + 1e-9)).all() and table.in_batch.any()
    assert fig.exists() and fig.stat().st_size > 10_000


def test_design_planned_run_and_candidates(fit_file, tmp_path, capsys):
    cand = tmp_path / "cand.csv"
    pd.DataFrame({"N": [1e9, 3e9, 1e10], "D": [2e10, 6e10, 2e11],
                  "gpu_flops": [1.2e20, 1.1e21, 1.2e22]}).to_csv(cand, index=False)
    code = main(["design", str(fit_file), "--budget", "2e21", "--target-params", "7e10",
                 "--target-tokens", "1.4e12", "--candidates", str(cand),
                 "--cost-column", "gpu_flops"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "loss of the planned run (N=7e+10, D=1.4e+12)" in out
    assert "1.2e+22" in out  # the unaffordable candidate is listed, not chosen


@pytest.mark.parametrize("args, match", [
    (["--budget", "1e21"], "--target-compute"),
    (["--budget", "1e21", "--target-compute", "1e24", "--target-params", "1e9"],
     "not both"),
    (["--budget", "1e21", "--target-params", "1e9"], "--target-tokens"),
    (["--budget", "-5", "--target-compute", "1e24"], "budget must be positive"),
    (["--budget", "1e21", "--target-compute", "1e24", "--candidates", "nope.csv"],
     "not found"),
])
def test_design_errors_are_one_line(fit_file, capsys, args, match):
    code = main(["design", str(fit_file), *args])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and match in err, err
