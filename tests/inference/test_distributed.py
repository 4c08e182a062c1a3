"""fit_many across processes on JAX's own runtime (jax.distributed): two processes on localhost,
each with its own CPU device, split the data sets between them and return the draws that one
process gets for the whole batch: the same NUTS trees (step counts, divergences) exactly, and
the same draws up to floating-point rounding (XLA may round a batch of 3 data sets differently
from one of 5, at ~1e-8 relative)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import scaling_bayes as sb
from scaling_bayes.inference.distributed import process_share

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import pandas as pd
    rank, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    from scaling_bayes.inference import distributed
    if rank >= 0:
        distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=rank)
    import jax
    import scaling_bayes as sb
    assert jax.local_device_count() == 1
    sets = []
    for s in range(5):  # 5 data sets: blocks of 3 and 2
        rng = np.random.default_rng(s)
        N = 10 ** rng.uniform(7.5, 10.5, 20)
        loss = np.exp(0.076 * np.log(8.8e13 / N) + 0.01 * rng.standard_normal(20))
        sets.append(pd.DataFrame({"N": N, "loss": loss}))
    m = sb.fit_many(sets, law="power_N", seed=5, chains=2, warmup=40, draws=40, n_starts=4)
    assert len(m) == 5
    if rank <= 0:
        np.savez(out, processes=jax.process_count(),
                 **{f"post_{k}": v for k, v in m.posterior.items()},
                 **{f"stat_{k}": v for k, v in m.sample_stats.items()},
                 refs=np.array([r["N"] for r in m.refs]),
                 ll=np.stack([m[i].log_likelihood for i in range(5)]))
    if rank >= 0:
        jax.distributed.shutdown()
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_process_share_blocks_cover_the_batch():
    for n, count in ((5, 2), (1000, 3), (1, 4), (8, 8)):
        blocks = [process_share(n, r, count) for r in range(count)]
        assert blocks[0][0] == 0 and blocks[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))


def test_two_processes_on_localhost_give_the_draws_of_one(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "SCALING_BAYES_CACHE_DIR": "off",
           "XLA_FLAGS": "", "PYTHONPATH": str(Path(sb.__file__).resolve().parents[1])}
    script = tmp_path / "worker.py"
    script.write_text(SCRIPT)
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, str(script), str(rank), port,
                               str(tmp_path / f"out{rank}.npz")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in (-1, 0, 1)]  # -1: one process alone, the reference
    outs = []
    for p in procs:
        try:
            outs.append(p.communicate(timeout=400)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("a process did not finish in time")
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out[-3000:]
    one = np.load(tmp_path / "out-1.npz")
    two = np.load(tmp_path / "out0.npz")
    assert int(one["processes"]) == 1 and int(two["processes"]) == 2
    assert sorted(one.files) == sorted(two.files)
    for k in (f for f in one.files if f != "processes"):
        if one[k].dtype.kind in "biu":  # tree sizes, divergences: exactly the same
            np.testing.assert_array_equal(one[k], two[k], err_msg=k)
        else:  # the same draws up to rounding (XLA rounds batches of 3 and 5 differently)
            np.testing.assert_allclose(one[k], two[k], rtol=1e-6, atol=0, err_msg=k)
    assert np.isfinite(one["post_alpha_N"]).all() and np.ptp(one["post_alpha_N"]) > 0
