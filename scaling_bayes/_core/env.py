"""The JAX environment: the lazy ``jax`` import, float64 on the CPU, the device count.

JAX is imported on first use (``import scaling_bayes`` and the CLI's start-up stay cheap);
every module that needs the JAX environment takes it from here.
"""

from __future__ import annotations


def load_jax():
    """The ``jax`` module, imported on first use."""
    import jax

    return jax


def enable_x64_on_cpu() -> None:
    """Use float64 when JAX runs on the CPU (the scales of N, D and C need it)."""
    jax = load_jax()
    if jax.default_backend() == "cpu" and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


def n_devices() -> int:
    """Devices of the default backend that batched programs split data sets across: this
    process's own (all of them without ``jax.distributed``; with it, each process runs its
    share of the data sets on its local devices, see :mod:`scaling_bayes.inference.distributed`)."""
    return load_jax().local_device_count()


def to_device(a):
    """``a`` (anything ``np.asarray`` takes) as a JAX array on the default device, by
    ``jax.device_put``: unlike ``jnp.asarray``, which in recent JAX runs a small compiled
    program per new shape (one more program to compile or load from the cache in every
    process), a plain transfer."""
    import numpy as np

    return load_jax().device_put(np.asarray(a))
