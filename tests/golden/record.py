"""Record the golden file of tests/test_golden.py: for every registered law, a small fit with a
fixed seed on a fixed simulated sweep (its data, posterior draws, summary and, where the law
allows, the compute-optimal allocation table), plus a fingerprint of the machine.

Run it only when the numbers are *meant* to change (a new sampler, new priors), and say so in
the commit: ``.venv/bin/python tests/golden/record.py``. Refactors must leave it untouched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SETTINGS = {"chains": 2, "warmup": 150, "draws": 100, "seed": 0}
BUDGETS = [1e21, 1e24]


def fingerprint() -> dict:
    """What decides whether draws can be bit-identical: CPU model and flags, jax and numpyro."""
    import hashlib
    import platform

    import jax
    import numpyro

    model, flags = platform.processor(), ""
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
        model = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")),
                     model)
        flags = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("flags")), "")
    except OSError:
        pass
    return {"cpu": model, "cpu_flags_sha": hashlib.sha256(flags.encode()).hexdigest()[:16],
            "machine": platform.machine(), "jax": jax.__version__,
            "numpyro": numpyro.__version__}


def design(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Every input any built-in law takes, in plausible ranges."""
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 10.0, n)
    D = N * 10 ** rng.uniform(0.5, 2.5, n)
    U = D / 10 ** rng.uniform(0, 1.2, n)
    S = 10 ** rng.uniform(3, 5, n)
    return pd.DataFrame({
        "N": N, "D": D, "C": 6 * N * D, "aspect": 2.0 ** rng.uniform(4, 9, n),
        "L_train": rng.uniform(2.0, 4.0, n), "experts": 2.0 ** rng.integers(0, 7, n),
        "U": U, "S": S,
    })


def simulate(law_name: str) -> pd.DataFrame:
    """One prior-predictive sweep of ``law_name`` at :func:`design` (the first finite draw with
    losses in (0.05, 20))."""
    import scaling_bayes as sb
    from scaling_bayes._core.env import enable_x64_on_cpu
    from scaling_bayes.inference.engine import initial_ref, simulate_prior
    from scaling_bayes.model.priors import resolve_priors

    enable_x64_on_cpu()
    law = sb.get_law(law_name)
    df = design()
    base = sb.load_data(df.assign(loss=1.0))
    ref = initial_ref(law, base)
    sims, _ = simulate_prior(law, base, resolve_priors(law, None), likelihood="student_t",
                             nu=4.0, ref=ref, n=64, seed=1)
    y = np.exp(sims["log_loss"])
    ok = np.flatnonzero(np.all(np.isfinite(y) & (y > 0.05) & (y < 20), axis=1))
    return df.assign(loss=y[ok[0]])


def run(law_name: str, df: pd.DataFrame) -> dict:
    import scaling_bayes as sb

    fit = sb.fit(df, law=law_name, warn=False, **SETTINGS)
    out = {f"draw/{k}": np.asarray(fit.posterior[k]) for k in sorted(fit.posterior)}
    s = fit.summary()
    out["summary/index"] = np.array([str(i) for i in s.index])
    out["summary/columns"] = np.array(list(s.columns))
    out["summary/values"] = s.to_numpy(dtype=float)
    law = sb.get_law(law_name)
    if {"N", "D"} <= set(law.inputs) and len(law.inputs) == 2:
        t = sb.compute_optimal(fit, BUDGETS).table
        num = t.select_dtypes("number")
        out["allocation/columns"] = np.array(list(num.columns))
        out["allocation/values"] = num.to_numpy(dtype=float)
        out["allocation/quantity"] = np.array(t["quantity"].astype(str).tolist(), dtype=str)
    return out


def main() -> None:
    import scaling_bayes as sb

    laws = sorted(sb.list_laws())
    arrays, meta = {}, {"settings": SETTINGS, "budgets": BUDGETS, "laws": laws,
                        "fingerprint": fingerprint()}
    if "--meta-only" in sys.argv:  # refresh golden.json's fingerprint, keep the arrays
        old = json.loads((HERE / "golden.json").read_text())
        (HERE / "golden.json").write_text(json.dumps({**old, **meta}, indent=1) + "\n")
        return
    for name in laws:
        df = simulate(name)
        arrays[f"{name}/data"] = df.to_numpy(dtype=float)
        meta.setdefault("columns", list(df.columns))
        for k, v in run(name, df).items():
            arrays[f"{name}/{k}"] = v
        print(name, "recorded", file=sys.stderr)
    np.savez_compressed(HERE / "golden.npz", **arrays)
    (HERE / "golden.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
