"""``scaling-bayes fit-curves`` and ``forecast-run`` end to end, in process (issue 17)."""

import pandas as pd
import pytest

from scaling_bayes.cli.curves import parse_schedule
from scaling_bayes.cli.main import main
from scaling_bayes.data.schedules import cosine, wsd
from scaling_bayes.model.curves import simulate_curves

TRUTH = {"E": 2.0, "A": 400.0, "alpha_N": 0.3, "B": 2.2, "alpha_S": 0.5, "C": 0.15,
         "gamma": 0.0}


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _csv(tmp_path):
    # the shapes of tests/inference/test_fit_curves.py's ladder (compiled programs shared)
    runs = {}
    for N in (1e8, 2e8, 4e8, 8e8):
        for T in (3000, 9000):
            runs[f"{N:.0e}-{T}"] = (N, cosine(T, 1e-3, warmup=150, final=0.1))
        runs[f"{N:.0e}-wsd"] = (N, wsd(9000, 1e-3, warmup=150, decay_frac=0.2))
    df = simulate_curves(TRUTH, runs, every=150, seed=0).drop(columns="mu")
    path = tmp_path / "curves.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_curves_then_forecast_run(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = run(["fit-curves", str(_csv(tmp_path)), "--chains", "2", "--warmup", "250",
                          "--draws", "200", "--out", str(out_dir), "--no-progress"], capsys)
    assert code == 0, err
    assert "12 runs" in out and "alpha_S" in out and "ell" in out
    assert (out_dir / "curves.nc").exists() and (out_dir / "summary.csv").exists()
    fc_csv = tmp_path / "fc.csv"
    code, out, err = run(["forecast-run", str(out_dir / "curves.nc"), "--N", "1.6e9",
                          "--schedule", "cosine:steps=9000,peak=1e-3,warmup=150,name=cosine",
                          "--schedule", "wsd:steps=9000,peak=1e-3,warmup=150,decay_start=7200,"
                          "name=wsd@7200", "--out", str(fc_csv)], capsys)
    assert code == 0, err
    assert "cosine" in out and "wsd@7200" in out and "diff_vs_cosine" in out
    table = pd.read_csv(fc_csv)
    assert set(table["schedule"]) == {"cosine", "wsd@7200"}
    code, out, err = run(["forecast-run", str(out_dir / "curves.nc"), "--run", "4e+08-3000"],
                         capsys)
    assert code == 0 and "run '4e+08-3000'" in out


@pytest.mark.parametrize("text, word", [
    ("linear:steps=10,peak=1", "kind must be one of"),
    ("cosine:steps=10", "give steps=... and peak"),
    ("cosine:steps=10,peak=x", "not a number"),
    ("cosine:steps=10,peak=1e-3,bogus=2", "bogus"),
])
def test_bad_schedule_is_one_line(text, word, capsys, tmp_path):
    from scaling_bayes.cli.common import UsageError

    with pytest.raises(UsageError, match=word):
        parse_schedule(text)
    nc = tmp_path / "missing.nc"
    code, _, err = run(["forecast-run", str(nc), "--N", "1e9", "--schedule", text], capsys)
    assert code == 2 and err.count("\n") == 1 and "error" in err
