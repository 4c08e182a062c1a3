"""Compute-optimal allocation with posterior uncertainty: N_opt(C), D_opt(C), targets, waste.

Every quantity is computed **per posterior draw** (vectorized with ``jax.vmap`` over draws and
budgets, never a Python loop over draws) and then summarized into tidy pandas tables.

Public functions
----------------
:func:`compute_optimal`
    ``N_opt``, ``D_opt``, tokens per parameter and the optimal loss for one or many budgets C.
:func:`compute_optimal_by_group`, :func:`exponents_by_group`
    The same per group of a hierarchical fit, stacked with a ``group`` column.
:func:`target_loss`
    The cheapest budget (and its allocation) that reaches a loss with a given posterior
    probability.
:func:`inference_optimal`
    Sardana et al. (2024): minimize training + inference FLOPs ``6 N D_train + 2 N D_inf`` at a
    fixed loss.
:func:`compute_waste`
    For a proposed (N, D): the compute-optimal budget reaching the same loss and the wasted
    fraction ("deadweight compute loss", Open-Athena 2026).

FLOP model
----------
``flops=None`` means ``C = 6 N D``. A number ``k`` means ``C = k N D`` (the Chinchilla closed form
still applies, with ``C/k`` in place of ``C/6``). A callable ``flops(N, D) -> C`` written in
``jax.numpy`` selects the numeric solver: for each candidate N the training tokens D are solved
from ``flops(N, D) = C`` by Newton's method in ``log D`` started at ``D = C / (6 N)``. The callable
must therefore be smooth and strictly increasing in D (e.g. ``lambda N, D: 6*N*D + 12*L*d*s*D``);
a solve that does not converge raises ``ValueError``.

Numeric solve
-------------
For a budget C, ``log N`` is searched over a bracket given by tokens-per-parameter bounds
(``tpp_bracket``, default ``1e-6 .. 1e9`` tokens per parameter, i.e. 7.5 decades of N around
``sqrt(C/6)``) by a golden-section search with a fixed number of iterations, then polished by a few
Newton steps on ``d log L / d log N`` (autodiff). Both Chinchilla and Kaplan are unimodal in
``log N`` at fixed C. A draw whose minimum lies on the bracket edge is a **boundary solution**:
its ``N_opt, D_opt, tokens_per_param, loss_opt`` are set to NaN (never the bracket edge), the
fraction of such draws is reported in the ``boundary`` column, and an :class:`AllocationWarning`
is issued. Table statistics are then over the interior draws only.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from scaling_bayes._core.env import enable_x64_on_cpu, load_jax, to_device
from scaling_bayes.posterior.diagnostics import _quantile_label

#: Sane range of training budgets (FLOPs) accepted as input.
COMPUTE_RANGE = (1e10, 1e32)
#: Default bracket on tokens per parameter (D/N) for the numeric solve.
TPP_BRACKET = (1e-6, 1e9)

_GOLDEN_ITERS = 90
_NEWTON_ITERS = 6
_BISECT_ITERS = 80
_LOGC_SEARCH = (math.log(1e4), math.log(1e44))  # numeric search range for C at a target loss
_LOGD_MAX = math.log(1e45)  # "infinite data" for the loss-constrained solves


class AllocationWarning(UserWarning):
    """Some posterior draws have their optimum on the edge of the search bracket."""


# ============================================================================ helpers
def _jax():
    enable_x64_on_cpu()
    return load_jax()


def _qlabel(q: float) -> str:
    return _quantile_label(q)


def _check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    qs = tuple(float(q) for q in np.atleast_1d(np.asarray(quantiles, dtype=float)))
    if not qs or any(not (0 < q < 1) or not math.isfinite(q) for q in qs):
        raise ValueError(f"quantiles must lie strictly between 0 and 1, got {tuple(quantiles)}")
    labels = [_qlabel(q) for q in qs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"quantiles {qs} give duplicate column names {labels}")
    return qs


def _as_array(
    name: str, value: Any, *, lo: float | None = None, hi: float | None = None, unit: str = ""
) -> np.ndarray:
    """1-d float array of positive finite values (optionally in [lo, hi]); ValueError otherwise."""
    if value is None:
        raise ValueError(f"{name} is required")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(f"{name} must be positive and finite, got {arr[bad][0]!r}")
    if lo is not None and hi is not None:
        out = (arr < lo) | (arr > hi)
        if out.any():
            raise ValueError(
                f"{name} must lie in [{lo:.0e}, {hi:.0e}]{unit}, got {arr[out][0]:.3g}"
            )
    return arr


def _check_prob(prob: Any) -> float:
    try:
        p = float(prob)
    except (TypeError, ValueError):
        raise ValueError(f"prob must be a number in (0, 1), got {prob!r}") from None
    if not (0 < p < 1):
        raise ValueError(f"prob must lie strictly between 0 and 1, got {prob!r}")
    return p


def _check_tpp(tpp_bracket) -> tuple[float, float]:
    lo, hi = (float(v) for v in tpp_bracket)
    if not (0 < lo < hi < math.inf):
        raise ValueError(
            f"tpp_bracket must be (low, high) with 0 < low < high, got {tpp_bracket!r}"
        )
    return lo, hi


def check_allocatable(law) -> None:
    """Raise ValueError unless ``law`` is a law of both N and D (allocation needs a trade-off)."""
    if not law.allocatable:
        raise ValueError(
            f"law {law.name!r} depends on {', '.join(law.inputs)} only: compute-optimal "
            "allocation needs a law of both model size N and training tokens D "
            "(e.g. 'chinchilla' or 'kaplan')"
        )


@dataclass(frozen=True)
class _Flops:
    """Resolved FLOP model: ``k * N * D`` (``fn is None``) or a callable."""

    k: float = 6.0
    fn: Callable | None = None

    @property
    def multiplicative(self) -> bool:
        return self.fn is None

    def describe(self) -> str:
        return (
            f"C = {self.k:g}*N*D"
            if self.fn is None
            else f"C = {getattr(self.fn, '__name__', 'flops')}(N, D)"
        )


def _resolve_flops(flops) -> _Flops:
    if flops is None:
        return _Flops(6.0)
    if callable(flops):
        return _Flops(6.0, flops)
    try:
        k = float(flops)
    except (TypeError, ValueError):
        raise ValueError(
            f"flops must be None (C = 6ND), a positive number k (C = kND) or a callable "
            f"(N, D) -> C, got {flops!r}"
        ) from None
    if not (math.isfinite(k) and k > 0):
        raise ValueError(
            f"flops must be a positive finite FLOPs-per-parameter-token factor, got {flops!r}"
        )
    return _Flops(k)


def _theta(fit) -> dict:
    """Textbook parameters as float64 JAX arrays of shape (S,)."""
    jax = _jax()
    return {
        k: to_device(np.asarray(v, dtype=float)) for k, v in fit.textbook_draws().items()
    }


def _use_closed_form(law, fl: _Flops, method: str) -> bool:
    if method not in ("auto", "closed_form", "numeric"):
        raise ValueError(f"method must be 'auto', 'closed_form' or 'numeric', got {method!r}")
    closed_ok = law.closed_form_allocation is not None and fl.multiplicative
    if method == "closed_form" and not closed_ok:
        why = "a custom FLOP model" if not fl.multiplicative else f"law {law.name!r}"
        raise ValueError(
            f"method='closed_form' is only available for a law with a closed-form allocation "
            f"(chinchilla) with C = k*N*D, not for {why}; use method='numeric'"
        )
    return method != "numeric" and closed_ok


def _stat_table(
    draws: Mapping[str, np.ndarray],
    keys: Mapping[str, np.ndarray],
    quantiles: Sequence[float],
    extra: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Long table: one row per (point, quantity). ``draws[q]`` is (S, P); ``keys[c]`` is (P,)."""
    rows = []
    names = list(draws)
    n_points = next(iter(draws.values())).shape[1]
    qlabels = [_qlabel(q) for q in quantiles]
    stats = {}
    for name in names:
        x = np.asarray(draws[name], dtype=float)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            finite_any = ~np.all(np.isnan(x), axis=0)
            mean = np.where(
                finite_any,
                np.nanmean(np.where(np.isnan(x), 0, x), axis=0)
                * x.shape[0]
                / np.maximum(np.sum(~np.isnan(x), axis=0), 1),
                np.nan,
            )
            sd = np.nanstd(x, axis=0, ddof=1)
            qv = (
                np.nanquantile(x, quantiles, axis=0)
                if x.shape[0]
                else np.full((len(quantiles), n_points), np.nan)
            )
        stats[name] = (mean, sd, qv)
    for p in range(n_points):
        for name in names:
            mean, sd, qv = stats[name]
            row = {k: v[p] for k, v in keys.items()}
            row["quantity"] = name
            row["mean"] = mean[p]
            row["sd"] = sd[p]
            for j, lab in enumerate(qlabels):
                row[lab] = qv[j, p]
            if extra:
                for k, v in extra.items():
                    row[k] = v[p]
            rows.append(row)
    return pd.DataFrame(rows)


