"""Jacobi eigen-decomposition (scaling_bayes._core.linalg): used instead of LAPACK inside programs
split across CPU devices; must agree with LAPACK to round-off on the optimiser's Hessians."""

import numpy as np
import pytest

from scaling_bayes._core.linalg import JACOBI_MAX_DIM, no_lapack, sym_eig


@pytest.mark.parametrize("d", [1, 2, 5, 6, 9, JACOBI_MAX_DIM])
def test_jacobi_matches_lapack(d):
    import jax

    from scaling_bayes._core.env import enable_x64_on_cpu

    enable_x64_on_cpu()
    rng = np.random.default_rng(d)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    w_true = np.sign(rng.standard_normal(d)) * 10.0 ** rng.uniform(-3, 6, d)  # indefinite, stiff
    A = Q @ np.diag(w_true) @ Q.T
    with no_lapack():
        w, U = jax.jit(sym_eig)(A)
    w, U = np.asarray(w), np.asarray(U)
    scale = np.abs(w_true).max()
    np.testing.assert_allclose(np.sort(w), np.sort(w_true), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(U.T @ U, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(U @ np.diag(w) @ U.T, A, atol=1e-12 * scale)


def test_jacobi_vmaps_and_lapack_outside_the_context():
    import jax
    import jax.numpy as jnp

    A = np.stack([np.diag([3.0, 1.0, 2.0]), np.array([[2.0, 1.0, 0], [1.0, 2.0, 0], [0, 0, 5.0]])])
    with no_lapack():
        w, _ = jax.vmap(sym_eig)(jnp.asarray(A))
    np.testing.assert_allclose(np.sort(np.asarray(w), axis=1), [[1, 2, 3], [1, 3, 5]], atol=1e-12)
    # fresh function objects: JAX caches traces per function, not per context
    jaxpr = str(jax.make_jaxpr(lambda a: sym_eig(a))(jnp.asarray(A[1])))
    assert "eigh" in jaxpr  # default: LAPACK
    with no_lapack():
        assert "eigh" not in str(jax.make_jaxpr(lambda a: sym_eig(a))(jnp.asarray(A[1])))
