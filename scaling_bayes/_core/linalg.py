"""Small dense linear algebra in plain JAX operations (no LAPACK custom calls).

Why: on CPU, XLA runs LAPACK kernels (``jnp.linalg.eigh``) on its intra-op thread pool, and a
batched kernel may fan out into that same pool and wait for it. When a program is split across
several CPU host devices, each device's execution already occupies a pool worker; on a 2-core
machine a batch of ~40 data sets x 16 starts deadlocked the mode search (jax/jaxlib 0.10.2,
``XLA_FLAGS=--xla_force_host_platform_device_count=2``). Plain elementwise and matmul operations
do not re-enter the pool, so inside programs split across CPU devices the optimiser's
eigen-decompositions of its (small) Hessians use cyclic Jacobi rotations written in ``jnp``
(``inference._spmd`` switches them on while it traces such a program). Elsewhere LAPACK stays:
for 40 data sets x 16 starts the Jacobi mode search takes ~4.8 s against ~0.7 s with LAPACK.
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np

_NO_LAPACK = contextvars.ContextVar("scaling_bayes_no_lapack", default=False)


@contextlib.contextmanager
def no_lapack(on: bool = True):
    """Within this block, :func:`sym_eig` traces to Jacobi rotations (for ``d <= 12``)."""
    token = _NO_LAPACK.set(on)
    try:
        yield
    finally:
        _NO_LAPACK.reset(token)

#: Largest dimension for which :func:`sym_eig` uses Jacobi rotations (the cost grows as d^3
#: sequential rotations per call); larger matrices go to ``jnp.linalg.eigh``.
JACOBI_MAX_DIM = 12


def sym_eig(A, sweeps: int = 8):
    """Eigenvalues ``w`` and eigenvectors ``U`` (columns) of the symmetric matrix ``A``.

    LAPACK (``jnp.linalg.eigh``) unless traced inside :func:`no_lapack`; there, for
    ``d <= JACOBI_MAX_DIM``: ``sweeps`` cyclic Jacobi sweeps (each rotates every
    off-diagonal pair to zero once; convergence is quadratic, 8 sweeps reach float64 round-off
    for the d <= 12 Hessians of the laws). Eigenvalues are not sorted. Works under ``vmap``.
    """
    import jax
    import jax.numpy as jnp

    d = A.shape[-1]
    A = 0.5 * (A + A.T)
    if d > JACOBI_MAX_DIM or not _NO_LAPACK.get():
        return jnp.linalg.eigh(A)
    if d == 1:
        return A[0], jnp.ones((1, 1), A.dtype)
    p_idx, q_idx = np.triu_indices(d, 1)
    P, Q = jnp.asarray(p_idx), jnp.asarray(q_idx)
    n_pairs = len(p_idx)
    eye = jnp.eye(d, dtype=A.dtype)

    def rotate(k, carry):
        A, V = carry
        p, q = P[k % n_pairs], Q[k % n_pairs]
        app, aqq, apq = A[p, p], A[q, q], A[p, q]
        tiny = jnp.abs(apq) <= 1e-300 + 1e-18 * jnp.sqrt(jnp.abs(app * aqq))
        theta = (aqq - app) / (2.0 * jnp.where(tiny, 1.0, apq))
        t = jnp.where(theta >= 0, 1.0, -1.0) / (jnp.abs(theta) + jnp.sqrt(theta * theta + 1.0))
        t = jnp.where(tiny, 0.0, t)
        c = 1.0 / jnp.sqrt(t * t + 1.0)
        s = t * c
        # A <- J^T A J and V <- V J touch only rows/columns p and q
        cp, cq = A[:, p], A[:, q]
        A = A.at[:, p].set(c * cp - s * cq).at[:, q].set(s * cp + c * cq)
        rp, rq = A[p, :], A[q, :]
        A = A.at[p, :].set(c * rp - s * rq).at[q, :].set(s * rp + c * rq)
        vp, vq = V[:, p], V[:, q]
        V = V.at[:, p].set(c * vp - s * vq).at[:, q].set(s * vp + c * vq)
        return A, V

    A, V = jax.lax.fori_loop(0, sweeps * n_pairs, rotate, (A, eye))
    return jnp.diagonal(A), V