def _summary_rows(draws: Mapping[str, np.ndarray], quantiles) -> pd.DataFrame:
    """Table indexed by quantity for budget-independent draws ``(S,)``."""
    t = _stat_table({k: np.asarray(v)[:, None] for k, v in draws.items()}, {}, quantiles)
    return t.set_index("quantity")


# ============================================================================ JAX kernels
def _golden(f, lo, hi, iters=_GOLDEN_ITERS):
    """Golden-section minimum of a unimodal scalar ``f`` on [lo, hi]; returns (x, a, b)."""
    jax = _jax()
    jnp = jax.numpy
    invphi = (math.sqrt(5.0) - 1.0) / 2.0

    def body(_, s):
        a, b = s
        c = b - invphi * (b - a)
        d = a + invphi * (b - a)
        left = f(c) < f(d)
        return jnp.where(left, a, c), jnp.where(left, d, b)

    a, b = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (a + b), a, b


def _bisect_first(pred, lo, hi, iters=_BISECT_ITERS):
    """Smallest x in [lo, hi] with ``pred(x)`` true, for ``pred`` monotone false -> true."""
    jax = _jax()
    jnp = jax.numpy

    def body(_, s):
        a, b = s
        m = 0.5 * (a + b)
        ok = pred(m)
        return jnp.where(ok, a, m), jnp.where(ok, m, b)

    a, b = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return b


