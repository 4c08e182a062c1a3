"""(b) A plain NumPyro NUTS model of the Chinchilla law in textbook parameters (the baseline).

Model (what a user would write first)::

    E ~ LogNormal(0.5, 0.6)   A ~ LogNormal(6, 2.5)   B ~ LogNormal(7.5, 2.5)
    alpha, beta ~ LogNormal(-1.2, 0.6)                sigma ~ HalfNormal(0.05)
    log L_i ~ StudentT(4, log(E + A N_i^-alpha + B D_i^-beta), sigma)

float64, ``numpyro.infer.MCMC(NUTS(model, target_accept_prob=0.9))`` with the default diagonal
mass matrix and default initialisation, ``num_chains=4``, ``chain_method`` ``"sequential"`` by
default (what NumPyro falls back to with one CPU device) or ``"vectorized"``. The same MCMC
object is run twice: the first run includes tracing and XLA compilation, the second reuses the
compiled sampler (the difference estimates compile time).

    python benchmarks/bench_numpyro.py [--warmup 1000 --draws 1000] [--chain-method sequential]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SCALING_BAYES_CACHE_DIR", "off")


def model(logN, logD, logL=None):
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from jax.scipy.special import logsumexp

    E = numpyro.sample("E", dist.LogNormal(0.5, 0.6))
    A = numpyro.sample("A", dist.LogNormal(6.0, 2.5))
    B = numpyro.sample("B", dist.LogNormal(7.5, 2.5))
    alpha = numpyro.sample("alpha", dist.LogNormal(-1.2, 0.6))
    beta = numpyro.sample("beta", dist.LogNormal(-1.2, 0.6))
    sigma = numpyro.sample("sigma", dist.HalfNormal(0.05))
    terms = jnp.stack(jnp.broadcast_arrays(jnp.log(E), jnp.log(A) - alpha * logN,
                                           jnp.log(B) - beta * logD))
    mu = logsumexp(terms, axis=0)  # = log(E + A N^-alpha + B D^-beta), computed stably
    numpyro.sample("obs", dist.StudentT(4.0, mu, sigma), obs=logL)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--chain-method", default="sequential", choices=["sequential", "vectorized"])
    ap.add_argument("--runs", type=int, default=2, help="runs of the same MCMC object (>= 1)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    t0 = time.perf_counter()
    import jax
    import numpy as np
    import numpyro
    from numpyro.infer import MCMC, NUTS

    numpyro.enable_x64()
    import_s = time.perf_counter() - t0
    from _common import chinchilla_arrays, min_ess_bulk, process_age_s, quantiles, write_result

    N, D, loss = chinchilla_arrays()
    logN, logD, logL = (jax.numpy.asarray(np.log(v)) for v in (N, D, loss))
    mcmc = MCMC(NUTS(model, target_accept_prob=0.9), num_warmup=args.warmup,
                num_samples=args.draws, num_chains=args.chains, chain_method=args.chain_method,
                progress_bar=False)
    runs = []
    for i in range(max(1, args.runs)):
        t = time.perf_counter()
        mcmc.run(jax.random.PRNGKey(i), logN, logD, logL,
                 extra_fields=("num_steps", "diverging"))
        s = mcmc.get_samples(group_by_chain=True)
        jax.block_until_ready(s)
        wall = time.perf_counter() - t
        s = {k: np.asarray(v) for k, v in s.items()}
        extra = mcmc.get_extra_fields(group_by_chain=True)
        ess = min_ess_bulk(s)
        rec = {"run": i + 1, "seed": i, "wall_s": wall, **ess,
               "ess_per_s_wall": ess["min_ess_bulk"] / wall,
               "divergences": int(np.sum(np.asarray(extra["diverging"]))),
               "mean_leapfrog_steps": float(np.mean(np.asarray(extra["num_steps"]))),
               "posterior": quantiles(s)}
        if i == 0:  # a user's `python script.py`: interpreter, imports, trace, compile, run
            rec["process_s"] = process_age_s()
        runs.append(rec)
        print(f"numpyro run {i + 1}: {wall:.2f} s; min ESS {ess['min_ess_bulk']:.0f} "
              f"({ess['min_ess_param']}); {rec['ess_per_s_wall']:.1f} ESS/s; "
              f"{rec['mean_leapfrog_steps']:.0f} steps/draw; {rec['divergences']} divergent")
    write_result("numpyro", {
        "settings": {"chains": args.chains, "warmup": args.warmup, "draws": args.draws,
                     "chain_method": args.chain_method, "target_accept": 0.9,
                     "mass_matrix": "diagonal (default)", "dtype": "float64",
                     "parameterization": "textbook E, A, B, alpha, beta",
                     "data": "chinchilla (Epoch, 240 rows)"},
        "import_s": import_s,
        "compile_s_estimate": (runs[0]["wall_s"] - runs[1]["wall_s"]) if len(runs) > 1 else None,
        "runs": runs,
    }, quick=args.quick, started=started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
