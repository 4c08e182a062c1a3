"""(d) PyMC's default NUTS on the same textbook model (optional: skipped when pymc is absent).

Same priors and Student-t(4) likelihood on log-loss as ``bench_numpyro.py``; ``pm.sample`` with
its defaults (jitter+adapt_diag init, diagonal mass matrix, PyTensor C backend) except
``chains=4`` (PyMC's default is ``max(2, cores)``), ``target_accept=0.9`` and the requested
tune/draws. Called twice in one process: the first call includes PyTensor compilation.

    python benchmarks/bench_pymc.py [--warmup 1000 --draws 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    from _common import chinchilla_arrays, min_ess_bulk, quantiles, write_result

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    t0 = time.perf_counter()
    try:
        import pymc as pm
    except ImportError as e:
        print(f"pymc not installed ({e}); skipped")
        write_result("pymc", {"skipped": True, "reason": f"pymc not installed: {e}"},
                     quick=args.quick, started=started)
        return 0
    import numpy as np

    import_s = time.perf_counter() - t0
    N, D, loss = chinchilla_arrays()
    logN, logD, logL = np.log(N), np.log(D), np.log(loss)
    with pm.Model():
        E = pm.LogNormal("E", 0.5, 0.6)
        A = pm.LogNormal("A", 6.0, 2.5)
        B = pm.LogNormal("B", 7.5, 2.5)
        alpha = pm.LogNormal("alpha", -1.2, 0.6)
        beta = pm.LogNormal("beta", -1.2, 0.6)
        sigma = pm.HalfNormal("sigma", 0.05)
        mu = pm.math.logsumexp(pm.math.stack([pm.math.log(E) + 0 * logN,
                                              pm.math.log(A) - alpha * logN,
                                              pm.math.log(B) - beta * logD]), axis=0)
        pm.StudentT("obs", nu=4.0, mu=mu.flatten(), sigma=sigma, observed=logL)
        runs = []
        for i in range(max(1, args.runs)):
            t = time.perf_counter()
            idata = pm.sample(draws=args.draws, tune=args.warmup, chains=args.chains,
                              target_accept=0.9, random_seed=i, progressbar=False)
            wall = time.perf_counter() - t
            s = {k: idata.posterior[k].values for k in ("E", "A", "B", "alpha", "beta")}
            ess = min_ess_bulk(s)
            st = idata.sample_stats
            runs.append({"run": i + 1, "seed": i, "wall_s": wall, **ess,
                         "ess_per_s_wall": ess["min_ess_bulk"] / wall,
                         "divergences": int(st["diverging"].values.sum()),
                         "mean_leapfrog_steps": float(st["n_steps"].values.mean()),
                         "posterior": quantiles(s)})
            print(f"pymc run {i + 1}: {wall:.2f} s; min ESS {ess['min_ess_bulk']:.0f}")
    write_result("pymc", {
        "skipped": False,
        "settings": {"chains": args.chains, "warmup": args.warmup, "draws": args.draws,
                     "target_accept": 0.9, "sampler": "pm.sample defaults (PyTensor NUTS)",
                     "parameterization": "textbook E, A, B, alpha, beta"},
        "import_s": import_s, "runs": runs,
    }, quick=args.quick, started=started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