def _log_d_given(fl: _Flops, u, logC):
    """``log D`` with ``flops(e^u, D) = e^logC``."""
    jax = _jax()
    jnp = jax.numpy
    if fl.multiplicative:
        return logC - math.log(fl.k) - u
    N = jnp.exp(u)

    def h(v):
        return jnp.log(fl.fn(N, jnp.exp(v))) - logC

    dh = jax.grad(h)

    def body(_, v):
        step = h(v) / dh(v)
        return jnp.where(jnp.isfinite(step), v - jnp.clip(step, -20.0, 20.0), v)

    return jax.lax.fori_loop(0, 30, body, logC - math.log(6.0) - u)


def _numeric_alloc_one(theta, logC, *, law, fl: _Flops, log_tpp_lo, log_tpp_hi):
    """Per-draw, per-budget numeric optimum. Returns (logN, logD, logL, boundary, resid)."""
    jax = _jax()
    jnp = jax.numpy

    def f(u):
        v = _log_d_given(fl, u, logC)
        return law.log_loss(theta, {"N": jnp.exp(u), "D": jnp.exp(v)})

    base = logC - math.log(fl.k)
    lo = 0.5 * (base - log_tpp_hi)
    hi = 0.5 * (base - log_tpp_lo)
    u, a, b = _golden(f, lo, hi)
    edge = 1e-6
    boundary = (u - lo < edge) | (hi - u < edge)
    g = jax.grad(f)
    gg = jax.grad(g)

    def newton(_, x):
        h2 = gg(x)
        step = g(x) / h2
        ok = (h2 > 0) & jnp.isfinite(step)
        return jnp.where(ok, jnp.clip(x - jnp.clip(step, -1e-3, 1e-3), lo, hi), x)

    u = jnp.where(boundary, u, jax.lax.fori_loop(0, _NEWTON_ITERS, newton, u))
    v = _log_d_given(fl, u, logC)
    resid = (
        jnp.abs(jnp.log(fl.fn(jnp.exp(u), jnp.exp(v))) - logC)
        if not fl.multiplicative
        else jnp.zeros_like(u)
    )
    return u, v, f(u), boundary, resid


def _closed_alloc_one(theta, logC, *, law, fl: _Flops):
    """The law's closed form (C = k N D, :attr:`Law.closed_form_allocation`): per draw and
    budget."""
    jax = _jax()
    jnp = jax.numpy
    u, v = law.closed_form_allocation.optimum(theta, logC, math.log(fl.k))
    return (
        u,
        v,
        law.log_loss(theta, {"N": jnp.exp(u), "D": jnp.exp(v)}),
        jnp.zeros((), bool),
        jnp.zeros_like(u),
    )


def _grid(fn, theta, *points):
    """vmap ``fn(theta_scalar, *point_scalars)`` over draws (theta) x points -> (S, P) outputs."""
    jax = _jax()
    inner = jax.vmap(fn, in_axes=(None, *([0] * len(points))))
    outer = jax.vmap(inner, in_axes=(0, *([None] * len(points))))
    return outer(theta, *points)


def _alloc_kernel(theta, logC, law, fl, closed, lo, hi):
    if closed:
        fn = partial(_closed_alloc_one, law=law, fl=fl)
    else:
        fn = partial(_numeric_alloc_one, law=law, fl=fl, log_tpp_lo=lo, log_tpp_hi=hi)
    return _grid(fn, theta, logC)


_JIT_CACHE: dict = {}


def _jitted(name, fn, static):
    jax = _jax()
    key = (name, static)
    if key not in _JIT_CACHE:
        _JIT_CACHE[key] = jax.jit(partial(fn, **dict(static)))
    return _JIT_CACHE[key]


def _allocate(
    fit, logC: np.ndarray, fl: _Flops, closed: bool, tpp_bracket
) -> dict[str, np.ndarray]:
    """Per-draw allocation arrays (S, B): logN, logD, logL, boundary (bool)."""
    jax = _jax()
    lo, hi = (math.log(t) for t in tpp_bracket)
    fn = _jitted(
        "alloc",
        _alloc_kernel,
        (("law", fit.law), ("fl", fl), ("closed", closed), ("lo", lo), ("hi", hi)),
    )
    u, v, ll, bnd, resid = fn(_theta(fit), to_device(np.asarray(logC, dtype=float)))
    u, v, ll, bnd, resid = (np.asarray(a) for a in (u, v, ll, bnd, resid))
    if not fl.multiplicative:
        bad = ~(resid < 1e-8)
        if bad.any():
            raise ValueError(
                "flops: could not solve flops(N, D) = C for D (Newton in log D did not converge);"
                " the FLOP model must be smooth and strictly increasing in D"
            )
    return {"logN": u, "logD": v, "logL": ll, "boundary": bnd.astype(bool)}


def _exponent_draws(fit) -> dict[str, np.ndarray]:
    return fit.law.allocation_exponents(fit.textbook_draws()) or {}


