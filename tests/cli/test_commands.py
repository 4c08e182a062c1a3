"""The CLI end to end, in process (main([...])) and once as a real subprocess."""

import subprocess
import sys

import pandas as pd
import pytest
from conftest import synthetic

from scaling_bayes.cli.main import main


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_csv_end_to_end(tmp_path, capsys):
    csv = tmp_path / "sweep.csv"
    synthetic("chinchilla").to_csv(csv, index=False)
    out_dir = tmp_path / "out"
    code, out, err = run(["fit", str(csv), "--law", "chinchilla", "--chains", "4", "--warmup",
                          "500", "--draws", "1000", "--out", str(out_dir), "--no-plots"], capsys)
    assert code == 0, err
    for name in ("E", "A", "B", "alpha", "beta", "sigma", "r_hat", "ess_bulk"):
        assert name in out
    assert (out_dir / "fit.nc").exists()
    summary = pd.read_csv(out_dir / "summary.csv", index_col=0)
    assert list(summary.index) == ["E", "A", "B", "alpha", "beta", "sigma"]
    import scaling_bayes as sb

    fit = sb.load_fit(out_dir / "fit.nc")
    assert fit.config.draws == 1000
    # the structural term is on by default, said in one line, and saved with the fit
    assert "extrapolation: beyond the data" in out
    assert fit.config.extrapolation == "calibrated" and fit.extrapolation is not None


def test_fit_extrapolation_none(tmp_path, capsys):
    csv = tmp_path / "sweep.csv"
    synthetic("chinchilla").to_csv(csv, index=False)
    code, out, err = run(["fit", str(csv), "--draws", "200", "--warmup", "200", "--no-plots",
                          "--extrapolation", "none", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert "extrapolation:" not in out
    import scaling_bayes as sb

    assert sb.load_fit(tmp_path / "o" / "fit.nc").extrapolation is None


def test_listings(capsys):
    code, out, _ = run(["datasets"], capsys)
    assert code == 0 and "chinchilla" in out and "porian2024" in out
    code, out, _ = run(["laws"], capsys)
    assert code == 0 and "kaplan" in out and "L = E + A*N^-alpha + B*D^-beta" in out


@pytest.mark.parametrize("args, match", [
    (["fit", "--dataset", "nope"], "unknown data set 'nope'"),
    (["fit", "--dataset", "chinchilla", "--law", "nope"], "unknown law 'nope'"),
    (["fit"], "give either a CSV path or --dataset"),
    (["fit", "missing.csv"], "data file not found"),
    (["fit", "--dataset", "chinchilla", "--chains", "0"], "chains must be an integer"),
    (["fit", "--dataset", "chinchilla", "--draws", "-3"], "draws must be an integer"),
    (["fit", "--dataset", "chinchilla", "--prior", "alpha"], "--prior must look like"),
    (["fit", "--dataset", "chinchilla", "--prior", "A=Normal(0,1)"], "derived"),
    (["fit", "--bogus"], "unrecognized arguments"),
    (["fit", "--dataset", "chinchilla", "--chains", "many"], "invalid int value"),
    (["frobnicate"], "invalid choice"),
])
def test_errors_are_one_line_exit_2(args, match, capsys):
    code, out, err = run(args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaling-bayes: error:"), err
    assert match in lines[0]


def test_bad_csv_one_line(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text("N,D,loss\n1e9,1e10,abc\n")
    code, _, err = run(["fit", str(p)], capsys)
    assert code == 2 and "column 'loss'" in err and len(err.strip().splitlines()) == 1


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("N,D,loss\n")
    r = subprocess.run([sys.executable, "-m", "scaling_bayes.cli", "fit", str(p)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "header but no rows" in r.stderr


def test_bad_fit_prints_one_diagnostics_block(tmp_path, capsys):
    """Issue 14: a bad fit's problems are one block on stderr (one line per kind of problem,
    the parameters on it, one line of advice), not one WARNING line per parameter."""
    csv = tmp_path / "sweep.csv"
    synthetic("power_N").to_csv(csv, index=False)
    code, out, err = run(["fit", str(csv), "--law", "power_N", "--chains", "2", "--warmup", "20",
                          "--draws", "30", "--out", str(tmp_path / "out"), "--no-plots",
                          "--no-progress"], capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert lines.count("WARNING: diagnostics:") == 1, err
    start = lines.index("WARNING: diagnostics:")
    block = []
    for ln in lines[start + 1:]:
        if not ln.startswith("  "):
            break
        block.append(ln[2:])
    assert len(block) >= 2 and block[-1].startswith("try: "), err
    assert sum("WARNING" in ln for ln in lines) == 1, err
    problems = block[:-1]
    kinds = [p.split(" (")[0].split(":")[0] for p in problems]
    assert len(set(kinds)) == len(kinds), problems  # one line per kind
    assert any(p.startswith(("r_hat >", "ess_bulk <", "ess_tail <")) for p in problems), err
    assert any("alpha_N " in p for p in problems), err  # parameters named with their values
    assert "diagnostics: 0 divergences" not in out
