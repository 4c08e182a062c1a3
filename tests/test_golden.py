"""Refactors change no number: every registered law, fitted with a fixed seed on the fixed sweep
stored in tests/golden/golden.npz (recorded by tests/golden/record.py), gives the recorded draws,
summary and allocation table.

On the machine that recorded the file (same CPU model and flags, same jax and numpyro) the draws
must be bit-identical. Elsewhere XLA's CPU code differs, MCMC trajectories part after a few
iterations, and only the posterior can be compared: each parameter's mean within 6 Monte Carlo
standard errors (of both runs) plus 10% of its posterior sd.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb

HERE = Path(__file__).resolve().parent / "golden"
META = json.loads((HERE / "golden.json").read_text())

pytestmark = pytest.mark.slow  # 18 laws x one small fit each: ~3-6 min on 2 cores


@pytest.fixture(scope="module")
def golden():
    with np.load(HERE / "golden.npz", allow_pickle=True) as z:  # our own file (text columns)
        return {k: z[k] for k in z.files}


def _same_machine() -> bool:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("golden_record", HERE / "record.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("golden_record", mod)
    spec.loader.exec_module(mod)
    return mod.fingerprint() == META["fingerprint"]


@pytest.mark.parametrize("law", META["laws"])
def test_law_reproduces_golden_fit(law, golden):
    df = pd.DataFrame(golden[f"{law}/data"], columns=META["columns"])
    fit = sb.fit(df, law=law, warn=False, **META["settings"])
    names = sorted(k.split("/", 2)[2] for k in golden if k.startswith(f"{law}/draw/"))
    assert sorted(fit.posterior) == names
    s = fit.summary()
    index = golden[f"{law}/summary/index"]
    assert [str(i) for i in s.index] == list(index)
    if _same_machine():
        for k in names:
            np.testing.assert_array_equal(np.asarray(fit.posterior[k]), golden[f"{law}/draw/{k}"],
                                          err_msg=f"{law}: draws of {k}")
        np.testing.assert_array_equal(s.to_numpy(dtype=float), golden[f"{law}/summary/values"])
        if f"{law}/allocation/values" in golden:
            t = sb.compute_optimal(fit, META["budgets"]).table
            np.testing.assert_array_equal(t.select_dtypes("number").to_numpy(dtype=float),
                                          golden[f"{law}/allocation/values"])
        return
    old = pd.DataFrame(golden[f"{law}/summary/values"], index=index,
                       columns=golden[f"{law}/summary/columns"])
    new = s.set_axis([str(i) for i in s.index])
    tol = 6 * np.hypot(old["mcse_mean"], new["mcse_mean"]) + 0.1 * old["sd"]
    bad = (new["mean"] - old["mean"]).abs() > tol
    assert not bad.any(), pd.DataFrame({"old": old["mean"], "new": new["mean"], "tol": tol})[bad]