# ============================================================================ public API
@dataclass(frozen=True, eq=False)
class AllocationResult:
    """Compute-optimal allocation for one or more budgets.

    Attributes
    ----------
    law, method, flops
        Law name, ``"closed_form"`` or ``"numeric"``, and the FLOP model in words.
    compute
        The budgets C (FLOPs), shape ``(B,)``.
    table
        Tidy DataFrame, one row per (budget, quantity) with quantities ``N_opt``, ``D_opt``,
        ``tokens_per_param`` (D/N) and ``loss_opt`` (the law's mean loss at the optimum, nats per
        token); columns ``C, quantity, mean, sd, q5, q50, q95`` (one column per requested
        quantile) and ``boundary`` (fraction of draws whose optimum hit the search bracket;
        always 0 for the closed form). Statistics skip boundary draws.
    draws
        ``{quantity: array (n_draws_total, B)}`` per draw (boundary draws are NaN).
    exponents
        Budget-independent allocation exponents, indexed by quantity, same statistic columns:
        Chinchilla ``a`` (N_opt ∝ C^a), ``b`` (D_opt ∝ C^b), ``G`` (N_opt = G (C/6)^a);
        Kaplan ``a = 1/(1 + alpha_N/alpha_D)`` and ``b = 1 - a``. ``None`` for other laws.
    exponent_draws
        ``{name: array (n_draws_total,)}`` behind :attr:`exponents`.
    boundary
        Fraction of boundary draws per budget, shape ``(B,)``.
    """

    law: str
    method: str
    flops: str
    compute: np.ndarray
    table: pd.DataFrame
    draws: dict[str, np.ndarray]
    exponents: pd.DataFrame | None = None
    exponent_draws: dict[str, np.ndarray] = field(default_factory=dict)
    boundary: np.ndarray | None = None

    def quantity(self, name: str) -> pd.DataFrame:
        """Rows of :attr:`table` for one quantity, indexed by C."""
        return self.table[self.table["quantity"] == name].set_index("C")


def compute_optimal(
    fit,
    compute,
    *,
    flops=None,
    quantiles=(0.05, 0.5, 0.95),
    method: str = "auto",
    tpp_bracket=TPP_BRACKET,
    warn: bool = True,
) -> AllocationResult:
    """Posterior of the compute-optimal allocation at training budget(s) ``compute`` (FLOPs).

    Parameters
    ----------
    fit
        A :class:`~scaling_bayes.posterior.fit.Fit` of a law of N and D (``chinchilla``, ``kaplan``).
    compute
        One budget or an array of budgets in FLOPs, each in [1e10, 1e32].
    flops
        FLOP model: ``None`` (``C = 6ND``), a number ``k`` (``C = kND``) or a jnp callable
        ``(N, D) -> C`` (numeric solve; see the module docstring).
    method
        ``"auto"`` (closed form for Chinchilla with ``C = kND``, numeric otherwise),
        ``"closed_form"`` or ``"numeric"``.
    tpp_bracket
        Tokens-per-parameter range searched by the numeric solve; optima on its edge are
        reported as boundary draws (NaN) with an :class:`AllocationWarning`.
    """
    law = fit.law
    check_allocatable(law)
    C = _as_array("compute", compute, lo=COMPUTE_RANGE[0], hi=COMPUTE_RANGE[1], unit=" FLOPs")
    qs = _check_quantiles(quantiles)
    fl = _resolve_flops(flops)
    tpp = _check_tpp(tpp_bracket)
    closed = _use_closed_form(law, fl, method)
    r = _allocate(fit, np.log(C), fl, closed, tpp)
    bnd = r["boundary"]
    N = np.where(bnd, np.nan, np.exp(r["logN"]))
    D = np.where(bnd, np.nan, np.exp(r["logD"]))
    L = np.where(bnd, np.nan, np.exp(r["logL"]))
    draws = {"N_opt": N, "D_opt": D, "tokens_per_param": D / N, "loss_opt": L}
    frac = bnd.mean(axis=0)
    if warn and frac.any():
        worst = int(np.argmax(frac))
        warnings.warn(
            f"{law.name}: for {int((frac > 0).sum())} of {C.size} budgets some posterior draws "
            f"have no interior compute-optimum within tokens/param {tpp[0]:g}..{tpp[1]:g} "
            f"(up to {frac[worst]:.0%} of draws at C={C[worst]:.3g}); those draws are NaN and "
            "excluded from the table (see its 'boundary' column)",
            AllocationWarning,
            stacklevel=2,
        )
    table = _stat_table(draws, {"C": C}, qs, extra={"boundary": frac})
    exd = _exponent_draws(fit)
    return AllocationResult(
        law=law.name,
        method="closed_form" if closed else "numeric",
        flops=fl.describe(),
        compute=C,
        table=table,
        draws=draws,
        exponents=_summary_rows(exd, qs) if exd else None,
        exponent_draws=exd,
        boundary=frac,
    )


# ------------------------------------------------------------------- hierarchical fits
def _groups_of(fit, fn: str):
    """The group names of a hierarchical fit (TypeError for anything else)."""
    if not (hasattr(fit, "groups") and callable(getattr(fit, "group", None))):
        raise TypeError(
            f"{fn} takes a HierarchicalFit (sb.fit_hierarchical), got a {type(fit).__name__}; "
            "for one fit use compute_optimal")
    return fit.groups


