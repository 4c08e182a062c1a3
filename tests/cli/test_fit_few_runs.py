"""`scaling-bayes fit FIVE_RUNS.csv --priors literature`: prior-dominated line, the literature
prior's provenance and the prior-sensitivity table."""

import numpy as np
import pandas as pd

from scaling_bayes.cli.main import main


def test_cli_five_runs_literature(tmp_path, capsys):
    rng = np.random.default_rng(0)
    N = np.array([4e7, 8e7, 1.6e8, 3.2e8, 6.4e8])
    D = 20 * N * np.array([0.5, 2.0, 1.0, 0.6, 1.5])
    loss = (1.8 + 400 * N**-0.34 + 400 * D**-0.28) * np.exp(0.005 * rng.standard_normal(5))
    p = tmp_path / "five.csv"
    pd.DataFrame({"N": N, "D": D, "loss": loss}).to_csv(p, index=False)
    code = main(["fit", str(p), "--priors", "literature", "--chains", "2", "--warmup", "300",
                 "--draws", "300", "--no-plots", "--no-progress", "--extrapolation", "none",
                 "--budget", "1e21", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0
    assert "priors: literature prior of law 'chinchilla' from 11 bundled sweeps" in out
    assert "prior-dominated posterior: 5 runs for 6 free parameters" in out
    assert "prior sensitivity" in out
    for row in ("loss at N=6.4e+09", "N_opt at C=1e+21", "tokens per parameter at C=1e+21"):
        assert row in out
    line = next(x for x in out.splitlines() if x.startswith("N_opt at C=1e+21"))
    assert line.count("[") == 2  # default and literature columns
