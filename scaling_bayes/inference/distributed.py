"""``fit_many`` beyond one machine, on JAX's own distributed runtime (``jax.distributed``).

Every process runs the same script; :func:`initialize` connects them (JAX's coordination
service: one coordinator address, a process count and each process's id, or whatever a cluster
launcher such as SLURM provides, which ``jax.distributed.initialize`` reads by itself). After
that, :func:`scaling_bayes.fit_many` splits the data sets into contiguous blocks, one per
process (:func:`process_share`), fits its block on the process's local devices, and gathers all
blocks back with a JAX collective (``multihost_utils.process_allgather``), so every process
returns the full :class:`~scaling_bayes.posterior.many.ManyFits`. Each data set's random
choices come from ``fold_in(seed, its position)``, so the draws are the same as with one
process. No scheduler of ours is involved: JAX starts nothing, the launcher starts the processes.

On CPU, cross-process collectives need JAX's Gloo implementation, which :func:`initialize`
selects (``jax_cpu_collectives_implementation``) before connecting.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scaling_bayes._core.env import load_jax

__all__ = ["initialize", "is_distributed", "process_share", "allgather_rows"]


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, **kwargs: Any) -> None:
    """Connect this process to the others (``jax.distributed.initialize``; call it first,
    before any JAX computation).

    With no arguments JAX detects the cluster (SLURM, Open MPI, Kubernetes, ...); otherwise
    give the coordinator's ``host:port`` (process 0 listens there), the number of processes and
    this process's id (0 .. num_processes - 1), e.g. from a ``torchrun``-style launcher's
    ``MASTER_ADDR``/``MASTER_PORT``, ``WORLD_SIZE`` and ``RANK``. Other keywords go to
    ``jax.distributed.initialize`` (``local_device_ids``, ``initialization_timeout``, ...)."""
    jax = load_jax()
    try:  # CPU collectives across processes (allgather of the results) go through Gloo
        if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except AttributeError:  # an older JAX without the option: its default is used
        pass
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id, **kwargs)


def is_distributed() -> bool:
    """Whether this process is one of several connected by ``jax.distributed``."""
    return load_jax().process_count() > 1


def process_share(n: int, process: int | None = None, count: int | None = None
                  ) -> tuple[int, int]:
    """``(start, stop)``: the contiguous block of ``n`` data sets that process ``process`` (of
    ``count``; default this one, of all) fits: ``ceil(n / count)`` each, the last ones fewer
    (possibly none)."""
    jax = load_jax()
    count = jax.process_count() if count is None else int(count)
    process = jax.process_index() if process is None else int(process)
    per = math.ceil(n / count)
    start = min(n, process * per)
    return start, min(n, start + per)


def allgather_rows(tree, n: int):
    """Every process's block of rows (leading axis) of ``tree`` (a pytree of arrays), gathered
    in process order and cut to the ``n`` rows of the whole batch: the same result in every
    process. Blocks are padded to one size (``ceil(n / processes)`` rows) for the collective."""
    jax = load_jax()
    from jax.experimental import multihost_utils

    count = jax.process_count()
    per = math.ceil(n / count)

    def pad(a):
        a = np.asarray(a)
        if a.shape[0] == per:
            return a
        if a.shape[0] == 0:
            return np.zeros((per, *a.shape[1:]), dtype=a.dtype)
        return a[np.minimum(np.arange(per), a.shape[0] - 1)]

    padded = jax.tree_util.tree_map(pad, tree)
    gathered = multihost_utils.process_allgather(padded, tiled=False)  # (processes, per, ...)
    return jax.tree_util.tree_map(
        lambda a: np.asarray(a).reshape(count * per, *np.shape(a)[2:])[:n], gathered)