def compute_optimal_by_group(fit, compute, **kwargs) -> pd.DataFrame:
    """Compute-optimal allocation per group of a
    :class:`~scaling_bayes.posterior.hierarchical.HierarchicalFit`: :func:`compute_optimal` of
    each group's fit (``fit.group(name)``) at budget(s) ``compute``, the tables stacked with a
    ``group`` column. ``kwargs`` go to :func:`compute_optimal` (``flops``, ``quantiles``,
    ``method``, ``tpp_bracket``, ``warn``)."""
    frames = []
    for g in _groups_of(fit, "compute_optimal_by_group"):
        t = compute_optimal(fit.group(g), compute, **kwargs).table
        frames.append(t.assign(group=g))
    return pd.concat(frames, ignore_index=True)


def exponents_by_group(fit, **kwargs) -> pd.DataFrame:
    """Budget-independent allocation exponents (``a``, ``b``, ...) per group of a
    :class:`~scaling_bayes.posterior.hierarchical.HierarchicalFit`, stacked with a ``group``
    column (empty when the law has no closed-form exponents). ``kwargs`` go to
    :func:`compute_optimal`."""
    frames = []
    for g in _groups_of(fit, "exponents_by_group"):
        e = compute_optimal(fit.group(g), 1e21, **kwargs).exponents
        if e is not None:
            frames.append(e.assign(group=g))
    return pd.concat(frames) if frames else pd.DataFrame()


# ---------------------------------------------------------------------------- target loss
def _compute_for_loss_one(theta, log_ell, *, law, fl, closed, log_tpp_lo, log_tpp_hi):
    """Per draw: log of the minimum budget whose optimal loss is <= ell (inf if unreachable)."""
    jax = _jax()
    jnp = jax.numpy
    if closed:
        return law.closed_form_allocation.budget_for_loss(theta, log_ell, math.log(fl.k))

    def loss_at(logC):
        return _numeric_alloc_one(
            theta, logC, law=law, fl=fl, log_tpp_lo=log_tpp_lo, log_tpp_hi=log_tpp_hi
        )[2]

    lo, hi = _LOGC_SEARCH
    x = _bisect_first(lambda c: loss_at(c) <= log_ell, lo, hi)
    reachable = loss_at(hi) <= log_ell
    return jnp.where(reachable, x, jnp.inf)


def _compute_for_loss(fit, log_ell: np.ndarray, fl: _Flops, closed: bool, tpp) -> np.ndarray:
    jax = _jax()
    lo, hi = (math.log(t) for t in tpp)

    def kernel(theta, log_ell, law, fl, closed, lo, hi):
        fn = partial(
            _compute_for_loss_one, law=law, fl=fl, closed=closed, log_tpp_lo=lo, log_tpp_hi=hi
        )
        return _grid(fn, theta, log_ell)

    fn = _jitted(
        "c4l", kernel, (("law", fit.law), ("fl", fl), ("closed", closed), ("lo", lo), ("hi", hi))
    )
    return np.asarray(fn(_theta(fit), jax.numpy.asarray(log_ell)))


@dataclass(frozen=True, eq=False)
class TargetLossResult:
    """Cheapest budget reaching a loss with a given probability.

    Attributes
    ----------
    loss, prob
        Target loss(es) ``(P,)`` and the required probability.
    compute
        ``(P,)``: smallest budget C* with P(L_opt(C*) <= loss) >= prob under the posterior,
        i.e. the ``prob``-quantile of the per-draw required compute ``C_required``.
    table
        One row per (loss, quantity): ``C_required`` (posterior of the compute each draw needs;
        ``inf`` where the loss is below the draw's reach, e.g. below E), and ``N_opt``, ``D_opt``,
        ``tokens_per_param``, ``loss_opt`` of the per-draw optimal allocation at C*; plus columns
        ``compute`` (C*), ``prob_reached`` (fraction of draws reaching the loss at C*) and
        ``prob_fixed`` (probability that the single allocation ``(N_opt q50, D_opt q50)`` at C*
        reaches the loss — what one training run actually gets).
    draws
        Per-draw arrays ``(S, P)`` behind the table.
    """

    loss: np.ndarray
    prob: float
    compute: np.ndarray
    table: pd.DataFrame
    draws: dict[str, np.ndarray]


