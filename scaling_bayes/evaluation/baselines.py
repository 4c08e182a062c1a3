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

Everything runs in float64: when JAX's x64 mode is off, the JAX work is done inside a local
``enable_x64`` context, so callers need not flip the global flag. Only JAX, numpy and pandas
are used (no scipy).
"""

from __future__ import annotations

import contextlib
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


# ----------------------------------------------------------------------------- helpers
def _float64():
    """Context in which JAX computes in float64, without touching the global x64 flag."""
    if jax.config.jax_enable_x64:
        return contextlib.nullcontext()
    cm = getattr(jax, "enable_x64", None)  # jax >= 0.6
    if cm is not None:
        return cm(True)
    from jax.experimental import enable_x64  # older jax

    return enable_x64()


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


_objective_jit = jax.jit(_objective)


def approach3_objective(theta, N, D, loss, *, delta: float = 1e-3) -> float:
    """Approach-3 objective (summed log-space Huber loss) at ``theta = (e, a, b, alpha, beta)``."""
    N, D, loss = _check_xy(N, D, loss, min_rows=1)
    delta = _check_delta(delta)
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (5,):
        raise ValueError(f"theta must be (e, a, b, alpha, beta), got shape {theta.shape}")
    with _float64():
        lN, lD, lL = (jnp.log(jnp.asarray(v, dtype=jnp.float64)) for v in (N, D, loss))
        return float(_objective_jit(jnp.asarray(theta), lN, lD, lL, 1.0, delta))


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
    x: jnp.ndarray  # (L, 5) current iterate
    f: jnp.ndarray  # (L,)
    g: jnp.ndarray  # (L, 5)
    H: jnp.ndarray  # (L, 5, 5) inverse-Hessian approximations
    fresh: jnp.ndarray  # (L,) bool: H carries no curvature information (identity)
    p: jnp.ndarray  # (L, 5) search direction
    gp: jnp.ndarray  # (L,) directional derivative g.p (< 0)
    t: jnp.ndarray  # (L,) step length being tried
    k: jnp.ndarray  # (L,) int: trials spent in the current line search
    nit: jnp.ndarray  # (L,) int: completed BFGS iterations (line searches)
    nfev: jnp.ndarray  # (L,) int: objective+gradient evaluations
    status: jnp.ndarray  # (L,) int, -1 while running (see STATUS)


_C1 = 1e-4  # Armijo constant
_MAX_LS = 12  # trials per line search (steps shrink >= 2x each: t >= ~1e-12 at the last)


def _where(mask, a, b):
    return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)


def _direction(H, g, fresh):
    """Quasi-Newton direction -H g; falls back to -g (H reset) if it is not a descent direction.

    Steps along -g (identity metric) are capped at length 1 since their scale is arbitrary.
    """
    eye = jnp.eye(g.shape[1], dtype=g.dtype)
    p = -jnp.einsum("lij,lj->li", H, g)
    gp = jnp.sum(g * p, axis=1)
    bad = ~(gp < 0) | ~jnp.all(jnp.isfinite(p), axis=1)
    fresh = fresh | bad
    H = _where(bad, jnp.broadcast_to(eye, H.shape), H)
    p = _where(bad, -g, p)
    pn = jnp.sqrt(jnp.sum(p * p, axis=1))
    p = p * jnp.where(fresh & (pn > 1.0), 1.0 / jnp.where(pn > 0, pn, 1.0), 1.0)[:, None]
    return H, fresh, p, jnp.sum(g * p, axis=1)


def _bfgs_init(vg, x0) -> _State:
    f, g = vg(x0)
    L, n = x0.shape
    finite = jnp.isfinite(f) & jnp.all(jnp.isfinite(g), axis=1)
    H = jnp.broadcast_to(jnp.eye(n, dtype=x0.dtype), (L, n, n))
    H, fresh, p, gp = _direction(H, g, jnp.ones(L, bool))
    zeros = jnp.zeros(L, jnp.int32)
    return _State(x0, f, g, H, fresh, p, gp, jnp.ones(L, x0.dtype), zeros, zeros,
                  jnp.ones(L, jnp.int32), jnp.where(finite, -1, 3).astype(jnp.int32))


def _bfgs_step(vg, s: _State, gtol, maxiter, maxfev) -> _State:
    """Advance every running lane by exactly one objective+gradient evaluation.

    Each lane is either in a line search (trying step ``t`` along ``p``) or, when the trial is
    accepted (Armijo), it completes a BFGS iteration and starts the next line search. Lanes
    therefore progress independently: one batched evaluation per step, whatever the other lanes
    are doing (a lock-step line search would cost the worst lane's trial count every iteration).
    """
    n = s.x.shape[1]
    eye = jnp.eye(n, dtype=s.x.dtype)
    active = s.status < 0
    xt = s.x + s.t[:, None] * s.p
    ft, gt = vg(xt)
    finite = jnp.isfinite(ft) & jnp.all(jnp.isfinite(gt), axis=1)
    # Armijo, plus a strict decrease: a step that leaves f unchanged (rounding) is no progress.
    ok = finite & (ft <= s.f + _C1 * s.t * s.gp) & (ft < s.f)

    # --- accepted: BFGS update (Nocedal & Wright 6.17, with 6.20 scaling of a fresh H).
    sv = xt - s.x
    yv = gt - s.g
    sy = jnp.sum(sv * yv, axis=1)
    yy = jnp.sum(yv * yv, axis=1)
    ss = jnp.sum(sv * sv, axis=1)
    gamma = jnp.where((sy > 0) & (yy > 0), sy / jnp.where(yy > 0, yy, 1.0), 1.0)
    H0 = _where(s.fresh, gamma[:, None, None] * eye, s.H)
    rho = 1.0 / jnp.where(sy > 0, sy, 1.0)
    V = eye - rho[:, None, None] * jnp.einsum("li,lj->lij", sv, yv)
    H_upd = jnp.einsum("lij,ljk,lmk->lim", V, H0, V) + rho[:, None, None] * jnp.einsum(
        "li,lj->lij", sv, sv)
    curv_ok = sy > 1e-14 * jnp.sqrt(ss * yy)
    H_acc = _where(curv_ok, H_upd, H0)
    fresh_acc = s.fresh & ~curv_ok

    # --- rejected: shrink t by safeguarded quadratic interpolation within [0.1 t, 0.5 t]; after
    # _MAX_LS trials (or a step below rounding) the search fails: retry along -g with a reset H,
    # or, if the direction already was -g, stop -- no representable decrease is left.
    curv = ft - s.f - s.gp * s.t
    t_q = -s.gp * s.t * s.t / (2.0 * jnp.where(curv > 0, curv, 1.0))
    t_q = jnp.where(finite & (curv > 0) & jnp.isfinite(t_q), t_q, 0.5 * s.t)
    t_shrunk = jnp.clip(t_q, 0.1 * s.t, 0.5 * s.t)
    tiny = jnp.max(jnp.abs(t_shrunk[:, None] * s.p), axis=1) <= 1e-15 * (
        1.0 + jnp.max(jnp.abs(s.x), axis=1))
    ls_fail = ~ok & ((s.k + 1 >= _MAX_LS) | tiny)
    stalled = ls_fail & s.fresh

    # --- next state.
    new_iter = ok | ls_fail  # the current line search ends
    x = _where(ok, xt, s.x)
    f = jnp.where(ok, ft, s.f)
    g = _where(ok, gt, s.g)
    H = _where(ok, H_acc, jnp.broadcast_to(eye, s.H.shape))
    fresh = jnp.where(ok, fresh_acc, True)
    Hd, fresh_d, p_d, gp_d = _direction(H, g, fresh)
    nit = s.nit + new_iter.astype(jnp.int32)
    converged = ok & (jnp.max(jnp.abs(gt), axis=1) <= gtol)
    status = jnp.where(converged, 0, jnp.where(stalled, 2, -1))
    status = jnp.where((status < 0) & ((nit >= maxiter) | (s.nfev + 1 >= maxfev)), 1, status)
    status = status.astype(jnp.int32)
    new = _State(
        x=x, f=f, g=g,
        H=_where(new_iter, Hd, s.H),
        fresh=jnp.where(new_iter, fresh_d, s.fresh),
        p=_where(new_iter, p_d, s.p),
        gp=jnp.where(new_iter, gp_d, s.gp),
        t=jnp.where(new_iter, 1.0, t_shrunk),
        k=jnp.where(new_iter, 0, s.k + 1).astype(jnp.int32),
        nit=nit,
        nfev=s.nfev + 1,
        status=status,
    )
    return jax.tree_util.tree_map(lambda a, b: _where(active, a, b), new, s)


def _bfgs_run(vg, s: _State, gtol, maxiter, maxfev) -> _State:
    """Step until every lane has stopped: gtol, stalled, non-finite, ``maxiter`` iterations or
    ``maxfev`` evaluations in total (the last two set status 1)."""

    def cond(st):
        return jnp.any(st.status < 0)

    def body(st):
        return _bfgs_step(vg, st, gtol, maxiter, maxfev)

    s = s._replace(status=jnp.where((s.status < 0) & ((s.nit >= maxiter) | (s.nfev >= maxfev)),
                                    1, s.status))
    return jax.lax.while_loop(cond, body, s)


@partial(jax.jit, static_argnames=("maxiter", "screen_evals", "n_polish"))
def _fit_starts(starts, lN, lD, lL, delta, gtol, maxiter, screen_evals, n_polish):
    vg = lambda th: _value_grad(th, lN, lD, lL, 1.0, delta)  # noqa: E731
    s = _bfgs_init(vg, starts)
    maxfev = _MAX_LS * maxiter
    if n_polish >= starts.shape[0]:
        return _bfgs_run(vg, s, gtol, maxiter, maxfev)
    # Screen: every start gets ``screen_evals`` objective+gradient evaluations; then only the
    # ``n_polish`` lowest objectives (ties: first start) carry on until they stop.
    s = _bfgs_run(vg, s, gtol, maxiter, screen_evals)
    fin = jnp.where(jnp.isfinite(s.f), s.f, jnp.inf)
    _, idx = jax.lax.top_k(-fin, n_polish)
    sub = jax.tree_util.tree_map(lambda v: v[idx], s)
    resume = (sub.status == 1) & (sub.nit < maxiter)
    sub = sub._replace(status=jnp.where(resume, -1, sub.status))
    sub = _bfgs_run(vg, sub, gtol, maxiter, maxfev)
    return jax.tree_util.tree_map(lambda full, part: full.at[idx].set(part), s, sub)


@partial(jax.jit, static_argnames=("maxiter", "batch"))
def _fit_boot(start, weights, lN, lD, lL, delta, gtol, maxiter, batch):
    nb = weights.shape[0]

    def run(W):
        vg = lambda th: _value_grad(th, lN, lD, lL, W, delta)  # noqa: E731
        x0 = jnp.broadcast_to(start, (W.shape[0], start.shape[0]))
        s = _bfgs_run(vg, _bfgs_init(vg, x0), gtol, maxiter, _MAX_LS * maxiter)
        return s.x, s.f, jnp.max(jnp.abs(s.g), axis=1), s.nit, s.status

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
                  maxiter: int = 1000, screen_evals: int = 50, n_polish: int | None = 64
                  ) -> dict:
    """Chinchilla Approach 3 (Hoffmann et al. 2022) as replicated by Epoch AI (2024).

    Minimises ``sum_i Huber_delta(LSE(e, a - alpha log N_i, b - beta log D_i) - log L_i)`` over
    ``theta = (e, a, b, alpha, beta)`` (``E = exp(e)``, ``A = exp(a)``, ``B = exp(b)``) -- the
    **sum**, not the mean, which lets the optimiser stop early -- by BFGS from every start of
    ``grid``, all starts vmapped in one jitted call, and keeps the lowest objective.

    To keep the 4500-start grid cheap, every start first gets ``screen_evals`` objective+gradient
    evaluations (~40 BFGS iterations); then the ``n_polish`` starts with the lowest objective so
    far continue (same jitted call) until ``max|grad| <= gtol``, the line search reaches the
    precision limit, or ``maxiter``. ``n_polish=None`` runs every start to the end (minutes for
    the full grid on a CPU). On Epoch's 240 points (and on the 245 with the excluded points, and
    on noisy synthetic data) all 64 polished starts reach the same optimum to 1e-9 relative.

    Parameters
    ----------
    N, D, loss : 1-D arrays of equal length (>= 5), finite and > 0.
    delta : Huber threshold on log-loss residuals (Hoffmann: 1e-3).
    grid : None (the Hoffmann/Epoch grid :data:`EPOCH_GRID`, 4500 starts), a mapping of axes
        ``{"e", "a", "b", "alpha", "beta"}`` to be crossed, or an ``(n_starts, 5)`` array.
    gtol : stop a start when ``max|gradient| <= gtol``. scipy's default (1e-5, used by Epoch's
        notebook) stops visibly short of the optimum on the Chinchilla data.
    maxiter : BFGS iteration cap per start (and ``12 * maxiter`` evaluations).
    screen_evals, n_polish : the screening described above.

    Returns
    -------
    dict with floats ``E, A, B, alpha, beta``; the compute-optimal allocation
    ``a = beta/(alpha+beta)``, ``b = alpha/(alpha+beta)`` and
    ``G = (alpha A/(beta B))^(1/(alpha+beta))`` (``N_opt = G (C/6)^a``, ``D_opt = (C/6)^b / G``);
    ``objective`` (the summed Huber loss); ``theta`` (numpy array ``(e, a, b, alpha, beta)``);
    diagnostics ``grad_max`` (max |gradient| at the optimum), ``n_iter``, ``status`` (see
    :data:`STATUS`; 0 and 2 both mean converged), ``best_start``, ``n_starts`` and ``n_at_best``
    (starts that ended within 1e-9 relative of the best objective).
    """
    N, D, loss = _check_xy(N, D, loss, min_rows=5)
    delta = _check_delta(delta)
    starts = _grid_starts(grid)
    maxiter = int(maxiter)
    if maxiter < 1:
        raise ValueError(f"maxiter must be >= 1, got {maxiter}")
    n_starts = starts.shape[0]
    n_polish = n_starts if n_polish is None else min(max(int(n_polish), 1), n_starts)
    screen_evals = max(int(screen_evals), 1)
    with _float64():
        lN, lD, lL = (jnp.log(jnp.asarray(v, dtype=jnp.float64)) for v in (N, D, loss))
        st = _fit_starts(jnp.asarray(starts, dtype=jnp.float64), lN, lD, lL, delta,
                         float(gtol), maxiter, screen_evals, n_polish)
        i, theta = _pick_best(st.f, st.x)
        i = int(i)
        f, g, nit, nfev, status = (np.asarray(v) for v in (st.f, st.g, st.nit, st.nfev,
                                                           st.status))
    best_f = float(f[i])
    if not np.isfinite(best_f):
        raise RuntimeError("approach3_fit: every start produced a non-finite objective")
    theta = np.asarray(theta, dtype=np.float64)
    out = {k: float(v) for k, v in _derived(theta).items()}
    out.update(
        objective=best_f,
        theta=theta,
        grad_max=float(np.max(np.abs(g[i]))),
        n_iter=int(nit[i]),
        n_fev=int(nfev[i]),
        status=int(status[i]),
        best_start=starts[i],
        n_starts=int(n_starts),
        n_at_best=int(np.sum(np.isfinite(f)
                             & (f <= best_f + 1e-9 * abs(best_f) + 1e-12 * delta**2))),
    )
    return out


def _check_delta(delta) -> float:
    delta = float(delta)
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be finite and > 0, got {delta}")
    return delta


def approach3_bootstrap(N, D, loss, *, n_boot: int = 4000, seed: int = 0, delta: float = 1e-3,
                        start=None, gtol: float = 1e-10, maxiter: int = 1000,
                        batch_size: int = 1000) -> dict[str, np.ndarray]:
    """Epoch's bootstrap of Approach 3: resample rows with replacement, refit each replicate.

    Each of ``n_boot`` replicates draws ``len(N)`` row indices uniformly with replacement
    (``numpy.random.default_rng(seed)``) and is refitted by BFGS from ``start`` -- the full-data
    optimum ``theta = (e, a, b, alpha, beta)``, computed with :func:`approach3_fit` when None.
    A replicate is fitted as the full data set with integer row weights (the resampling counts),
    which is the same objective as the resampled rows. Replicates are vmapped in chunks of
    ``batch_size`` (``lax.map`` over chunks).

    Returns a dict of per-replicate numpy arrays ``E, A, B, alpha, beta, a, b, G`` plus
    ``theta`` (n_boot, 5), ``objective``, ``grad_max``, ``status`` (see :data:`STATUS`; 0 and 2
    mean converged) and ``n_iter``. Summarise with :func:`bootstrap_summary`.
    """
    N, D, loss = _check_xy(N, D, loss, min_rows=5)
    delta = _check_delta(delta)
    n_boot = int(n_boot)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    maxiter = int(maxiter)
    if maxiter < 1:
        raise ValueError(f"maxiter must be >= 1, got {maxiter}")
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
    with _float64():
        lN, lD, lL = (jnp.log(jnp.asarray(v, dtype=jnp.float64)) for v in (N, D, loss))
        res = _fit_boot(jnp.asarray(start, dtype=jnp.float64),
                        jnp.asarray(weights, dtype=jnp.float64), lN, lD, lL, delta, float(gtol),
                        maxiter, min(batch_size, n_boot))
        x, f, gmax, nit, status = (np.asarray(v) for v in res)
    theta = x.astype(np.float64)
    out = _derived(theta)
    out.update(theta=theta, objective=f, grad_max=gmax, status=status, n_iter=nit)
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
