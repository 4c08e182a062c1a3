"""Fast MCMC diagnostics in plain numpy: R-hat, bulk/tail ESS, MCSE, a summary table and gates.

``import arviz`` costs about two seconds, too much for a CLI that must answer in a few, so the
summary table and the diagnostic gates are computed here with numpy (and pandas for the table)
only. ArviZ is still used elsewhere (InferenceData, LOO).

The estimators follow Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat for assessing convergence of MCMC", *Bayesian
Analysis* 16(2), and reproduce ArviZ 0.23 (``arviz.rhat(method="rank")``,
``arviz.ess(method="bulk")``, ``arviz.ess(method="tail")``, ``arviz.mcse(method="mean")`` and
``arviz.mcse(method="sd")``) to floating-point rounding:

* chains are split in halves (the middle draw of an odd-length chain is dropped);
* rank normalization: average ranks over all split draws, fractional offset 3/8 (Blom), then the
  standard normal quantile function;
* folding: absolute deviation from the median;
* R-hat = max(bulk R-hat of the rank-normalized draws, R-hat of the rank-normalized folded
  draws);
* ESS: FFT autocovariance, Geyer's initial positive then initial monotone sequence, with
  ``tau >= 1 / log10(n)``;
* tail ESS = min of the ESS of the indicators ``x <= q05`` and ``x <= q95`` (R type-7
  quantiles).

Arrays are ``(chain, draw)`` or ``(chain, draw, *event)``; every statistic is computed for all
event elements (and, in :func:`summarize`, for all parameters) at once.

Edge cases, as in ArviZ: fewer than 4 draws give NaN everywhere and fewer than 2 chains a NaN
R-hat; a parameter constant across draws gives R-hat NaN, ESS equal to the number of draws,
``mcse_mean`` 0 and ``mcse_sd`` NaN, without any numpy warning. Samples containing NaN (as in
ArviZ) or ±inf (ArviZ would rank them) give NaN for every diagnostic of that element. Inputs are
converted to float64 first (ArviZ keeps float32 for the folding and quantile steps).
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DiagnosticWarning",
    "Problems",
    "block",
    "check",
    "ess_bulk",
    "ess_tail",
    "mcse_mean",
    "mcse_sd",
    "rhat",
    "summarize",
    "warn",
]


class DiagnosticWarning(UserWarning):
    """An MCMC diagnostic (R-hat, ESS, divergences, tree depth) flags an unreliable posterior."""


# ---------------------------------------------------------------------------------------------
# numerical helpers (all operate on a stack of parameters: shape (P, chain, draw))
# ---------------------------------------------------------------------------------------------

# Wichura (1988), Algorithm AS 241 (PPND16): the normal quantile to ~1e-16 relative accuracy.
_A = (3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3,
      1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
      3.3430575583588128105e4, 2.5090809287301226727e3)
_B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
      5.2264952788528545610e3)
_C = (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
      3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
      2.27238449892691845833e-2, 7.74545014278341407640e-4)
_D = (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
      1.05075007164441684324e-9)
_E = (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
      2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
      2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
      2.04426310338993978564e-15)


def _poly(coef: tuple[float, ...], r: np.ndarray) -> np.ndarray:
    out = np.full_like(r, coef[-1])
    for c in coef[-2::-1]:
        out = out * r + c
    return out


def _ndtri(p: np.ndarray) -> np.ndarray:
    """Standard normal quantile function for ``0 < p < 1`` (AS 241)."""
    p = np.asarray(p, dtype=float)
    q = p - 0.5
    out = np.empty_like(p)
    central = np.abs(q) <= 0.425
    if central.any():
        qc = q[central]
        r = 0.180625 - qc * qc
        out[central] = qc * _poly(_A, r) / _poly(_B, r)
    tail = ~central
    if tail.any():
        qt = q[tail]
        r = np.where(qt < 0, p[tail], 1.0 - p[tail])
        r = np.sqrt(-np.log(r))
        near = r <= 5.0
        val = np.where(near, _poly(_C, r - 1.6) / _poly(_D, r - 1.6),
                       _poly(_E, r - 5.0) / _poly(_F, r - 5.0))
        out[tail] = np.where(qt < 0, -val, val)
    return out


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank, 1-based) along the last axis of a 2-d array."""
    n = x.shape[-1]
    order = np.argsort(x, axis=-1)  # stability is irrelevant: tied values share their rank
    xs = np.take_along_axis(x, order, axis=-1)
    idx = np.arange(n)
    new = np.ones(x.shape, dtype=bool)
    new[:, 1:] = xs[:, 1:] != xs[:, :-1]
    first = np.maximum.accumulate(np.where(new, idx, 0), axis=-1)
    is_last = np.ones(x.shape, dtype=bool)
    is_last[:, :-1] = new[:, 1:]
    last = np.minimum.accumulate(np.where(is_last, idx, n - 1)[:, ::-1], axis=-1)[:, ::-1]
    ranks = np.empty(x.shape, dtype=float)
    np.put_along_axis(ranks, order, 0.5 * (first + last + 2), axis=-1)
    return ranks


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalize each parameter over all its (chain, draw) values: shape (P, C, D)."""
    flat = x.reshape(x.shape[0], -1)
    size = flat.shape[1]
    c = 3 / 8
    u = (_average_ranks(flat) - c) / (size - 2 * c + 1)
    return _ndtri(u).reshape(x.shape)


def _split_chains(x: np.ndarray) -> np.ndarray:
    """(P, C, D) -> (P, 2C, D // 2): first and last halves as separate chains."""
    half = x.shape[2] // 2
    return np.concatenate((x[:, :, :half], x[:, :, x.shape[2] - half:]), axis=1)


def _median(x: np.ndarray) -> np.ndarray:
    """Median over (chain, draw) per parameter, broadcastable against x."""
    return np.median(x.reshape(x.shape[0], -1), axis=1)[:, None, None]


def _quantile7(x: np.ndarray, probs: Sequence[float]) -> list[np.ndarray]:
    """R type-7 quantiles over (chain, draw) per parameter, as ``scipy.stats.mstats.mquantiles(
    alphap=1, betap=1)`` (ArviZ's ``quantile``) computes them; each broadcastable against x."""
    xs = np.sort(x.reshape(x.shape[0], -1), axis=1)
    n = xs.shape[1]
    out = []
    for prob in probs:
        aleph = n * prob + (1.0 - prob)
        k = int(math.floor(min(max(aleph, 1), n - 1)))
        gamma = min(max(aleph - k, 0.0), 1.0)
        out.append(((1.0 - gamma) * xs[:, k - 1] + gamma * xs[:, k])[:, None, None])
    return out


def _next_fast_len(target: int) -> int:
    """Smallest 5-smooth integer >= target (``scipy.fftpack.next_fast_len``)."""
    if target <= 6 or not (target & (target - 1)):
        return target
    match = math.inf
    p5 = 1
    while p5 < target:
        p35 = p5
        while p35 < target:
            quotient = -(-target // p35)
            n = 2 ** ((quotient - 1).bit_length()) * p35
            if n == target:
                return n
            match = min(match, n)
            p35 *= 3
            if p35 == target:
                return p35
        match = min(match, p35)
        p5 *= 5
        if p5 == target:
            return p5
    return int(min(match, p5))


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariance for every lag along the last axis (FFT, biased 1/n normalization)."""
    n = x.shape[-1]
    m = _next_fast_len(2 * n)
    x = x - x.mean(axis=-1, keepdims=True)
    f = np.fft.rfft(x, n=m, axis=-1)
    f *= np.conjugate(f)
    cov = np.fft.irfft(f, n=m, axis=-1)[..., :n]
    cov /= n
    return cov


def _ess(x: np.ndarray) -> np.ndarray:
    """ESS of each parameter of a (P, C, D) stack of (already split) chains; shape (P,)."""
    x = np.asarray(x, dtype=float)
    n_par, n_chain, n_draw = x.shape
    size = n_chain * n_draw
    flat = x.reshape(n_par, -1)
    constant = (flat.max(axis=1) - flat.min(axis=1)) < np.finfo(float).resolution

    with np.errstate(all="ignore"):
        acov = _autocov(x)
        chain_mean = x.mean(axis=2)
        mean_var = np.mean(acov[:, :, 0], axis=1) * n_draw / (n_draw - 1.0)
        var_plus = mean_var * (n_draw - 1.0) / n_draw
        if n_chain > 1:
            var_plus = var_plus + np.var(chain_mean, axis=1, ddof=1)
        rho = 1.0 - (mean_var[:, None] - np.mean(acov, axis=1)) / var_plus[:, None]
    rho[:, 0] = 1.0

    # Geyer's initial positive sequence, as ArviZ's loop evaluates it: pairs (rho[2j], rho[2j+1])
    # are accepted while their sum is positive, for j <= j_cap (the loop bound t < n_draw - 3).
    j_cap = max(0, (n_draw - 1) // 2 - 1)
    pair = rho[:, 0:2 * j_cap + 1:2] + rho[:, 1:2 * j_cap + 2:2]  # (P, j_cap + 1)
    stop = ~(pair > 0)  # NaN stops too
    j_end = np.where(stop.any(axis=1), np.argmax(stop, axis=1), j_cap)  # first rejected pair
    rows = np.arange(n_par)
    # Geyer's initial monotone sequence: accepted pair sums are made non-increasing.
    accepted = np.arange(j_cap + 1)[None, :] < j_end[:, None]
    monotone = np.minimum.accumulate(np.where(accepted, pair, np.inf), axis=1)
    pair_sum = np.where(accepted, monotone, 0.0).sum(axis=1)
    # The even term of the first rejected (or last) pair is kept when positive.
    even = rho[rows, 2 * j_end]
    end_pair = pair[rows, j_end]
    last = np.where((even > 0) | (end_pair >= 0), even, 0.0)
    last = np.where(j_end == 0, 1.0, last)
    tau = -1.0 + 2.0 * pair_sum + last
    tau = np.maximum(tau, 1.0 / np.log10(size))
    with np.errstate(all="ignore"):
        out = size / tau
    out = np.where(np.isnan(pair).any(axis=1) | np.isnan(last), np.nan, out)
    return np.where(constant, float(size), out)


def _rhat_core(x: np.ndarray) -> np.ndarray:
    """Gelman-Rubin R-hat of each parameter of a (P, C, D) stack (no splitting)."""
    n_draw = x.shape[2]
    with np.errstate(all="ignore"):
        chain_mean = np.mean(x, axis=2)
        chain_var = np.var(x, axis=2, ddof=1)
        between = n_draw * np.var(chain_mean, axis=1, ddof=1)
        within = np.mean(chain_var, axis=1)
        return np.sqrt((between / within + n_draw - 1) / n_draw)


# ---------------------------------------------------------------------------------------------
# stack-level statistics: (P, C, D) -> (P,)
# ---------------------------------------------------------------------------------------------

def _invalid(x: np.ndarray, min_chains: int = 1) -> np.ndarray:
    """Parameters whose diagnostics are NaN: too few chains/draws or non-finite samples."""
    if x.shape[2] < 4 or x.shape[1] < min_chains:
        return np.ones(x.shape[0], dtype=bool)
    return ~np.isfinite(x).reshape(x.shape[0], -1).all(axis=1)


def _masked(fn, x: np.ndarray, z_split: np.ndarray | None = None,
            min_chains: int = 1) -> np.ndarray:
    """Apply ``fn(x, z_split)`` to the valid parameters of the stack; NaN for the others."""
    bad = _invalid(x, min_chains)
    out = np.full(x.shape[0], np.nan)
    if not bad.all():
        out[~bad] = fn(x[~bad], None if z_split is None else z_split[~bad])
    return out


def _rhat_stack(x: np.ndarray, z_split: np.ndarray | None = None) -> np.ndarray:
    def fn(x, z_split):
        split = _split_chains(x)
        bulk = _rhat_core(_z_scale(split) if z_split is None else z_split)
        tail = _rhat_core(_z_scale(np.abs(split - _median(split))))
        # Python's max(bulk, tail), as ArviZ: a NaN bulk wins, a NaN tail is ignored.
        return np.where(tail > bulk, tail, bulk)
    return _masked(fn, x, z_split, min_chains=2)


def _ess_bulk_stack(x: np.ndarray, z_split: np.ndarray | None = None) -> np.ndarray:
    return _masked(lambda x, z: _ess(_z_scale(_split_chains(x)) if z is None else z), x, z_split)


def _ess_tail_stack(x: np.ndarray, prob: tuple[float, float] = (0.05, 0.95)) -> np.ndarray:
    def fn(x, _):
        q_low, q_high = _quantile7(x, prob)
        low = _ess(_split_chains((x <= q_low).astype(float)))
        high = _ess(_split_chains((x <= q_high).astype(float)))
        return np.where(high < low, high, low)  # Python's min(low, high), as ArviZ
    return _masked(fn, x)


def _mcse_mean_stack(x: np.ndarray) -> np.ndarray:
    def fn(x, _):
        ess = _ess(_split_chains(x))
        sd = np.std(x.reshape(x.shape[0], -1), axis=1, ddof=1)
        with np.errstate(all="ignore"):
            return sd / np.sqrt(ess)
    return _masked(fn, x)


def _mcse_sd_stack(x: np.ndarray) -> np.ndarray:
    def fn(x, _):
        flat = x.reshape(x.shape[0], -1)
        sims_c2 = (flat - flat.mean(axis=1, keepdims=True)) ** 2
        ess = _ess(_split_chains(sims_c2.reshape(x.shape)))
        evar = sims_c2.mean(axis=1)
        with np.errstate(all="ignore"):
            varvar = ((sims_c2 ** 2).mean(axis=1) - evar ** 2) / ess
            return np.sqrt(varvar / evar / 4)
    return _masked(fn, x)


def _as_stack(x) -> tuple[np.ndarray, tuple[int, ...]]:
    """(chain, draw, *event) -> ((P, chain, draw) float64, event shape). 1-d = one chain."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        raise ValueError("expected draws of shape (chain, draw) or (chain, draw, *event), "
                         "got a scalar")
    if x.ndim == 1:
        x = x[None, :]
    event = x.shape[2:]
    stack = np.moveaxis(x.reshape(x.shape[0], x.shape[1], -1), 2, 0)
    return np.ascontiguousarray(stack), event


def _per_element(stat):
    def wrapped(x):
        stack, event = _as_stack(x)
        return stat(stack).reshape(event)[()]
    wrapped.__name__ = stat.__name__
    return wrapped


def rhat(x) -> np.ndarray:
    """Rank-normalized split R-hat: max of the bulk and the folded (tail) R-hat.

    ``x``: draws of shape ``(chain, draw)`` or ``(chain, draw, *event)``; returns an array of
    shape ``event`` (a numpy scalar for 2-d input). NaN with fewer than 2 chains or 4 draws, or
    for a parameter constant across draws. Matches ``arviz.rhat(method="rank")``.
    """
    return _per_element(_rhat_stack)(x)


def ess_bulk(x) -> np.ndarray:
    """Bulk effective sample size (split, rank-normalized); matches ``arviz.ess(method="bulk")``.

    Shape convention as :func:`rhat`.
    """
    return _per_element(_ess_bulk_stack)(x)


def ess_tail(x) -> np.ndarray:
    """Tail effective sample size: min ESS of the 5% and 95% quantile indicators; matches
    ``arviz.ess(method="tail")``. Shape convention as :func:`rhat`."""
    return _per_element(_ess_tail_stack)(x)


def mcse_mean(x) -> np.ndarray:
    """Monte Carlo standard error of the posterior mean, ``sd / sqrt(ess_mean)``; matches
    ``arviz.mcse(method="mean")``. Shape convention as :func:`rhat`."""
    return _per_element(_mcse_mean_stack)(x)


def mcse_sd(x) -> np.ndarray:
    """Monte Carlo standard error of the posterior sd; matches ``arviz.mcse(method="sd")``
    (NaN for a constant parameter). Shape convention as :func:`rhat`."""
    return _per_element(_mcse_sd_stack)(x)


# ---------------------------------------------------------------------------------------------
# summary table
# ---------------------------------------------------------------------------------------------

def _quantile_label(q: float) -> str:
    label = str(round(100 * float(q), 1))
    return "q" + (label[:-2] if label.endswith(".0") else label)


def _element_labels(name: str, event: tuple[int, ...]) -> list[str]:
    if not event:
        return [name]
    return [f"{name}[{','.join(map(str, i))}]" for i in np.ndindex(*event)]


def summarize(samples: Mapping[str, np.ndarray], *,
              quantiles: Sequence[float] = (0.05, 0.5, 0.95),
              names: Iterable[str] | None = None) -> pd.DataFrame:
    """Posterior summary table, one row per scalar parameter.

    Parameters
    ----------
    samples
        Draws by parameter name, each of shape ``(chain, draw)`` or ``(chain, draw, *event)``
        (a 1-d array is one chain). Event-shaped parameters give one row per element, named
        ``"name[i]"`` (``"name[i,j]"`` for 2-d events).
    quantiles
        Posterior quantiles to report (numpy's default linear interpolation over all draws),
        as columns ``"q" + str(round(100 * q, 1))`` without a trailing ``.0``: ``q5``, ``q50``,
        ``q95``, ``q2.5``...
    names
        Which parameters of ``samples`` to include and in what order (default: all, in the
        mapping's order).

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter, with columns ``mean``, ``sd`` (ddof=1), the quantiles,
        ``mcse_mean``, ``ess_bulk``, ``ess_tail`` and ``r_hat`` (see :func:`rhat`,
        :func:`ess_bulk`, :func:`ess_tail`, :func:`mcse_mean`).
    """
    keys = list(samples) if names is None else list(names)
    missing = [k for k in keys if k not in samples]
    if missing:
        raise KeyError(f"no samples for {', '.join(map(repr, missing))}; "
                       f"available: {', '.join(map(str, samples))}")
    q_cols = [_quantile_label(q) for q in quantiles]
    if len(set(q_cols)) != len(q_cols):
        raise ValueError(f"quantiles {tuple(quantiles)} give duplicate column names {q_cols}")
    if any(not 0 <= q <= 1 for q in quantiles):
        raise ValueError(f"quantiles must lie in [0, 1], got {tuple(quantiles)}")
    columns = ["mean", "sd", *q_cols, "mcse_mean", "ess_bulk", "ess_tail", "r_hat"]

    # Group parameters by (chain, draw) shape so each group is computed as one stack.
    labels: list[str] = []
    blocks: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
    for key in keys:
        stack, event = _as_stack(samples[key])
        rows = _element_labels(str(key), event)
        blocks.setdefault(stack.shape[1:], []).append((len(labels), stack))
        labels.extend(rows)

    table = np.full((len(labels), len(columns)), np.nan)
    for parts in blocks.values():
        stack = np.concatenate([s for _, s in parts], axis=0)
        idx = np.concatenate([np.arange(i, i + len(s)) for i, s in parts])
        flat = stack.reshape(stack.shape[0], -1)
        with np.errstate(all="ignore"):
            mean = flat.mean(axis=1)
            sd = flat.std(axis=1, ddof=1) if flat.shape[1] > 1 else np.full(len(flat), np.nan)
            qs = (np.quantile(flat, list(quantiles), axis=1).T if len(quantiles)
                  else np.empty((len(flat), 0)))
        # The rank-normalized split draws serve both the bulk ESS and the bulk R-hat.
        ok = ~_invalid(stack)
        z_split = np.zeros((stack.shape[0], 2 * stack.shape[1], stack.shape[2] // 2))
        if ok.any():
            z_split[ok] = _z_scale(_split_chains(stack[ok]))
        table[idx] = np.column_stack([
            mean, sd, qs,
            _mcse_mean_stack(stack), _ess_bulk_stack(stack, z_split), _ess_tail_stack(stack),
            _rhat_stack(stack, z_split),
        ])
    return pd.DataFrame(table, index=pd.Index(labels, name="parameter"), columns=columns)


# ---------------------------------------------------------------------------------------------
# gates
# ---------------------------------------------------------------------------------------------

#: At most this many parameters are named on one line of the diagnostics block (worst first);
#: the rest are counted (``fit.summary("all")`` has every value).
MAX_LISTED = 10


class Problems(list):
    """Diagnostic problems of one fit: a ``list`` of one line per kind of problem (empty when
    clean, so ``fit.check() == []`` holds for a clean fit), with the combined advice in
    :attr:`advice` (not an element: ``len(problems)`` counts problems).

    :meth:`block` is the text users read, the lines indented under a title and the advice last::

        diagnostics:
          r_hat > 1.01 (chains disagree): alpha 1.052, beta 1.031
          ess_tail < 400 (5%/95% quantiles imprecise): E 343, alpha 378
          try: more draws and a longer warmup; raise target_accept; ...
    """

    def __init__(self, lines: Iterable[str] = (), advice: str = ""):
        super().__init__(lines)
        self.advice = advice

    def lines(self) -> list[str]:
        """The problem lines, then ``"try: <advice>"`` (nothing at all when clean)."""
        return block_lines(self)

    def block(self, title: str = "diagnostics:", indent: str = "  ") -> str:
        """``title`` then each of :meth:`lines` indented (``""`` when clean)."""
        return block(self, title=title, indent=indent)


def block_lines(messages: Iterable[str]) -> list[str]:
    """``messages`` then ``"try: " + messages.advice`` when they carry advice (a
    :class:`Problems`); ``[]`` for no messages."""
    lines = [str(m) for m in messages]
    advice = getattr(messages, "advice", "")
    return [*lines, f"try: {advice}"] if lines and advice else lines


def block(messages: Iterable[str], *, title: str = "diagnostics:", indent: str = "  ") -> str:
    """The diagnostics block: ``title``, then one indented line per problem and the advice
    (``""`` when there is no problem)."""
    lines = block_lines(messages)
    return "\n".join([title, *(indent + ln for ln in lines)]) if lines else ""


def _fmt_vs(v: float, threshold: float, decimals: int, above: bool) -> str:
    """``v`` rounded to the fewest decimals (from ``decimals``) that keep it on its side of
    ``threshold`` (1.0102 > 1.01 shows as 1.0102, not 1.010)."""
    for d in range(decimals, 7):
        s = f"{v:.{d}f}"
        if (float(s) > threshold) if above else (float(s) < threshold):
            return s
    return repr(float(v))


def _listing(items: Sequence[str]) -> str:
    if len(items) <= MAX_LISTED:
        return ", ".join(items)
    return f"{', '.join(items[:MAX_LISTED])} and {len(items) - MAX_LISTED} more"


def _fmt(v: float) -> str:
    return f"{v:.4g}" if np.isfinite(v) else str(v)


def _pct(k: int, n: int) -> str:
    return f" ({k / n:.2%})" if n > 0 else ""


def check(summary: pd.DataFrame, *, divergences: int, n_draws_total: int,
          rhat_max: float = 1.01, ess_min: float = 400, tree_depth_hits: int = 0,
          max_tree_depth: int | None = None, what_to_try: str | None = None) -> Problems:
    """Diagnostic problems grouped by kind (an empty list means clean).

    One line per kind of problem present, naming the affected parameters with their values
    (worst first, at most :data:`MAX_LISTED`): ``r_hat > rhat_max``, r_hat NaN, ``ess_bulk <
    ess_min``, ``ess_tail < ess_min``, ESS NaN, divergent transitions, transitions that hit the
    maximum tree depth. The advice for the kinds present (and ``what_to_try``, once) is in the
    result's ``advice``; :meth:`Problems.block` formats lines and advice for printing.

    Parameters
    ----------
    summary
        A table from :func:`summarize` (uses ``r_hat``, ``ess_bulk``, ``ess_tail`` and, to tell
        a constant parameter apart, ``sd``; absent columns are not checked).
    divergences
        Number of divergent post-warmup transitions, over all chains.
    n_draws_total
        Post-warmup draws over all chains (for the fractions).
    rhat_max, ess_min
        Thresholds (Vehtari et al. 2021: R-hat <= 1.01 and ESS >= 100 per chain).
    tree_depth_hits, max_tree_depth
        Number of transitions that reached the maximum tree depth, and that depth.
    what_to_try
        Extra, model-specific advice, appended to the advice.

    Returns
    -------
    Problems
        A ``list[str]`` of the problem lines with the combined advice as ``.advice``.
    """
    lines: list[str] = []
    kinds: set[str] = set()

    def col(name: str) -> pd.Series | None:
        return summary[name].astype(float) if name in summary.columns else None

    r_hat, sd = col("r_hat"), col("sd")
    if r_hat is not None:
        high = r_hat[r_hat > rhat_max].sort_values(ascending=False)
        if len(high):
            kinds.add("convergence")
            lines.append(f"r_hat > {rhat_max} (chains disagree): " + _listing(
                [f"{k} {_fmt_vs(v, rhat_max, 3, above=True)}" for k, v in high.items()]))
        nan = r_hat[r_hat.isna()]
        if len(nan):
            kinds.add("nan")
            const = [str(k) for k in nan.index if sd is not None and sd.get(k) == 0]
            other = [str(k) for k in nan.index if str(k) not in const]
            parts = []
            if const:
                parts.append(f"{_listing(const)} (constant across draws: a stuck chain or a "
                             "fixed parameter)")
            if other:
                parts.append(f"{_listing(other)} (not computable: needs >= 2 chains, >= 4 "
                             "draws, finite draws)")
            lines.append("r_hat is NaN: " + "; ".join(parts))
    ess_nan: list[str] = []
    for col_name, region in (("ess_bulk", "means and medians imprecise"),
                             ("ess_tail", "5%/95% quantiles imprecise")):
        ess = col(col_name)
        if ess is None:
            continue
        ess_nan += [str(k) for k in ess.index[ess.isna()] if str(k) not in ess_nan]
        low = ess[ess < ess_min].sort_values()
        if len(low):
            kinds.add("convergence")
            lines.append(f"{col_name} < {_fmt(ess_min)} ({region}): " + _listing(
                [f"{k} {_fmt_vs(v, ess_min, 0, above=False)}" for k, v in low.items()]))
    if ess_nan:
        kinds.add("nan")
        lines.append(f"ESS is NaN (too few draws or non-finite draws): {_listing(ess_nan)}")
    if divergences > 0:
        kinds.add("divergences")
        lines.append(f"{divergences} divergent transition{'s' if divergences != 1 else ''} in "
                     f"{n_draws_total} draws{_pct(divergences, n_draws_total)}: the posterior "
                     "may be biased")
    if tree_depth_hits > 0:
        kinds.add("depth")
        depth = f" {max_tree_depth}" if max_tree_depth is not None else ""
        lines.append(f"{tree_depth_hits} of {n_draws_total} transitions"
                     f"{_pct(tree_depth_hits, n_draws_total)} hit the maximum tree depth{depth}: "
                     "inefficient, may be unreliable")
    if not lines:
        return Problems()
    return Problems(lines, _advice(kinds, max_tree_depth, what_to_try))


def _advice(kinds: set[str], max_tree_depth: int | None, what_to_try: str | None) -> str:
    """One sentence of advice for the kinds of problem present, then ``what_to_try``."""
    tips = []
    if kinds & {"convergence", "nan"}:
        tips.append("more draws and a longer warmup")
    if "divergences" in kinds:
        tips.append("raise target_accept (e.g. 0.95–0.99)")
    elif "convergence" in kinds:
        tips.append("raise target_accept")
    if "depth" in kinds:
        raise_to = f" (e.g. {max_tree_depth + 2})" if max_tree_depth is not None else ""
        tips.append(f"raise max_tree_depth{raise_to}")
    if "divergences" in kinds:
        tips.append("check for outliers / the Student-t likelihood")
    if kinds & {"convergence", "divergences", "depth"}:
        tips.append("reparameterize (better-scaled, less correlated parameters) or tighten "
                    "the priors")
    if "nan" in kinds:
        tips.append("for NaN values look for stuck chains or non-finite draws")
    text = "; ".join(tips) + "."
    if what_to_try:
        text += f" {what_to_try.strip()}"
    return text


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # scaling_bayes/


def _user_stacklevel() -> int:
    """stacklevel for warnings.warn called from :func:`warn` that points at the first frame
    outside this package (user code)."""
    level = 2  # 1 = warn() itself, 2 = its caller
    frame = sys._getframe(2)  # the caller of warn()
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return level
        frame = frame.f_back
        level += 1
    return 2


def warn(messages: Iterable[str], *, title: str = "diagnostics:",
         stacklevel: int | None = None) -> None:
    """Issue the diagnostics block (:func:`block`: ``title``, the problem lines, the advice of a
    :class:`Problems`) as one :class:`DiagnosticWarning`; nothing when ``messages`` is empty.

    By default the warning points at the first caller outside the ``scaling_bayes`` package
    (user code), also when ``warn`` is called through library functions; pass ``stacklevel``
    (as for :func:`warnings.warn`, relative to the caller of ``warn``) to override.
    """
    text = block(messages, title=title)
    if not text:
        return
    level = _user_stacklevel() if stacklevel is None else stacklevel + 1
    warnings.warn(DiagnosticWarning(text), stacklevel=level)