def target_loss(
    fit,
    loss,
    *,
    prob: float = 0.5,
    flops=None,
    quantiles=(0.05, 0.5, 0.95),
    method: str = "auto",
    tpp_bracket=TPP_BRACKET,
) -> TargetLossResult:
    """Minimum compute (and its allocation) reaching ``loss`` with posterior probability ``prob``.

    Under each draw the optimal loss ``L_opt(C)`` decreases with C, so the per-draw required
    compute ``C_s(loss)`` is found exactly (closed form for Chinchilla, bisection in ``log C``
    over the numeric optimum otherwise); ``P(L_opt(C) <= loss) = P(C_s <= C)`` and the answer C*
    is the ``prob``-quantile of ``C_s``. N and D are the per-draw optimal allocation at C*
    (plug-in), summarized with intervals. Raises ValueError if C* exceeds 1e32 FLOPs or the loss
    is unreachable with that probability (e.g. below the irreducible loss E).
    """
    law = fit.law
    check_allocatable(law)
    ell = _as_array("loss", loss)
    p = _check_prob(prob)
    qs = _check_quantiles(quantiles)
    fl = _resolve_flops(flops)
    tpp = _check_tpp(tpp_bracket)
    closed = _use_closed_form(law, fl, method)
    logCs = _compute_for_loss(fit, np.log(ell), fl, closed, tpp)  # (S, P)
    Cs = np.exp(logCs)
    cstar = np.quantile(Cs, p, axis=0, method="higher")
    for i, c in enumerate(cstar):
        if not np.isfinite(c) or c > COMPUTE_RANGE[1]:
            reach = float(np.mean(np.isfinite(Cs[:, i]) & (Cs[:, i] <= COMPUTE_RANGE[1])))
            raise ValueError(
                f"loss {ell[i]:g} is not reached with probability {p:g} within "
                f"{COMPUTE_RANGE[1]:.0e} FLOPs under the {law.name} posterior (probability "
                f"{reach:.3f}); lower prob or raise the target loss"
            )
        if c < COMPUTE_RANGE[0]:
            raise ValueError(
                f"loss {ell[i]:g} is reached below {COMPUTE_RANGE[0]:.0e} FLOPs: outside the "
                "supported compute range; lower the target loss"
            )
    r = _allocate(fit, np.log(cstar), fl, closed, tpp)
    bnd = r["boundary"]
    N = np.where(bnd, np.nan, np.exp(r["logN"]))
    D = np.where(bnd, np.nan, np.exp(r["logD"]))
    draws = {
        "C_required": Cs,
        "N_opt": N,
        "D_opt": D,
        "tokens_per_param": D / N,
        "loss_opt": np.where(bnd, np.nan, np.exp(r["logL"])),
    }
    reached = np.mean(Cs <= cstar[None, :], axis=0)
    Nm, Dm = np.nanmedian(N, axis=0), np.nanmedian(D, axis=0)
    jax = _jax()
    th = _theta(fit)
    lf = np.asarray(
        law.log_loss(
            {k: v[:, None] for k, v in th.items()},
            {"N": jax.numpy.asarray(Nm)[None], "D": jax.numpy.asarray(Dm)[None]},
        )
    )
    fixed = np.mean(lf <= np.log(ell)[None, :], axis=0)
    table = _stat_table(
        draws,
        {"loss": ell},
        qs,
        extra={"compute": cstar, "prob_reached": reached, "prob_fixed": fixed},
    )
    return TargetLossResult(loss=ell, prob=p, compute=cstar, table=table, draws=draws)


# ---------------------------------------------------------------------------- waste
@dataclass(frozen=True, eq=False)
class WasteResult:
    """Deadweight compute of proposed allocations.

    ``table``: one row per (point, quantity) with inputs ``N, D, C`` (C from the FLOP model) and
    quantities ``loss`` (the law's mean loss at (N, D)), ``C_eq`` (the compute-optimal budget
    reaching that loss), ``waste_fraction`` (1 - C_eq / C), ``N_opt`` and ``D_opt`` (the
    compute-optimal allocation at C). ``draws``: per-draw arrays (S, P).
    """

    table: pd.DataFrame
    draws: dict[str, np.ndarray]


def _broadcast(**arrays):
    try:
        out = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"input shapes do not broadcast: {shapes}") from None
    return {k: np.asarray(v, dtype=float).reshape(-1) for k, v in zip(arrays, out, strict=True)}


def compute_waste(
    fit,
    N,
    D,
    *,
    flops=None,
    quantiles=(0.05, 0.5, 0.95),
    method: str = "auto",
    tpp_bracket=TPP_BRACKET,
) -> WasteResult:
    """For proposed (N, D) (broadcast arrays): compute-optimal budget C_eq reaching the same loss
    and the wasted fraction ``1 - C_eq / C(N, D)`` per draw (methods.md "deadweight compute")."""
    law = fit.law
    check_allocatable(law)
    N = _as_array("N", np.ravel(np.asarray(N, dtype=float)) if np.ndim(N) else N)
    D = _as_array("D", np.ravel(np.asarray(D, dtype=float)) if np.ndim(D) else D)
    b = _broadcast(N=N, D=D)
    N, D = b["N"], b["D"]
    qs = _check_quantiles(quantiles)
    fl = _resolve_flops(flops)
    tpp = _check_tpp(tpp_bracket)
    closed = _use_closed_form(law, fl, method)
    jax = _jax()
    jnp = jax.numpy
    C = fl.k * N * D if fl.multiplicative else np.asarray(fl.fn(jnp.asarray(N), jnp.asarray(D)))
    if not np.all(np.isfinite(C) & (C > 0)):
        raise ValueError(f"flops(N, D) must be positive and finite, got {C}")
    th = _theta(fit)
    logL = np.asarray(
        law.log_loss(
            {k: v[:, None] for k, v in th.items()},
            {"N": jnp.asarray(N)[None], "D": jnp.asarray(D)[None]},
        )
    )
    logCeq = _c4l_diag(fit, logL, fl, closed, tpp)
    Ceq = np.minimum(np.exp(logCeq), C[None, :])  # the optimum can only be cheaper (roundoff)
    if np.any(np.log(C) > _LOGC_SEARCH[1]) or np.any(np.log(C) < _LOGC_SEARCH[0]):
        raise ValueError(f"C = flops(N, D) must lie in [1e4, 1e44] FLOPs, got {C}")
    r = (
        _allocate(fit, np.log(np.clip(C, *COMPUTE_RANGE)), fl, closed, tpp)
        if np.all((C >= COMPUTE_RANGE[0]) & (C <= COMPUTE_RANGE[1]))
        else None
    )
    draws = {"loss": np.exp(logL), "C_eq": Ceq, "waste_fraction": 1.0 - Ceq / C[None, :]}
    if r is not None:
        bnd = r["boundary"]
        draws["N_opt"] = np.where(bnd, np.nan, np.exp(r["logN"]))
        draws["D_opt"] = np.where(bnd, np.nan, np.exp(r["logD"]))
    table = _stat_table(draws, {"N": N, "D": D, "C": C}, qs)
    return WasteResult(table=table, draws=draws)


