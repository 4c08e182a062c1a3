"""Classical (non-Bayesian) Chinchilla baselines: Approach 3, its bootstrap, and Approach 2.

These reproduce the point-estimate procedures that papers report, so that a Bayesian fit can be
compared with them on the same data:

* :func:`approach3_fit` -- Hoffmann et al. (2022) Approach 3 as replicated by Besiroglu et al.
  (Epoch AI, 2024): minimise the **sum** over points of ``Huber_delta(log Lhat - log L)`` with
  ``log Lhat = LSE(e, a - alpha log N, b - beta log D)``, by BFGS from a grid of initial values,
  keeping the best. All grid starts run in one jitted, vmapped call.
* :func:`approach3_bootstrap` -- Epoch's bootstrap: resample rows with replacement and refit each
  replicate from the full-data optimum (all replicates vmapped).
* :func:`bootstrap_summary` -- mean, sd and quantiles of bootstrap replicates.
* :func:`approach2_fit` -- Hoffmann's Approach 2: a parabola of loss vs log N per IsoFLOP budget,
  its vertex as N_opt(C), then power-law regressions of N_opt and D_opt = C/(6 N_opt) on C.

The optimiser is a dense BFGS (5 parameters) with a backtracking Armijo line search written in
JAX; it stops on ``max|grad| <= gtol``, on a line search that can no longer decrease the
objective (machine precision reached), or at ``maxiter``. Epoch's notebook used scipy's BFGS with
its default ``gtol=1e-5``; that tolerance stops noticeably short of the optimum on the Chinchilla
data (the objective is ~1e-3 and extremely flat along the amplitude/exponent ridges), so the
default here is far tighter.

Everything is float64: call ``jax.config.update("jax_enable_x64", True)`` before using this
module (the package's inference entry points do). Only JAX, numpy and pandas are used.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.special import logsumexp

__all__ = [
    "EPOCH_GRID",
    "approach3_fit",
    "approach3_bootstrap",
    "bootstrap_summary",
    "approach2_fit",
    "approach3_objective",
]

#: Initial-value grid of Hoffmann et al. (2022) as used in Epoch's replication notebook
#: (``np.arange`` ranges): e in {-1,...,1} step 0.5, a and b in {0,...,25} step 5,
#: alpha and beta in {0,...,2} step 0.5 -- 5*6*6*5*5 = 4500 starts.
EPOCH_GRID: dict[str, np.ndarray] = {
    "e": np.arange(-1.0, 1.5, 0.5),
    "a": np.arange(0.0, 30.0, 5.0),
    "b": np.arange(0.0, 30.0, 5.0),
    "alpha": np.arange(0.0, 2.5, 0.5),
    "beta": np.arange(0.0, 2.5, 0.5),
}

THETA_NAMES = ("e", "a", "b", "alpha", "beta")
DERIVED_NAMES = ("E", "A", "B", "alpha", "beta", "a", "b", "G")

# Optimiser status codes (per start / replicate).
STATUS = {0: "gtol reached", 1: "maxiter reached", 2: "line search stalled (precision limit)",
          3: "non-finite objective"}


# ----------------------------------------------------------------------------- input checks
def _check_xy(N, D, loss, min_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = []
    n = None
    for name, v in (("N", N), ("D", D), ("loss", loss)):
        try:
            arr = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a 1-D array of numbers ({exc})") from None
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise ValueError(f"{name} has length {arr.shape[0]} but N has length {n}; "
                             "N, D and loss must have equal length")
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(f"{name} has non-finite values at rows {bad[:5].tolist()}")
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            raise ValueError(f"{name} must be > 0; non-positive values at rows {bad[:5].tolist()}")
        out.append(arr)
    if n < min_rows:
        raise ValueError(f"need at least {min_rows} rows (N, D, loss), got {n}")
    return out[0], out[1], out[2]


# ----------------------------------------------------------------------------- objective
def _huber(r, delta):
    ar = jnp.abs(r)
    return jnp.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def _objective(theta, lN, lD, lL, w, delta):
    """sum_i w_i Huber_delta(LSE(e, a - alpha lN_i, b - beta lD_i) - lL_i)."""
    e, a, b, alpha, beta = theta[0], theta[1], theta[2], theta[3], theta[4]
    terms = jnp.stack([jnp.broadcast_to(e, lN.shape), a - alpha * lN, b - beta * lD])
    r = logsumexp(terms, axis=0) - lL
    return jnp.sum(w * _huber(r, delta))


def approach3_objective(theta, N, D, loss, *, delta: float = 1e-3) -> float:
    """The Approach-3 objective (sum of log-space Huber losses) at ``theta = (e, a, b, alpha, beta)``."""
    lN, lD, lL = (jnp.log(jnp.asarray(v, dtype=jnp.float64)) for v in (N, D, loss))
    theta = jnp.asarray(theta, dtype=jnp.float64)
    return float(_objective(theta, lN, lD, lL, jnp.ones_like(lN), delta))


# ----------------------------------------------------------------------------- batched BFGS
def _value_grad(TH, lN, lD, lL, W, delta):
    """Objective and analytic gradient for a batch of parameter vectors.

    ``TH``: (L, 5) rows ``(e, a, b, alpha, beta)``; ``lN, lD, lL``: (n,); ``W``: (n,) or (L, n)
    row weights. Returns ``f`` (L,) and ``g`` (L, 5). Uses ``S = E + A N^-alpha + B D^-beta``
    directly (2 exp + 1 log per point instead of a 3-term LSE): terms that overflow give a
    non-finite objective, which the line search rejects.
    """
    e, a, b, al, be = (TH[:, i : i + 1] for i in range(5))
    E = jnp.exp(e)
    u = jnp.exp(a - al * lN)
    v = jnp.exp(b - be * lD)
    S = E + u + v
    r = jnp.log(S) - lL
    ar = jnp.abs(r)
    f = jnp.sum(W * jnp.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta)), axis=1)
    Q = W * jnp.clip(r, -delta, delta) / S
    U = Q * u
    V = Q * v
    g = jnp.stack(
        [E[:, 0] * jnp.sum(Q, axis=1), jnp.sum(U, axis=1), jnp.sum(V, axis=1), -(U @ lN),
         -(V @ lD)],
        axis=1,
    )
    return f, g


class _State(NamedTuple):
    x: jnp.ndarray  # (L, 5)
    f: jnp.ndarray  # (L,)
    g: jnp.ndarray  # (L, 5)
    H: jnp.ndarray  # (L, 5, 5) inverse-Hessian approximations
    fresh: jnp.ndarray  # (L,) bool: H carries no curvature information (identity)
    nit: jnp.ndarray  # (L,) int
    status: jnp.ndarray  # (L,) int, -1 while running (see STATUS)


_C1 = 1e-4  # Armijo constant
_MAX_LS = 40  # step halvings before a line search is declared failed


def _where(mask, a, b):
    return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)


def _bfgs_init(vg, x0) -> _State:
    f, g = vg(x0)
    L, n = x0.shape
    finite = jnp.isfinite(f) & jnp.all(jnp.isfinite(g), axis=1)
    return _State(x0, f, g, jnp.broadcast_to(jnp.eye(n, dtype=x0.dtype), (L, n, n)),
                  jnp.ones(L, bool), jnp.zeros(L, jnp.int32),
                  jnp.where(finite, -1, 3).astype(jnp.int32))


def _bfgs_iter(vg, s: _State, gtol) -> _State:
    """One BFGS iteration on every running lane (finished lanes are carried unchanged)."""
    L, n = s.x.shape
    eye = jnp.eye(n, dtype=s.x.dtype)
    active = s.status < 0
    p = -jnp.einsum("lij,lj->li", s.H, s.g)
    gp = jnp.sum(s.g * p, axis=1)
    bad_dir = ~(gp < 0) | ~jnp.all(jnp.isfinite(p), axis=1)
    fresh = s.fresh | bad_dir
    H = _where(bad_dir, jnp.broadcast_to(eye, s.H.shape), s.H)
    p = _where(bad_dir, -s.g, p)
    # An identity-metric step (-g) can be wildly mis-scaled: cap its length at 1.
    pn = jnp.sqrt(jnp.sum(p * p, axis=1))
    scale = jnp.where(fresh & (pn > 1.0), 1.0 / jnp.where(pn > 0, pn, 1.0), 1.0)
    p = p * scale[:, None]
    gp = jnp.sum(s.g * p, axis=1)

    # Backtracking (Armijo) line search, all lanes in lock-step; gradients come for free.
    def accept(t, ft, gt):
        return jnp.isfinite(ft) & jnp.all(jnp.isfinite(gt), axis=1) & (ft <= s.f + _C1 * t * gp)

    t0 = jnp.ones(L, s.x.dtype)
    f1, g1 = vg(s.x + p)
    ok0 = accept(t0, f1, g1)

    def ls_cond(c):
        k, t, ft, gt, ok = c
        return (k < _MAX_LS) & jnp.any(active & ~ok)

    def ls_body(c):
        k, t, ft, gt, ok = c
        t_try = jnp.where(ok, t, 0.5 * t)
        f_try, g_try = vg(s.x + t_try[:, None] * p)
        ok_try = accept(t_try, f_try, g_try)
        keep = ok | ~active
        return (k + 1, jnp.where(keep, t, t_try), jnp.where(keep, ft, f_try),
                _where(keep, gt, g_try), ok | ok_try)

    _, t, f_new, g_new, ok = jax.lax.while_loop(
        ls_cond, ls_body, (jnp.int32(0), t0, f1, g1, ok0))

    x_new = s.x + t[:, None] * p
    sv = x_new - s.x
    yv = g_new - s.g
    sy = jnp.sum(sv * yv, axis=1)
    yy = jnp.sum(yv * yv, axis=1)
    ss = jnp.sum(sv * sv, axis=1)
    # Nocedal & Wright (6.20): scale the identity before the first update.
    gamma = jnp.where((sy > 0) & (yy > 0), sy / jnp.where(yy > 0, yy, 1.0), 1.0)
    H0 = _where(fresh, gamma[:, None, None] * eye, H)
    rho = 1.0 / jnp.where(sy > 0, sy, 1.0)
    V = eye - rho[:, None, None] * jnp.einsum("li,lj->lij", sv, yv)
    H_upd = jnp.einsum("lij,ljk,lmk->lim", V, H0, V) + rho[:, None, None] * jnp.einsum(
        "li,lj->lij", sv, sv)
    curv_ok = sy > 1e-14 * jnp.sqrt(ss * yy)
    H_new = _where(curv_ok, H_upd, H0)

    converged = jnp.max(jnp.abs(g_new), axis=1) <= gtol
    # A failed search along a quasi-Newton direction is retried along -g (H reset); a failed
    # search along -g means no representable decrease is left: the precision limit.
    status = jnp.where(ok & converged, 0, jnp.where(~ok & fresh, 2, -1)).astype(jnp.int32)
    new = _State(
        x=_where(ok, x_new, s.x),
        f=jnp.where(ok, f_new, s.f),
        g=_where(ok, g_new, s.g),
        H=_where(ok, H_new, jnp.broadcast_to(eye, s.H.shape)),
        fresh=jnp.where(ok, fresh & ~curv_ok, True),
        nit=s.nit + 1,
        status=status,
    )
    return jax.tree_util.tree_map(lambda a, b: _where(active, a, b), new, s)


def _bfgs_run(vg, s: _State, gtol, n_iter) -> _State:
    """Iterate until every lane has stopped or ``n_iter`` more iterations were done."""

    def cond(c):
        it, st = c
        return (it < n_iter) & jnp.any(st.status < 0)

    def body(c):
        it, st = c
        return it + 1, _bfgs_iter(vg, st, gtol)

    return jax.lax.while_loop(cond, body, (jnp.int32(0), s))[1]


def _finish(s: _State) -> _State:
    return s._replace(status=jnp.where(s.status < 0, 1, s.status).astype(jnp.int32))


@partial(jax.jit, static_argnames=("maxiter", "screen_iter", "n_polish"))
def _fit_starts(starts, lN, lD, lL, delta, gtol, maxiter, screen_iter, n_polish):
    vg = lambda th: _value_grad(th, lN, lD, lL, 1.0, delta)  # noqa: E731
    s = _bfgs_init(vg, starts)
    if n_polish >= starts.shape[0]:
        return _finish(_bfgs_run(vg, s, gtol, maxiter))
    # Screen every start for ``screen_iter`` iterations, then run only the ``n_polish`` lowest
    # objectives (ties broken by start order) on to convergence.
    s = _bfgs_run(vg, s, gtol, screen_iter)
    fin = jnp.where(jnp.isfinite(s.f), s.f, jnp.inf)
    _, idx = jax.lax.top_k(-fin, n_polish)
    sub = jax.tree_util.tree_map(lambda v: v[idx], s)
    sub = _finish(_bfgs_run(vg, sub, gtol, maxiter - screen_iter))
    s = _finish(s)
    return jax.tree_util.tree_map(lambda full, part: full.at[idx].set(part), s, sub)


@partial(jax.jit, static_argnames=("maxiter", "batch"))
def _fit_boot(start, weights, lN, lD, lL, delta, gtol, maxiter, batch):
    nb = weights.shape[0]

    def run(W):
        vg = lambda th: _value_grad(th, lN, lD, lL, W, delta)  # noqa: E731
        x0 = jnp.broadcast_to(start, (W.shape[0], start.shape[0]))
        s = _finish(_bfgs_run(vg, _bfgs_init(vg, x0), gtol, maxiter))
        return s.x, s.f, s.nit, s.status

    if batch >= nb:
        return run(weights)
    n_chunks = -(-nb // batch)
    pad = n_chunks * batch - nb
    wp = jnp.concatenate([weights, jnp.broadcast_to(weights[:1], (pad,) + weights.shape[1:])])
    out = jax.lax.map(run, wp.reshape((n_chunks, batch) + weights.shape[1:]))
    return jax.tree_util.tree_map(lambda v: v.reshape((n_chunks * batch,) + v.shape[2:])[:nb], out)


@jax.jit
def _pick_best(f, x):
    fin = jnp.where(jnp.isfinite(f), f, jnp.inf)
    i = jnp.argmin(fin)  # first minimum: deterministic tie-breaking
    return i, x[i]


def _grid_starts(grid) -> np.ndarray:
    if grid is None:
        grid = EPOCH_GRID
    if isinstance(grid, Mapping):
        missing = [k for k in THETA_NAMES if k not in grid]
        if missing:
            raise ValueError(f"grid is missing axes {missing}; expected keys {list(THETA_NAMES)}")
        axes = [np.atleast_1d(np.asarray(grid[k], dtype=np.float64)) for k in THETA_NAMES]
        starts = np.array(list(itertools.product(*axes)), dtype=np.float64)
    else:
        starts = np.atleast_2d(np.asarray(grid, dtype=np.float64))
    if starts.ndim != 2 or starts.shape[1] != 5 or starts.shape[0] == 0:
        raise ValueError("grid must be a mapping of axes {e, a, b, alpha, beta} or an array of "
                         f"shape (n_starts, 5) in that order; got shape {starts.shape}")
    if not np.all(np.isfinite(starts)):
        raise ValueError("grid has non-finite start values")
    return starts


def _derived(theta: np.ndarray) -> dict[str, np.ndarray]:
    """Textbook and compute-optimal quantities from theta (..., 5) = (e, a, b, alpha, beta)."""
    theta = np.asarray(theta, dtype=np.float64)
    e, a, b, alpha, beta = (theta[..., i] for i in range(5))
    s = alpha + beta
    with np.errstate(all="ignore"):
        logG = (np.log(alpha) + a - np.log(beta) - b) / s
        return {
            "E": np.exp(e), "A": np.exp(a), "B": np.exp(b), "alpha": alpha, "beta": beta,
            "a": beta / s, "b": alpha / s, "G": np.exp(logG),
        }


# ----------------------------------------------------------------------------- Approach 3
def approach3_fit(N, D, loss, *, delta: float = 1e-3, grid=None, gtol: float = 1e-10,
                  maxiter: int = 2000, screen_iter: int = 50, n_polish: int | None = 64) -> dict:
    """Chinchilla Approach 3 (Hoffmann et al. 2022) as replicated by Epoch AI (2024).

    Minimises ``sum_i Huber_delta(LSE(e, a - alpha log N_i, b - beta log D_i) - log L_i)`` over
    ``theta = (e, a, b, alpha, beta)`` (``E = exp(e)``, ``A = exp(a)``, ``B = exp(b)``) by BFGS from
    every start of ``grid`` in one jitted, vmapped call, and keeps the lowest objective.

    Parameters
    ----------
    N, D, loss : 1-D arrays of equal length (>= 5), finite and > 0.
    delta : Huber threshold on log-loss residuals (Hoffmann: 1e-3).
    grid : None (the Hoffmann/Epoch grid :data:`EPOCH_GRID`, 4500 starts), a mapping of axes
        ``{"e", "a", "b", "alpha", "beta"}`` to be crossed, or an ``(n_starts, 5)`` array.
    gtol : stop a start when ``max|gradient| <= gtol`` (scipy's default 1e-5 stops early here).
    maxiter : BFGS iteration cap per start.

    Returns
    -------
    dict with floats ``E, A, B, alpha, beta``, the compute-optimal allocation ``a = beta/(alpha+beta)``,
    ``b = alpha/(alpha+beta)``, ``G = (alpha A/(beta B))^(1/(alpha+beta))`` (so that
    ``N_opt = G (C/6)^a``), ``objective`` (the summed Huber loss), ``theta`` (numpy array
    ``(e, a, b, alpha, beta)``), plus diagnostics ``grad_max``, ``n_iter``, ``status``
    (see :data:`STATUS`), ``best_start``, ``n_starts`` and ``n_converged`` (starts within 1e-9
    relative of the best objective).
    """
    N, D, loss = _check_xy(N, D, loss, min_rows=5)
    delta = _check_delta(delta)
    starts = _grid_starts(grid)
    lN, lD, lL = (jnp.log(jnp.asarray(v, dtype=jnp.float64)) for v in (N, D, loss))
    n_starts = starts.shape[0]
    n_polish = n_starts if n_polish is None else min(max(int(n_polish), 1), n_starts)
    screen_iter = min(max(int(screen_iter), 0), int(maxiter))
    st = _fit_starts(jnp.asarray(starts), lN, lD, lL, delta, float(gtol), int(maxiter),
                     screen_iter, n_polish)
    x, f, g, nit, status = st.x, st.f, st.g, st.nit, st.status
    i, theta = _pick_best(f, x)
    i = int(i)
    f = np.asarray(f)
    best_f = float(f[i])
    if not np.isfinite(best_f):
        raise RuntimeError("approach3_fit: every start produced a non-finite objective")
    theta = np.asarray(theta, dtype=np.float64)
    out = {k: float(v) for k, v in _derived(theta).items()}
    out.update(
        objective=best_f,
        theta=theta,
        grad_max=float(np.max(np.abs(np.asarray(g)[i]))),
        n_iter=int(np.asarray(nit)[i]),
        status=int(np.asarray(status)[i]),
        best_start=starts[i],
        n_starts=int(starts.shape[0]),
        n_converged=int(np.sum(np.isfinite(f) & (f <= best_f * (1 + 1e-9) + 1e-300))),
    )
    return out


def _check_delta(delta) -> float:
    delta = float(delta)
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be finite and > 0, got {delta}")
    return delta


def approach3_bootstrap(N, D, loss, *, n_boot: int = 4000, seed: int = 0, delta: float = 1e-3,
                        start=None, gtol: float = 1e-10, maxiter: int = 2000,
                        batch_size: int = 1000) -> dict[str, np.ndarray]:
    """Epoch's bootstrap of Approach 3: resample rows with replacement, refit each replicate.

    Each of ``n_boot`` replicates draws ``len(N)`` row indices uniformly with replacement
    (``numpy.random.default_rng(seed)``) and is refitted by BFGS from ``start`` -- the full-data
    optimum ``theta = (e, a, b, alpha, beta)``, computed with :func:`approach3_fit` when None.
    A replicate is fitted as the full data set with integer row weights (the resampling counts),
    which is the same objective as the resampled rows. Replicates are vmapped in chunks of
    ``batch_size`` (``lax.map`` over chunks).

    Returns a dict of per-replicate numpy arrays ``E, A, B, alpha, beta, a, b, G`` plus
    ``theta`` (n_boot, 5), ``objective``, ``status`` (see :data:`STATUS`) and ``n_iter``.
    """
    N, D, loss = _check_xy(N, D, loss, min_rows=5)
    delta = _check_delta(delta)
    n_boot = int(n_boot)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if start is None:
        start = approach3_fit(N, D, loss, delta=delta, gtol=gtol, maxiter=maxiter)["theta"]
    elif isinstance(start, Mapping):
        start = start["theta"] if "theta" in start else [start[k] for k in THETA_NAMES]
    start = np.asarray(start, dtype=np.float64)
    if start.shape != (5,) or not np.all(np.isfinite(start)):
        raise ValueError("start must be theta = (e, a, b, alpha, beta): 5 finite numbers "
                         f"(or the dict returned by approach3_fit); got {start!r}")
    n = N.shape[0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    weights = np.zeros((n_boot, n), dtype=np.float64)
    np.add.at(weights, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1.0)
    lN, lD, lL = (jnp.log(jnp.asarray(v, dtype=jnp.float64)) for v in (N, D, loss))
    x, f, nit, status = _fit_boot(jnp.asarray(start), jnp.asarray(weights), lN, lD, lL, delta,
                                  float(gtol), int(maxiter), min(batch_size, n_boot))
    theta = np.asarray(x, dtype=np.float64)
    out = _derived(theta)
    out.update(theta=theta, objective=np.asarray(f), status=np.asarray(status),
               n_iter=np.asarray(nit))
    return out


def bootstrap_summary(boot: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Mean, sd (ddof=1) and 2.5/10/50/90/97.5 % quantiles for each bootstrapped parameter.

    Rows are the parameters ``E, A, B, alpha, beta, a, b, G`` present in ``boot`` (as returned by
    :func:`approach3_bootstrap`); replicates with a non-finite value are dropped per parameter
    (``n`` counts those kept).
    """
    rows = {}
    qs = (0.025, 0.10, 0.50, 0.90, 0.975)
    for k in DERIVED_NAMES:
        if k not in boot:
            continue
        v = np.asarray(boot[k], dtype=np.float64).ravel()
        v = v[np.isfinite(v)]
        if v.size == 0:
            rows[k] = {"mean": np.nan, "sd": np.nan, **{f"q{100 * q:g}": np.nan for q in qs},
                       "n": 0}
            continue
        qv = np.quantile(v, qs)
        rows[k] = {"mean": v.mean(), "sd": v.std(ddof=1) if v.size > 1 else np.nan,
                   **{f"q{100 * q:g}": x for q, x in zip(qs, qv, strict=True)}, "n": v.size}
    if not rows:
        raise ValueError(f"boot has none of the parameters {list(DERIVED_NAMES)}")
    return pd.DataFrame.from_dict(rows, orient="index")


# ----------------------------------------------------------------------------- Approach 2
def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """y = c0 + c1 x: returns (slope, intercept, se_slope, se_intercept); SEs NaN if dof == 0."""
    k = x.size
    xm = x.mean()
    sxx = np.sum((x - xm) ** 2)
    slope = np.sum((x - xm) * (y - y.mean())) / sxx
    intercept = y.mean() - slope * xm
    dof = k - 2
    if dof <= 0:
        return float(slope), float(intercept), np.nan, np.nan
    s2 = np.sum((y - intercept - slope * x) ** 2) / dof
    se_slope = np.sqrt(s2 / sxx)
    se_int = np.sqrt(s2 * (1.0 / k + xm**2 / sxx))
    return float(slope), float(intercept), float(se_slope), float(se_int)


def approach2_fit(N, D, loss, C_budget) -> dict:
    """Chinchilla Approach 2 (IsoFLOP parabolas).

    Rows are grouped by the IsoFLOP budget label ``C_budget`` (same length as ``N``; rows with
    NaN are ignored). For each budget ``C`` a quadratic ``loss = c0 + c1 x + c2 x^2`` in
    ``x = ln N`` is fitted by least squares; its vertex gives ``N_opt(C) = exp(-c1 / (2 c2))``,
    ``L_opt`` and ``D_opt = C / (6 N_opt)``. Then ``ln N_opt`` and ``ln D_opt`` are regressed on
    ``ln C`` (OLS): ``N_opt = exp(N_intercept) C^a``, ``D_opt = exp(D_intercept) C^b``.

    ``D`` is validated but not used (Approach 2 derives ``D_opt`` from the budget).

    Returns a dict: ``a``, ``a_se``, ``b``, ``b_se`` (OLS standard errors; NaN with 2 budgets),
    ``N_intercept``, ``N_intercept_se``, ``D_intercept``, ``D_intercept_se`` (natural-log
    intercepts), ``N_coef = exp(N_intercept)``, ``D_coef = exp(D_intercept)``, ``n_budgets`` and
    ``table``: a DataFrame with one row per budget (columns ``C, N_opt, D_opt, L_opt, curvature``
    (= d^2 loss / d(ln N)^2 = 2 c2), ``n_points``, ``interior`` (vertex inside the sampled N range),
    ``N_min``, ``N_max``).

    Raises ValueError naming the budget if one has fewer than 3 points (or fewer than 3 distinct
    N) or a non-convex parabola, and if fewer than 2 budgets remain. Approach 2 is biased when the
    sampled N grid is not centred on the optimum in log space (see Open-Athena 2026).
    """
    N, D, loss = _check_xy(N, D, loss, min_rows=1)
    try:
        Cb = np.asarray(C_budget, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"C_budget must be a 1-D array of numbers ({exc})") from None
    if Cb.ndim != 1 or Cb.shape[0] != N.shape[0]:
        raise ValueError(f"C_budget must be 1-D with the same length as N ({N.shape[0]}), "
                         f"got shape {Cb.shape}")
    keep = ~np.isnan(Cb)
    bad = np.flatnonzero(keep & ~(np.isfinite(Cb) & (Cb > 0)))
    if bad.size:
        raise ValueError(f"C_budget must be finite and > 0 (or NaN to ignore a row); bad values "
                         f"at rows {bad[:5].tolist()}")
    budgets = np.unique(Cb[keep])
    if budgets.size < 2:
        raise ValueError(f"approach2_fit needs at least 2 IsoFLOP budgets, got {budgets.size}")
    rows = []
    for C in budgets:
        m = Cb == C
        x = np.log(N[m])
        y = loss[m]
        k = int(m.sum())
        if k < 3 or np.unique(x).size < 3:
            raise ValueError(f"IsoFLOP budget C={C:.4g} has {k} points ({np.unique(x).size} "
                             "distinct N); a parabola needs at least 3 distinct N")
        xc = x.mean()
        X = np.stack([np.ones_like(x), x - xc, (x - xc) ** 2], axis=1)
        c, *_ = np.linalg.lstsq(X, y, rcond=None)
        if not c[2] > 0:
            raise ValueError(f"IsoFLOP budget C={C:.4g}: fitted parabola of loss vs ln N is not "
                             f"convex (quadratic coefficient {c[2]:.3g}); no interior minimum")
        u = -c[1] / (2 * c[2])
        x_opt = xc + u
        N_opt = float(np.exp(x_opt))
        rows.append({
            "C": float(C), "N_opt": N_opt, "D_opt": float(C / (6.0 * N_opt)),
            "L_opt": float(c[0] + c[1] * u + c[2] * u * u), "curvature": float(2 * c[2]),
            "n_points": k, "interior": bool(x.min() <= x_opt <= x.max()),
            "N_min": float(np.exp(x.min())), "N_max": float(np.exp(x.max())),
        })
    table = pd.DataFrame(rows)
    lC = np.log(table["C"].to_numpy())
    a, ia, sa, sia = _ols(lC, np.log(table["N_opt"].to_numpy()))
    b, ib, sb, sib = _ols(lC, np.log(table["D_opt"].to_numpy()))
    return {
        "a": a, "a_se": sa, "b": b, "b_se": sb,
        "N_intercept": ia, "N_intercept_se": sia, "D_intercept": ib, "D_intercept_se": sib,
        "N_coef": float(np.exp(ia)), "D_coef": float(np.exp(ib)),
        "n_budgets": int(budgets.size), "table": table,
    }
