"""The public entry point of a downstream fit: :func:`fit_downstream` (NUTS on the models of
:mod:`scaling_bayes.model.downstream`).

The compiled NUTS program is cached per (mode, fixed or learned ceiling, number of runs,
sampler settings) and takes the data as arguments, so fitting the ten tasks of a ladder compiles
once.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from scaling_bayes._core.env import enable_x64_on_cpu
from scaling_bayes.data.downstream import (
    DownstreamDataError,
    chance_level,
    downstream_table,
    seed_noise,
)
from scaling_bayes.model.downstream import MODES, downstream_model
from scaling_bayes.posterior.downstream import DownstreamFit

__all__ = ["DEFAULT_MODE", "fit_downstream", "sample_downstream"]

#: The default mode: chosen by the 1B backtest of benchmarks/downstream (see its README).
DEFAULT_MODE = "chained"


@functools.lru_cache(maxsize=16)
def _mcmc(mode: str, fixed_ceiling: bool, chains: int, warmup: int, draws: int,
          target_accept: float):
    from numpyro.infer import MCMC, NUTS, init_to_median

    model = functools.partial(downstream_model, mode=mode)
    kernel = NUTS(model, target_accept_prob=target_accept, init_strategy=init_to_median(
        num_samples=15), dense_mass=True)
    return MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method="vectorized", jit_model_args=True, progress_bar=False)


def _int(name, v, lo):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise DownstreamDataError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def fit_downstream(
    data,
    task_loss: str = "bpb_mmlu_avg_test",
    metric: str = "acc_mmlu_avg_test",
    *,
    mode: str | None = None,
    chance: float | None = None,
    ceiling: float | None = None,
    checkpoints: int | str = "final",
    noise_floor: bool = True,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
    target_accept: float = 0.95,
) -> DownstreamFit:
    """Fit a downstream task: a scaling law of its task loss in (N, D), then a sigmoid from task
    loss to the metric (floor at random-guess accuracy, a ceiling), with the whole posterior
    carried through to forecasts (:meth:`DownstreamFit.predict`, or
    ``scaling_bayes.predict(fit, N=..., D=...)``).

    Parameters
    ----------
    data
        A DataFrame or CSV path of runs with ``N``, ``D`` (or ``C``), the ``task_loss`` and
        ``metric`` columns, and optionally ``run``, ``rerun`` (and ``step`` for
        ``checkpoints``); e.g. ``load_dataset("olmo_ladder")``.
    task_loss, metric
        Column names: the task loss (positive, e.g. bits per byte of the correct answer) and
        the metric (a fraction in [0, 1], e.g. accuracy).
    mode
        ``"chained"`` (default; step 2 fitted on the observed task losses, forecasts push the
        step-1 posterior through the step-2 posterior), ``"joint"`` (step 2 reads the step-1
        law, both fitted at once) or ``"direct"`` (a sigmoid law of the metric in log N and
        log D, no task loss). See :mod:`scaling_bayes.model.downstream`.
    chance
        The metric's floor, random-guess accuracy; default from
        :data:`scaling_bayes.data.downstream.CHANCE` by the metric's name (required for other
        tasks).
    ceiling
        A fixed ceiling of the metric in (chance, 1]; default learned (prior: uniform-ish
        between the floor and 1, ``u ~ Beta(2, 1)``).
    checkpoints
        ``"final"`` (default) or ``k``: average the last ``k`` checkpoints of each run (needs
        ``run`` and ``step``, e.g. ``load_dataset("olmo_ladder_curves")``).
    noise_floor
        Use the seed noise of the repeated runs (``rerun``) as a floor of both noise scales
        (default); ``False``: floors of 0.
    chains, warmup, draws, seed, target_accept
        NUTS settings (dense mass matrix, chains vectorized).
    """
    t0 = time.perf_counter()
    mode = DEFAULT_MODE if mode is None else mode
    if mode not in MODES:
        raise DownstreamDataError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    chains, warmup, draws = _int("chains", chains, 1), _int("warmup", warmup, 10), \
        _int("draws", draws, 10)
    seed = _int("seed", seed, 0)
    if not (isinstance(target_accept, (int, float)) and 0 < target_accept < 1):
        raise DownstreamDataError(f"target_accept must be in (0, 1), got {target_accept!r}")
    d = downstream_table(data, task_loss, metric, checkpoints=checkpoints)
    floor = chance_level(metric) if chance is None else chance
    if floor is None:
        raise DownstreamDataError(
            f"no known chance level for metric {metric!r}; pass chance= (random-guess "
            "accuracy, e.g. 0.25 for 4-way multiple choice)")
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor < 1:
        raise DownstreamDataError(f"chance must be a number in [0, 1), got {floor!r}")
    floor = float(floor)
    if ceiling is not None:
        if isinstance(ceiling, bool) or not isinstance(ceiling, (int, float)) \
                or not floor < ceiling <= 1:
            raise DownstreamDataError(
                f"ceiling must be a number in (chance={floor:g}, 1], got {ceiling!r}")
        ceiling = float(ceiling)
    noise = seed_noise(d) if noise_floor else {"loss": 0.0, "metric": 0.0, "pairs": 0}

    N0, D0 = float(np.exp(np.mean(np.log(d.N)))), float(np.exp(np.mean(np.log(d.D))))
    ref = {"N0": N0, "D0": D0, "log_ref": float(np.log(np.median(d.loss))),
           "log_min": float(np.log(d.loss.min()))}
    t1 = time.perf_counter()
    post, stats = sample_downstream(d, mode=mode, floor=floor, ceiling=ceiling, noise=noise,
                                    ref=ref, chains=chains, warmup=warmup, draws=draws,
                                    seed=seed, target_accept=float(target_accept))
    t2 = time.perf_counter()
    return DownstreamFit(
        mode=mode, data=d, floor=floor, ceiling=ceiling,
        ref=ref, noise_floor=noise,
        posterior=post, sample_stats=stats,
        config={"chains": chains, "warmup": warmup, "draws": draws, "seed": seed,
                "target_accept": float(target_accept)},
        meta={"timings": {"prepare_s": t1 - t0, "sample_s": t2 - t1, "total_s": t2 - t0}})


def sample_downstream(d, *, mode: str, floor: float, ceiling: float | None, noise: dict,
                      ref: dict, chains: int, warmup: int, draws: int, seed: int,
                      target_accept: float):
    """NUTS on the downstream model for validated runs ``d`` with the pivots ``ref`` (``N0``,
    ``D0``, ``log_ref``, ``log_min``) given, not taken from the data (simulation-based
    calibration fixes them so that every simulated data set has the same prior). Returns
    ``(posterior, sample_stats)``: ``{name: (chain, draw)}`` arrays."""
    enable_x64_on_cpu()
    import jax
    import jax.numpy as jnp

    mcmc = _mcmc(mode, ceiling is not None, chains, warmup, draws, float(target_accept))
    args = dict(
        xN=jnp.asarray(np.log(d.N / ref["N0"])), xD=jnp.asarray(np.log(d.D / ref["D0"])),
        log_loss=None if mode == "direct" else jnp.asarray(np.log(d.loss)),
        metric=jnp.asarray(d.metric), floor=jnp.asarray(floor),
        log_ref=jnp.asarray(ref["log_ref"]), seed_loss=jnp.asarray(noise["loss"]),
        seed_metric=jnp.asarray(noise["metric"]), log_min=jnp.asarray(ref["log_min"]),
        ceiling=None if ceiling is None else jnp.asarray(ceiling))
    mcmc.run(jax.random.PRNGKey(seed), **args, extra_fields=("diverging",))
    post = {k: np.asarray(v, dtype=float)
            for k, v in mcmc.get_samples(group_by_chain=True).items()}
    stats = {"diverging": np.asarray(mcmc.get_extra_fields(group_by_chain=True)["diverging"])}
    return post, stats