def _c4l_diag(fit, logL: np.ndarray, fl: _Flops, closed: bool, tpp) -> np.ndarray:
    """Per-draw required log-compute for a per-draw loss ``logL`` (S, P) (draw s uses loss s)."""
    jax = _jax()
    lo, hi = (math.log(t) for t in tpp)

    def kernel(theta, log_ell, law, fl, closed, lo, hi):
        fn = partial(
            _compute_for_loss_one, law=law, fl=fl, closed=closed, log_tpp_lo=lo, log_tpp_hi=hi
        )
        over_points = jax.vmap(fn, in_axes=(None, 0))
        return jax.vmap(over_points, in_axes=(0, 0))(theta, log_ell)

    fn = _jitted(
        "c4l_diag",
        kernel,
        (("law", fit.law), ("fl", fl), ("closed", closed), ("lo", lo), ("hi", hi)),
    )
    return np.asarray(fn(_theta(fit), jax.numpy.asarray(logL)))


# ---------------------------------------------------------------------------- inference-aware
def _inference_one(theta, log_ell, logN_hi, d_inf, *, law, fl):
    """Per draw and point: minimize train + inference FLOPs at loss ell over log N.

    ``logN_hi`` is the compute-optimal log N for this loss (the inference-aware optimum is never
    larger; the search runs to logN_hi + 1). Returns (logN, logD_train, log total flops)."""
    jax = _jax()
    jnp = jax.numpy

    def logD_for(u):  # tokens needed by a model of size e^u to reach ell
        return _bisect_first(
            lambda v: law.log_loss(theta, {"N": jnp.exp(u), "D": jnp.exp(v)}) <= log_ell,
            0.0,
            _LOGD_MAX,
        )

    # smallest model that can reach ell with unlimited data
    u_min = _bisect_first(
        lambda u: law.log_loss(theta, {"N": jnp.exp(u), "D": jnp.exp(_LOGD_MAX)}) <= log_ell,
        logN_hi - 60.0,
        logN_hi,
    )

    def train(u, v):
        if fl.multiplicative:
            return fl.k * jnp.exp(u + v)
        return fl.fn(jnp.exp(u), jnp.exp(v))

    def log_total(u):
        v = logD_for(u)
        return jnp.log(train(u, v) + 2.0 * jnp.exp(u) * d_inf)

    u, _, _ = _golden(log_total, u_min, logN_hi + 1.0, iters=70)
    v = logD_for(u)
    return u, v, log_total(u)


def _inference_kernel(theta, log_ell, logN_hi, d_inf, law, fl):
    fn = partial(_inference_one, law=law, fl=fl)
    jax = _jax()
    over_points = jax.vmap(fn, in_axes=(None, 0, 0, 0))
    return jax.vmap(over_points, in_axes=(0, 0, 0, None))(theta, log_ell, logN_hi, d_inf)


@dataclass(frozen=True, eq=False)
class InferenceOptimalResult:
    """Inference-aware allocation (Sardana et al. 2024).

    ``table``: one row per (point, quantity); point columns ``C`` (training budget of the
    Chinchilla-optimal reference, NaN in loss mode), ``loss`` (target loss, NaN in compute mode:
    then each draw targets its own compute-optimal loss at C) and ``inference_tokens``.
    Quantities: ``N``, ``D_train``, ``tokens_per_param``, ``train_flops``, ``inference_flops``
    (2 N D_inf), ``total_flops`` of the inference-aware model; ``N_chinchilla``,
    ``D_chinchilla``, ``total_flops_chinchilla`` of the compute-optimal model reaching the same
    loss; and ``savings_fraction`` = 1 - total / total_chinchilla. ``draws``: per-draw (S, P).
    """

    table: pd.DataFrame
    draws: dict[str, np.ndarray]


