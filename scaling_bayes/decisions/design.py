"""Bayesian design of the next runs: which (N, D) runs shrink the uncertainty of a decision most
per FLOP.

:func:`next_runs` values every candidate run by **preposterior analysis** on the current
posterior draws: the run's outcome (its log-loss) is simulated from the posterior predictive,
and the posterior of the *target* -- the quantity the user will decide with -- is updated as if
that outcome had been observed. The target is the compute-optimal model size ``N_opt`` (or
``D_opt``, tokens per parameter, the optimal loss) at a planned budget ``C*``, or the loss of
planned runs ``(N, D)``. Two approximations, both vectorized over draws and candidates:

``method="linear"`` (default)
    The Bayes-linear update with the draws' joint covariance of the target ``t`` and the law's
    mean log-loss ``mu_j`` at every candidate: after observing ``y_B = mu_B + noise`` at a set
    of runs ``B``, ``Var(t | y_B) ~ Var(t) - c_B' (K_BB + tau^2 I)^-1 c_B`` with
    ``c_B = Cov(t, mu_B)``, ``K_BB = Cov(mu_B)`` and ``tau^2`` the posterior mean of the
    likelihood's noise variance. It is the mean squared error of the best *linear* predictor of
    ``t`` from ``y_B``, hence an upper bound on the expected posterior variance
    ``E_y[Var(t | y)]`` (exact for a Gaussian posterior); nothing is sampled, and batches are
    exact Schur-complement updates.
``method="reweight"``
    Importance reweighting: ``n_outcomes`` outcomes per candidate are drawn from the posterior
    predictive, each reweights the current draws by its likelihood, and the reweighted variance
    of ``t`` is averaged over outcomes. Closer to the full nonlinear update while the weights
    stay spread (the table's ``ess`` column: the mean effective sample size of the weights); a
    very informative run concentrates the weights on few draws and the estimate becomes too
    optimistic -- refit with ``scaling_bayes.fit`` (or ``fit_many``) to check
    (:func:`scaling_bayes.evaluation.design_check.refit_check`).

The **batch** is chosen greedily within ``budget``: each step adds the affordable candidate with
the largest variance reduction per FLOP *given the runs already chosen* (their outcomes are
conditioned on jointly), and the cost-blind greedy (largest reduction among affordable runs) is
run too; the batch with the smaller final variance is kept (Krause & Guestrin 2005's rule for
budgeted submodular selection).

Costs are ``6 N D`` FLOPs, or a ``cost`` column of ``candidates``. Observation noise of a new run
is the fit's likelihood (``sigma``, Student-t or Normal); the error-growth term of forecasts
beyond the data (``fit.extrapolation``) is not added to new runs' outcomes.

:func:`identifiability` says in plain words which parameters the current data leave poorly
identified (little contraction from the prior, or strong posterior correlation with another
parameter; plus the data-level collinearity check of
:func:`scaling_bayes.data.observations.design_warnings`), and which single candidate run would
shrink each most per FLOP.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes.data.observations import design_warnings
from scaling_bayes.decisions.allocation import compute_optimal
from scaling_bayes.model.likelihoods import LIKELIHOODS
from scaling_bayes.posterior.draws import law_on_draws

__all__ = [
    "DesignError",
    "DesignResult",
    "Identifiability",
    "Target",
    "candidate_grid",
    "identifiability",
    "next_runs",
    "resolve_target",
]

#: Quantities of the compute-optimal allocation a target may name.
ALLOCATION_QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss_opt")
METHODS = ("linear", "reweight")
_FLOPS_PER_PARAM_TOKEN = 6.0


class DesignError(ScalingBayesError):
    """Bad input to the design of next runs (target, candidates, budget, method)."""


# ============================================================================ target
@dataclass(frozen=True)
class Target:
    """What the user will decide with: ``quantity`` at budget ``compute`` (an allocation
    quantity), or ``quantity="loss"`` at the planned runs ``N``, ``D``. Uncertainty is measured
    on the natural log of the quantity (its sd is a relative sd)."""

    quantity: str
    compute: float | None = None
    N: tuple[float, ...] = ()
    D: tuple[float, ...] = ()

    def describe(self) -> str:
        if self.quantity == "loss":
            runs = ", ".join(f"N={n:.3g}, D={d:.3g}" for n, d in zip(self.N, self.D, strict=True))
            return f"loss of the planned run{'s' if len(self.N) > 1 else ''} ({runs})"
        what = {"N_opt": "compute-optimal model size N_opt",
                "D_opt": "compute-optimal tokens D_opt",
                "tokens_per_param": "compute-optimal tokens per parameter",
                "loss_opt": "compute-optimal loss"}[self.quantity]
        return f"{what} at C* = {self.compute:.3g} FLOPs"

    @property
    def planned(self) -> pd.DataFrame:
        """The runs the target refers to (for figures): the planned runs, or empty."""
        return pd.DataFrame({"N": self.N, "D": self.D})


def _positive(name: str, value) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float)).reshape(-1)
    except (TypeError, ValueError):
        raise DesignError(f"{name} must be a number or numbers, got {value!r}") from None
    if arr.size == 0 or not np.all(np.isfinite(arr) & (arr > 0)):
        raise DesignError(f"{name} must be positive and finite, got {value!r}")
    return arr


def resolve_target(target) -> Target:
    """A :class:`Target` from the forms :func:`next_runs` accepts:

    * a number ``C``: ``N_opt`` at budget ``C`` FLOPs;
    * ``{"compute": C, "quantity": "N_opt" | "D_opt" | "tokens_per_param" | "loss_opt"}``;
    * ``{"N": N, "D": D}`` (numbers or equal-length arrays) or a DataFrame with columns ``N``
      and ``D``: the loss of those planned runs (several runs: the mean of their variances);
    * a :class:`Target`.
    """
    if isinstance(target, Target):
        return target
    if target is None:
        raise DesignError("target is required: a budget C* (N_opt at C*), "
                          "{'compute': C, 'quantity': 'tokens_per_param'} or planned runs "
                          "{'N': ..., 'D': ...}")
    if isinstance(target, pd.DataFrame):
        target = {k: target[k].to_numpy() for k in ("N", "D") if k in target.columns} or {
            "columns": list(target.columns)}
    if isinstance(target, Mapping):
        keys = set(target)
        if "compute" in keys:
            extra = keys - {"compute", "quantity"}
            if extra:
                raise DesignError(f"target: unknown key(s) {sorted(extra)}; a budget target "
                                  "takes 'compute' and 'quantity'")
            q = target.get("quantity", "N_opt")
            if q not in ALLOCATION_QUANTITIES:
                raise DesignError(f"target quantity {q!r} is not one of "
                                  f"{', '.join(ALLOCATION_QUANTITIES)}")
            c = _positive("target compute", target["compute"])
            if c.size != 1:
                raise DesignError("target compute must be one budget")
            return Target(q, compute=float(c[0]))
        if keys == {"N", "D"}:
            N, D = np.broadcast_arrays(_positive("target N", target["N"]),
                                       _positive("target D", target["D"]))
            return Target("loss", N=tuple(map(float, N)), D=tuple(map(float, D)))
        raise DesignError(f"target {dict(target)!r}: give {{'compute': C}} (optionally with "
                          "'quantity') or planned runs {'N': ..., 'D': ...}")
    c = _positive("target", target)
    if c.size != 1:
        raise DesignError("target: one budget C* (for N_opt at C*), or planned runs "
                          "{'N': ..., 'D': ...}")
    return Target("N_opt", compute=float(c[0]))


def _draws(fit) -> dict[str, np.ndarray]:
    return fit.textbook_draws()


def target_draws(fit, target: Target) -> np.ndarray:
    """Natural log of the target for every posterior draw, ``(S, T)`` (NaN where the
    allocation has no interior optimum)."""
    if target.quantity == "loss":
        mu = law_on_draws(fit.law, _draws(fit), {"N": np.asarray(target.N),
                                                 "D": np.asarray(target.D)})
        return np.asarray(mu, dtype=float).reshape(mu.shape[0], -1)
    res = compute_optimal(fit, target.compute, warn=False)
    x = np.asarray(res.draws[target.quantity], dtype=float)
    return np.log(x).reshape(x.shape[0], -1)


# ============================================================================ candidates
def _check_fit(fit) -> None:
    law = getattr(fit, "law", None)
    if law is None or not hasattr(fit, "textbook_draws"):
        raise DesignError(f"next_runs needs a single fit (scaling_bayes.fit), got "
                          f"{type(fit).__name__}")
    if set(law.inputs) != {"N", "D"}:
        raise DesignError(f"law {law.name!r} depends on {', '.join(law.inputs)}: the design of "
                          "next runs needs a law of model size N and tokens D "
                          "(e.g. 'chinchilla', 'kaplan')")


def candidate_grid(fit, budget: float, target: Target | None = None, *, n: int = 16,
                   ratio=(None, None)) -> pd.DataFrame:
    """The default candidates: a log grid of ``n x n`` (N, D) spanning the data's model sizes
    and token counts and extended toward larger runs (up to what ``budget`` buys, and toward the
    target's runs), with tokens per parameter within ``ratio`` (default: the data's range
    widened to at least 1-1000) and cost ``6 N D <= budget``."""
    data = fit.data
    N0, D0 = np.asarray(data.N, dtype=float), np.asarray(data.D, dtype=float)
    r = D0 / N0
    r_lo = ratio[0] if ratio[0] is not None else min(1.0, float(r.min()) / 2)
    r_hi = ratio[1] if ratio[1] is not None else max(1000.0, float(r.max()) * 2)
    n_hi = max(N0.max(), math.sqrt(budget / (_FLOPS_PER_PARAM_TOKEN * r_lo)))
    d_hi = max(D0.max(), budget / (_FLOPS_PER_PARAM_TOKEN * N0.min()))
    Ns = np.geomspace(N0.min(), n_hi, n)
    Ds = np.geomspace(D0.min(), d_hi, n)
    NN, DD = (a.reshape(-1) for a in np.meshgrid(Ns, Ds, indexing="ij"))
    cost = _FLOPS_PER_PARAM_TOKEN * NN * DD
    keep = (cost <= budget * (1 + 1e-9)) & (DD / NN >= r_lo) & (DD / NN <= r_hi)
    if not keep.any():
        raise DesignError(f"no candidate run costs at most the budget {budget:.3g} FLOPs "
                          f"(the smallest grid run costs {cost.min():.3g}); raise the budget or "
                          "pass candidates")
    return pd.DataFrame({"N": NN[keep], "D": DD[keep]})


def _candidates(fit, candidates, budget, target, cost_col):
    if candidates is None:
        cand = candidate_grid(fit, budget, target)
    else:
        if not isinstance(candidates, pd.DataFrame):
            try:
                candidates = pd.DataFrame(candidates)
            except Exception:
                raise DesignError("candidates must be a DataFrame with columns N and D "
                                  "(and optionally a cost column)") from None
        missing = [c for c in ("N", "D") if c not in candidates.columns]
        if missing:
            raise DesignError(f"candidates lack column(s) {', '.join(missing)}; they have: "
                              f"{', '.join(map(str, candidates.columns))}")
        cand = candidates.reset_index(drop=True).copy()
        for c in ("N", "D"):
            v = pd.to_numeric(cand[c], errors="coerce").to_numpy(dtype=float)
            bad = ~(np.isfinite(v) & (v > 0))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DesignError(f"candidates column {c!r} must be positive and finite; row "
                                  f"{row} is {cand[c].iloc[row]!r}")
            cand[c] = v
        if len(cand) == 0:
            raise DesignError("candidates is empty")
    if cost_col is not None:
        if cost_col not in cand.columns:
            raise DesignError(f"cost column {cost_col!r} is not in candidates; columns are "
                              f"{', '.join(map(str, cand.columns))}")
        cost = pd.to_numeric(cand[cost_col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(cost) & (cost > 0))
        if bad.any():
            raise DesignError(f"candidates column {cost_col!r} (cost) must be positive and "
                              f"finite; row {int(np.flatnonzero(bad)[0])} is not")
    else:
        cost = _FLOPS_PER_PARAM_TOKEN * cand["N"].to_numpy() * cand["D"].to_numpy()
    cand["cost"] = cost
    return cand


# ============================================================================ the update
def _noise_var(fit) -> tuple[np.ndarray, float]:
    """Posterior draws of sigma (S,) and the variance factor of the standardized noise."""
    sigma = np.asarray(fit.posterior["sigma"], dtype=float).reshape(-1)
    lik, nu = fit.config.likelihood, float(fit.config.nu)
    factor = nu / (nu - 2) if (lik == "student_t" and nu > 2) else 1.0
    return sigma, factor


def _finite_rows(*arrays) -> np.ndarray:
    ok = np.ones(arrays[0].shape[0], dtype=bool)
    for a in arrays:
        ok &= np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1)
    return ok


class _Linear:
    """Bayes-linear preposterior variances from the joint draw covariance of (t, mu)."""

    def __init__(self, t: np.ndarray, mu: np.ndarray, tau2: float):
        z = np.concatenate([t, mu], axis=1)
        z = z - z.mean(axis=0)
        self.T = t.shape[1]
        self.K = z.T @ z / (z.shape[0] - 1)
        self.tau2 = float(tau2)

    def var_now(self, K=None) -> float:
        K = self.K if K is None else K
        return float(np.mean(np.diag(K)[: self.T]))

    def reductions(self, K) -> np.ndarray:
        """Drop of the mean target variance from adding each candidate alone, given ``K``."""
        T = self.T
        c = K[:T, T:]  # (T, J)
        return np.sum(c**2, axis=0) / (np.diag(K)[T:] + self.tau2) / T

    def condition(self, K, j: int):
        T = self.T
        col = K[:, T + j].copy()
        return K - np.outer(col, col) / (col[T + j] + self.tau2)


def _discrepancy_cov(discrepancy, tgt: Target, cand: pd.DataFrame, n_target: int):
    """Covariance of the discrepancy term over [target rows, candidates] (see next_runs)."""
    try:
        sd, length = (float(v) for v in discrepancy)
    except (TypeError, ValueError):
        raise DesignError(f"discrepancy must be (sd, length), got {discrepancy!r}") from None
    if not (sd >= 0 and length > 0 and math.isfinite(sd) and math.isfinite(length)):
        raise DesignError(f"discrepancy sd must be >= 0 and length > 0, got {discrepancy!r}")
    pts = np.column_stack([np.log10(cand["N"].to_numpy()), np.log10(cand["D"].to_numpy())])
    if tgt.quantity == "loss":  # the planned runs' real loss carries the discrepancy too
        pts = np.vstack([np.column_stack([np.log10(tgt.N), np.log10(tgt.D)]), pts])
    d2 = np.sum((pts[:, None, :] - pts[None, :, :]) ** 2, axis=-1)
    G = sd**2 * np.exp(-0.5 * d2 / length**2)
    if tgt.quantity == "loss":
        return G
    out = np.zeros((n_target + len(cand), n_target + len(cand)))
    out[n_target:, n_target:] = G  # an allocation target is a law quantity: no discrepancy
    return out


class _Reweight:
    """Importance-reweighting preposterior variances with simulated outcomes."""

    def __init__(self, t, mu, sigma, lik, nu, n_outcomes, rng, chunk=8):
        S = t.shape[0]
        self.t, self.mu, self.sigma, self.nu = t, mu, sigma, nu
        self.lik = LIKELIHOODS[lik]
        self.gen = rng.integers(0, S, n_outcomes)  # the draw generating each outcome
        eps = self.lik.standard_noise(rng, (n_outcomes, mu.shape[1]), nu)
        self.y = mu[self.gen] + sigma[self.gen, None] * eps  # (K, J)
        self.base = np.zeros((S, n_outcomes))  # log-lik of the chosen runs' outcomes
        self.chunk = chunk
        self.ess = None

    def _var(self, logw):  # logw (S, K, c) -> mean target variance (K, c), ess (K, c)
        logw = logw - logw.max(axis=0)
        w = np.exp(logw)
        w /= w.sum(axis=0)
        ess = 1.0 / np.sum(w**2, axis=0)
        m1 = np.einsum("skc,st->tkc", w, self.t)
        m2 = np.einsum("skc,st->tkc", w, self.t**2)
        return np.mean(np.maximum(m2 - m1**2, 0.0), axis=0), ess

    def var_now(self) -> float:
        v, _ = self._var(self.base[:, :, None])
        return float(np.mean(v))

    def after_each(self) -> tuple[np.ndarray, np.ndarray]:
        J = self.mu.shape[1]
        out, ess = np.empty(J), np.empty(J)
        for s in range(0, J, self.chunk):
            j = slice(s, min(J, s + self.chunk))
            ll = self.lik.logpdf(self.y[None, :, j], self.mu[:, None, j],
                                 self.sigma[:, None, None], self.nu)  # (S, K, c)
            v, e = self._var(self.base[:, :, None] + ll)
            out[j], ess[j] = v.mean(axis=0), e.mean(axis=0)
        return out, ess

    def condition(self, j: int) -> None:
        self.base = self.base + self.lik.logpdf(self.y[None, :, j], self.mu[:, j, None],
                                                self.sigma[:, None], self.nu)


# ============================================================================ result
@dataclass(frozen=True, eq=False)
class DesignResult:
    """Result of :func:`next_runs`.

    Attributes
    ----------
    table
        Every candidate, ranked by value per FLOP: ``candidate`` (its row in the candidates),
        ``N, D, tokens_per_param, cost`` (FLOPs),
        ``sd_after`` (expected posterior sd of the log target after adding this run alone),
        ``reduction`` (``sd_now - sd_after``), ``reduction_per_flop`` (``reduction / cost``,
        "value per FLOP"), ``in_batch``, ``batch_order`` (1-based, 0 if not chosen); with
        ``method="reweight"`` also ``ess``.
    batch
        The chosen runs in the order chosen: ``N, D, tokens_per_param, cost``, ``cum_cost``
        and ``sd_after`` (the expected sd with this run and the earlier ones of the batch).
    sd_now, sd_batch
        Posterior sd of the log target now and expected after the whole batch (relative sd).
    target, budget, method
        As given (``target`` a :class:`Target`).
    data, target_runs
        The fit's runs (``N, D``) and the runs the target refers to (the planned runs, or the
        posterior-median compute-optimal ``N_opt, D_opt`` at ``C*``): for figures.
    """

    table: pd.DataFrame
    batch: pd.DataFrame
    sd_now: float
    sd_batch: float
    target: Target
    budget: float
    method: str
    data: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()
    target_runs: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def describe(self) -> str:
        """Two lines: the target with its sd now and after the batch."""
        n, spent = len(self.batch), float(self.batch["cost"].sum()) if len(self.batch) else 0.0
        return (f"target: {self.target.describe()}; posterior sd of its log now "
                f"{self.sd_now:.4g}\nbatch: {n} run{'s' if n != 1 else ''}, "
                f"{spent:.3g} of {self.budget:.3g} FLOPs; expected sd after the batch "
                f"{self.sd_batch:.4g} ({self.method} approximation, "
                f"{1 - self.sd_batch / self.sd_now if self.sd_now > 0 else 0:.0%} smaller)")

    def __repr__(self) -> str:
        return f"<DesignResult {self.target.describe()}: {len(self.batch)} runs, " \
               f"sd {self.sd_now:.3g} -> {self.sd_batch:.3g}>"


def _greedy(state_fn, cost, budget, max_runs, per_flop: bool):
    """Greedy selection: ``state_fn`` is a closure factory giving (values_after(), take(j))."""
    after, take, now = state_fn()
    chosen, sds, spent = [], [], 0.0
    avail = np.ones(cost.size, dtype=bool)
    while len(chosen) < max_runs:
        ok = avail & (cost <= budget - spent + 1e-9 * budget)
        if not ok.any():
            break
        v_after = after()
        red = now() - v_after
        score = red / cost if per_flop else red
        score = np.where(ok, score, -np.inf)
        j = int(np.argmax(score))
        if not red[j] > 0:
            break
        take(j)
        chosen.append(j)
        sds.append(math.sqrt(max(v_after[j], 0.0)))
        spent += float(cost[j])
        avail[j] = False
    return chosen, sds, now()


def next_runs(
    fit,
    candidates: pd.DataFrame | None = None,
    budget: float | None = None,
    target=None,
    *,
    cost: str | None = None,
    method: str = "linear",
    max_runs: int = 50,
    n_outcomes: int = 48,
    max_draws: int = 2000,
    seed: int = 0,
    discrepancy: tuple[float, float] | None = None,
) -> DesignResult:
    """Rank candidate runs by how much each is expected to shrink the posterior of ``target``
    per FLOP, and choose a batch within ``budget``.

    Parameters
    ----------
    fit
        A :class:`~scaling_bayes.posterior.fit.Fit` of a law of N and D.
    candidates
        DataFrame of possible runs with columns ``N`` and ``D`` (and optionally a cost column);
        default: :func:`candidate_grid` (the data's range extended toward what ``budget`` buys).
    budget
        FLOPs available for the batch (the sum of the chosen runs' costs).
    target
        What the decision depends on (see :func:`resolve_target`): a budget ``C*`` (the
        compute-optimal ``N_opt`` at ``C*``), ``{"compute": C*, "quantity":
        "tokens_per_param"}``, or planned runs ``{"N": ..., "D": ...}`` (their loss).
    cost
        Name of a column of ``candidates`` holding each run's cost in FLOPs (default 6 N D).
    method
        ``"linear"`` (Bayes-linear, default) or ``"reweight"`` (importance reweighting with
        ``n_outcomes`` simulated outcomes per candidate on at most ``max_draws`` draws).
    max_runs
        Most runs in the batch.
    seed
        Seeds the thinning of draws and the simulated outcomes (``reweight``).
    discrepancy
        ``(sd, length)``: add a model-discrepancy term to every run's log-loss (``linear``
        only), a Gaussian process over ``(log10 N, log10 D)`` with marginal sd ``sd`` (e.g.
        0.01: 1% of the loss) and squared-exponential correlation of length ``length`` decades
        (Kennedy & O'Hagan 2001). Runs near each other then share their misfit, so many runs in
        one corner stop adding information, and for a planned-run target the runs near it are
        worth more than distant high-leverage ones. Default ``None``: the law is taken as
        exact.

    Returns
    -------
    DesignResult
        ``.table`` (ranked candidates), ``.batch`` (the greedy batch), ``.sd_now``,
        ``.sd_batch`` and ``.describe()``.
    """
    _check_fit(fit)
    if method not in METHODS:
        raise DesignError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if budget is None:
        raise DesignError("budget is required: the FLOPs available for the next runs")
    b = _positive("budget", budget)
    if b.size != 1:
        raise DesignError("budget must be one number of FLOPs")
    budget = float(b[0])
    if int(max_runs) < 1:
        raise DesignError(f"max_runs must be at least 1, got {max_runs!r}")
    if method == "reweight" and int(n_outcomes) < 2:
        raise DesignError(f"n_outcomes must be at least 2, got {n_outcomes!r}")
    tgt = resolve_target(target)
    cand = _candidates(fit, candidates, budget, tgt, cost)
    costs = cand["cost"].to_numpy(dtype=float)

    t = target_draws(fit, tgt)
    mu = np.asarray(law_on_draws(fit.law, _draws(fit), {"N": cand["N"].to_numpy(),
                                                          "D": cand["D"].to_numpy()}), float)
    mu = mu.reshape(mu.shape[0], -1)
    sigma, factor = _noise_var(fit)
    ok = _finite_rows(t, mu) & np.isfinite(sigma)
    notes = []
    if ok.mean() < 0.5:
        raise DesignError(f"the target is undefined for {1 - ok.mean():.0%} of the posterior "
                          "draws (no interior compute optimum); choose another target")
    if not ok.all():
        notes.append(f"{1 - ok.mean():.1%} of the draws have no interior optimum for the "
                     "target and were left out")
    t, mu, sigma = t[ok], mu[ok], sigma[ok]
    rng = np.random.default_rng([int(seed), 0x4445_5349])
    if t.shape[0] > max_draws and method == "reweight":
        keep = np.sort(rng.choice(t.shape[0], max_draws, replace=False))
        t, mu, sigma = t[keep], mu[keep], sigma[keep]

    ess_single = None
    if discrepancy is not None and method != "linear":
        raise DesignError("discrepancy is supported by method='linear' only")
    if method == "linear":
        lin = _Linear(t, mu, float(np.mean(sigma**2)) * factor)
        if discrepancy is not None:
            lin.K = lin.K + _discrepancy_cov(discrepancy, tgt, cand, t.shape[1])
        var_now = lin.var_now()
        v_single = var_now - lin.reductions(lin.K)

        def factory():
            state = {"K": lin.K}
            return (lambda: lin.var_now(state["K"]) - lin.reductions(state["K"]),
                    lambda j: state.__setitem__("K", lin.condition(state["K"], j)),
                    lambda: lin.var_now(state["K"]))
    else:
        def make():
            return _Reweight(t, mu, sigma, fit.config.likelihood, float(fit.config.nu),
                             int(n_outcomes), np.random.default_rng([int(seed), 0x5257]))

        rw0 = make()
        var_now = float(np.mean(np.var(t, axis=0)))
        v_single, ess_single = rw0.after_each()

        def factory():
            rw = make()
            cache = {}

            def after():
                cache["v"], _ = rw.after_each()
                return cache["v"]

            def now():
                return rw.var_now()

            return after, rw.condition, now

    best = None
    for per_flop in (True, False):
        chosen, sds, v_end = _greedy(factory, costs, budget, int(max_runs), per_flop)
        if best is None or v_end < best[2] - 1e-15:
            best = (chosen, sds, v_end)
    chosen, sds, v_end = best
    sd_now = math.sqrt(max(var_now, 0.0))
    sd_after = np.sqrt(np.maximum(v_single, 0.0))
    table = cand.copy()
    table.insert(0, "candidate", np.arange(len(table)))
    table.insert(3, "tokens_per_param", table["D"] / table["N"])
    table["sd_after"] = sd_after
    table["reduction"] = sd_now - sd_after
    table["reduction_per_flop"] = table["reduction"] / table["cost"]
    if ess_single is not None:
        table["ess"] = ess_single
    order = np.zeros(len(table), dtype=int)
    for i, j in enumerate(chosen):
        order[j] = i + 1
    table["in_batch"] = order > 0
    table["batch_order"] = order
    batch = table.iloc[chosen][["candidate", "N", "D", "tokens_per_param", "cost"]].copy()
    batch["cum_cost"] = batch["cost"].cumsum()
    batch["sd_after"] = sds
    batch = batch.reset_index(drop=True)
    batch.index = pd.RangeIndex(1, len(batch) + 1, name="order")
    table = table.sort_values("reduction_per_flop", ascending=False, kind="stable")
    table = table.reset_index(drop=True)
    data = pd.DataFrame({"N": np.asarray(fit.data.N), "D": np.asarray(fit.data.D)})
    if tgt.quantity == "loss":
        target_runs = tgt.planned
    else:
        opt = compute_optimal(fit, tgt.compute, warn=False).draws
        target_runs = pd.DataFrame({"N": [float(np.nanmedian(opt["N_opt"]))],
                                    "D": [float(np.nanmedian(opt["D_opt"]))]})
    return DesignResult(target_runs=target_runs, table=table, batch=batch, sd_now=sd_now,
                        sd_batch=math.sqrt(max(v_end, 0.0)) if chosen else sd_now,
                        target=tgt, budget=budget, method=method, data=data, notes=tuple(notes))


# ============================================================================ identifiability
def _prior_sd(prior) -> float:
    try:
        import jax.numpy as jnp

        v = float(jnp.asarray(prior.to_numpyro().variance))
        return math.sqrt(v) if math.isfinite(v) and v > 0 else float("nan")
    except Exception:  # a distribution without a finite variance
        return float("nan")


_PLAIN = {
    "E": "the irreducible loss E",
    "alpha": "the model-size exponent alpha",
    "beta": "the data exponent beta",
    "lnA0": "the size of the model-size term (A at the pivot N)",
    "lnB0": "the size of the data term (B at the pivot D)",
    "alpha_N": "the model-size exponent alpha_N",
    "alpha_D": "the data exponent alpha_D",
}


@dataclass(frozen=True, eq=False)
class Identifiability:
    """Result of :func:`identifiability`: ``table`` (one row per sampled parameter: posterior
    and prior sd, ``contraction = 1 - (post sd / prior sd)^2``, its most correlated partner and
    the correlation, ``poor``, and for the poor ones the single candidate run that shrinks its
    sd most within the budget, with that sd), ``messages`` (plain sentences)."""

    table: pd.DataFrame
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return "\n".join(self.messages)


def identifiability(fit, candidates: pd.DataFrame | None = None, budget: float | None = None,
                    *, min_contraction: float = 0.75, max_corr: float = 0.95) -> Identifiability:
    """Which parameters the current data leave poorly identified, and which run would fix it.

    A sampled parameter is *poorly identified* when its posterior variance is more than
    ``1 - min_contraction`` of its prior variance (the data barely moved it), or when its
    posterior correlation with another parameter exceeds ``max_corr`` in absolute value (only
    a combination of the two is learned). For each, the candidate run (``candidates``, or the
    default grid within ``budget``, default 10x the data's largest run) with the largest
    Bayes-linear sd reduction is named. The data-level collinearity check of the fit
    (log N and log D moving together) is included.
    """
    _check_fit(fit)
    law = fit.law
    names = [*law.site_names, "sigma"]
    X = np.column_stack([np.asarray(fit.posterior[k], dtype=float).reshape(-1) for k in names])
    X = X[np.all(np.isfinite(X), axis=1)]
    post_sd = X.std(axis=0, ddof=1)
    prior_sd = np.array([_prior_sd(fit.priors[k]) if k in fit.priors else np.nan
                         for k in names])
    contraction = 1 - (post_sd / prior_sd) ** 2
    R = np.corrcoef(X[:, :-1].T) if X.shape[1] > 2 else np.ones((1, 1))
    np.fill_diagonal(R, 0.0)
    partner, corr = [], []
    for i in range(len(names)):
        if i < R.shape[0] and R.shape[0] > 1:
            j = int(np.argmax(np.abs(R[i])))
            partner.append(names[j])
            corr.append(float(R[i, j]))
        else:
            partner.append("")
            corr.append(0.0)
    corr = np.asarray(corr)
    poor = ((contraction < min_contraction) | (np.abs(corr) > max_corr))
    poor[-1] = False  # sigma: the noise scale, not a design question
    table = pd.DataFrame({"parameter": names, "post_sd": post_sd, "prior_sd": prior_sd,
                          "contraction": contraction, "partner": partner, "corr": corr,
                          "poor": poor})
    if budget is None:
        budget = 10 * _FLOPS_PER_PARAM_TOKEN * float(np.max(np.asarray(fit.data.N)
                                                            * np.asarray(fit.data.D)))
    cand = _candidates(fit, candidates, float(budget), None, None)
    mu = np.asarray(law_on_draws(law, _draws(fit), {"N": cand["N"].to_numpy(),
                                                    "D": cand["D"].to_numpy()}), float)
    mu = mu.reshape(mu.shape[0], -1)
    sigma, factor = _noise_var(fit)
    tau2 = float(np.mean(sigma**2)) * factor
    fix_n, fix_d, fix_sd = np.full(len(names), np.nan), np.full(len(names), np.nan), \
        np.full(len(names), np.nan)
    P = np.column_stack([np.asarray(fit.posterior[k], dtype=float).reshape(-1)
                         for k in names])
    ok = _finite_rows(P, mu)
    for i in np.flatnonzero(poor):
        lin = _Linear(P[ok, i:i + 1], mu[ok], tau2)
        red = lin.reductions(lin.K)
        j = int(np.argmax(red))  # the most informative run the budget allows
        fix_n[i], fix_d[i] = cand["N"].iloc[j], cand["D"].iloc[j]
        fix_sd[i] = math.sqrt(max(lin.var_now() - red[j], 0.0))
    table["fix_N"], table["fix_D"], table["fix_sd"] = fix_n, fix_d, fix_sd

    msgs = list(design_warnings(fit.data, law))
    for i in np.flatnonzero(poor):
        k = names[i]
        what = _PLAIN.get(k, k)
        why = []
        if contraction[i] < min_contraction:
            why.append(f"the data shrank its prior sd only to {post_sd[i]:.3g} from "
                       f"{prior_sd[i]:.3g}")
        if abs(corr[i]) > max_corr:
            why.append(f"it moves with {partner[i]} (posterior correlation {corr[i]:+.2f}), "
                       "so only a combination of the two is learned")
        fix = (f"; the run that helps most within the budget is N = {fix_n[i]:.3g}, "
               f"D = {fix_d[i]:.3g} "
               f"({_FLOPS_PER_PARAM_TOKEN * fix_n[i] * fix_d[i]:.3g} FLOPs, tokens/param "
               f"{fix_d[i] / fix_n[i]:.3g}), expected to bring its sd to {fix_sd[i]:.3g}")
        msgs.append(f"{what} ({k}) is poorly identified: {' and '.join(why)}{fix}")
    if not np.any(poor) and not msgs:
        msgs.append("every parameter is well identified by the current runs (posterior sd "
                    f"at most {math.sqrt(1 - min_contraction):.0%} of the prior sd, no "
                    f"posterior correlation above {max_corr:.2f})")
    return Identifiability(table=table, messages=tuple(msgs))