def inference_optimal(
    fit,
    compute=None,
    *,
    loss=None,
    inference_tokens,
    flops=None,
    quantiles=(0.05, 0.5, 0.95),
    method: str = "auto",
    tpp_bracket=TPP_BRACKET,
) -> InferenceOptimalResult:
    """Minimize ``C_train(N, D_train) + 2 N D_inf`` subject to reaching a loss, per draw.

    Give exactly one of ``compute`` (each draw then targets the loss of its own Chinchilla-optimal
    model at that training budget) or ``loss`` (a target loss, nats/token). ``inference_tokens``
    (tokens served over the model's life) broadcasts against it.
    """
    law = fit.law
    check_allocatable(law)
    if (compute is None) == (loss is None):
        raise ValueError("give exactly one of compute (training budget, FLOPs) or loss (target)")
    qs = _check_quantiles(quantiles)
    fl = _resolve_flops(flops)
    tpp = _check_tpp(tpp_bracket)
    closed = _use_closed_form(law, fl, method)
    try:
        dinf = np.atleast_1d(np.asarray(inference_tokens, dtype=float)).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(
            f"inference_tokens must be numbers >= 0, got {inference_tokens!r}"
        ) from None
    bad = ~np.isfinite(dinf) | (dinf < 0)
    if dinf.size == 0 or bad.any():
        raise ValueError(
            f"inference_tokens must be finite and >= 0, got "
            f"{dinf[bad][0] if bad.any() else inference_tokens!r}"
        )
    if compute is not None:
        C = _as_array("compute", compute, lo=COMPUTE_RANGE[0], hi=COMPUTE_RANGE[1], unit=" FLOPs")
        b = _broadcast(C=C, inference_tokens=dinf)
        C, dinf = b["C"], b["inference_tokens"]
        r = _allocate(fit, np.log(C), fl, closed, tpp)
        log_ell = r["logL"]  # (S, P)
        logN_hi = r["logN"]
        bnd = r["boundary"]
        ell_col, C_col = np.full(C.shape, np.nan), C
        logC_ref = np.broadcast_to(np.log(C)[None], log_ell.shape)
    else:
        ell = _as_array("loss", loss)
        b = _broadcast(loss=ell, inference_tokens=dinf)
        ell, dinf = b["loss"], b["inference_tokens"]
        logCs = _compute_for_loss(fit, np.log(ell), fl, closed, tpp)  # (S, P)
        unreachable = ~np.isfinite(logCs)
        if unreachable.all(axis=0).any():
            i = int(np.argmax(unreachable.all(axis=0)))
            raise ValueError(f"loss {ell[i]:g} is below what any posterior draw can reach")
        safe = np.where(unreachable, np.log(1e20), logCs)
        r = _allocate_diag(fit, safe, fl, closed, tpp)
        bnd = r["boundary"] | unreachable
        logN_hi = r["logN"]
        log_ell = np.broadcast_to(np.log(ell)[None], safe.shape)
        ell_col, C_col = ell, np.full(ell.shape, np.nan)
        logC_ref = safe
    jax = _jax()
    fn = _jitted("inf", _inference_kernel, (("law", fit.law), ("fl", fl)))
    u, v, lt = (
        np.asarray(a)
        for a in fn(
            _theta(fit),
            jax.numpy.asarray(np.ascontiguousarray(log_ell)),
            jax.numpy.asarray(np.ascontiguousarray(logN_hi)),
            jax.numpy.asarray(dinf),
        )
    )
    Nn, Dn = np.exp(u), np.exp(v)
    train = fl.k * Nn * Dn if fl.multiplicative else np.exp(lt) - 2 * Nn * dinf[None]
    inf_fl = 2.0 * Nn * dinf[None]
    Nc = np.exp(logN_hi)
    total_c = np.exp(logC_ref) + 2.0 * Nc * dinf[None]
    total = np.exp(lt)
    draws = {
        "N": Nn,
        "D_train": Dn,
        "tokens_per_param": Dn / Nn,
        "train_flops": train,
        "inference_flops": inf_fl,
        "total_flops": total,
        "N_chinchilla": Nc,
        "D_chinchilla": np.exp(logC_ref) / (fl.k * Nc) if fl.multiplicative else np.nan * Nc,
        "total_flops_chinchilla": total_c,
        "savings_fraction": np.minimum(1.0 - total / total_c, 1.0),
    }
    if bnd.any():
        draws = {k: np.where(bnd, np.nan, v) for k, v in draws.items()}
    table = _stat_table(draws, {"C": C_col, "loss": ell_col, "inference_tokens": dinf}, qs)
    return InferenceOptimalResult(table=table, draws=draws)


def _allocate_diag(fit, logC: np.ndarray, fl: _Flops, closed: bool, tpp) -> dict[str, np.ndarray]:
    """Allocation where each draw s has its own budgets ``logC[s]`` (S, P)."""
    jax = _jax()
    lo, hi = (math.log(t) for t in tpp)

    def kernel(theta, logC, law, fl, closed, lo, hi):
        if closed:
            fn = partial(_closed_alloc_one, law=law, fl=fl)
        else:
            fn = partial(_numeric_alloc_one, law=law, fl=fl, log_tpp_lo=lo, log_tpp_hi=hi)
        return jax.vmap(jax.vmap(fn, in_axes=(None, 0)), in_axes=(0, 0))(theta, logC)

    fn = _jitted(
        "alloc_diag",
        kernel,
        (("law", fit.law), ("fl", fl), ("closed", closed), ("lo", lo), ("hi", hi)),
    )
    u, v, ll, bnd, _ = (np.asarray(a) for a in fn(_theta(fit), to_device(np.asarray(logC, dtype=float))))
    return {"logN": u, "logD": v, "logL": ll, "boundary": bnd.astype(bool)}
