"""Learning-rate-schedule-aware laws of the whole training curve.

``lr_annealing`` -- the annealing law of Tissue et al. (2024, "Scaling Law with Learning Rate
Annealing", arXiv:2408.11029), ``L(s) = L0 + A S1^-alpha - C S2``, extended with a model-size
term so that one law covers a ladder of model sizes::

    L(N, S1, S2) = E + A N^-alpha_N + B S1^-alpha_S - C N^-gamma S2

with ``S1`` the forward area of the learning rate (sum of the rate over the steps so far) and
``S2`` the annealing area with momentum (:func:`scaling_bayes.data.schedules.schedule_features`).
At a constant rate ``S2 = 0`` and the law is Chinchilla's with training progress measured in
``lr x steps``; annealing lowers the loss by ``C N^-gamma S2`` (the annealing benefit may
change with model size through ``gamma``; on the OLMo ladder the peak rate also falls with N).

The sampler sees ``x = log(v / ref)``. With a few model sizes, ``E``, ``A`` and ``alpha_N`` in
the textbook form lie on a curved ridge (the sizes fix the level and the slope of the size
term well, its curvature poorly): the sampler uses instead the level ``G0 = E + A N0^-alpha_N``
and the slope ``D0 = alpha_N A N0^-alpha_N`` (``-dL/dlog N``) at the pivot ``N0 = ref[N]``, as
``lnG0``, ``lnD0``, with ``alpha_N``; then ``E = G0 - D0/alpha_N``. The forward-area term is
sampled as its log at the pivot ``S1_0`` (``lnB0``), the annealing term as ``lnC0``, the log of
the annealing drop at ``N = ref[N]`` and ``S2 = ref[S2]`` (:func:`scaling_bayes.fit_curves`
sets ``ref[S2]`` to the largest S2 in the data, so ``exp(lnC0)`` is about the full annealing
drop of the ladder's middle size, in nats).

Default priors (weakly informative, losses in nats/token):
``lnG0 ~ Normal(1, 0.7)`` (G0 median 2.7, 95% 0.7-11), ``lnD0 ~ Normal(-2, 1.5)`` (a slope
of 0.007-2.6 nats per e-fold of N), ``alpha_N, alpha_S ~ LogNormal(-1.2, 0.6)`` (median 0.30,
95% 0.09-0.98), ``lnB0 ~ Normal(-0.5, 1.5)`` (0.03-11 nats at the pivot), ``lnC0 ~
Normal(-2, 1.5)`` (annealing drop median 0.14 nats, 95% 0.007-2.6), ``gamma ~ Normal(0, 0.5)``.
The implied ``E`` is not constrained to be positive (a negative ``E`` says the data do not
pin the irreducible loss; it is reported as is).
"""

from __future__ import annotations

import jax.numpy as jnp

from scaling_bayes.laws.base import _EXPONENT_PRIOR, _TERM_PRIOR, LAWS, Law, Param, Pivot

__all__ = ["LR_ANNEALING"]

_TINY = 1e-10


def _log_pos(v):
    """``log v`` for v > 0; a floor where the annealing term would make the loss <= 0."""
    return jnp.log(jnp.maximum(v, _TINY))


def _ann_log_loss(theta, inputs):
    N, S1, S2 = (jnp.asarray(inputs[v]) for v in ("N", "S1", "S2"))
    L = (theta["E"] + theta["A"] * N ** -theta["alpha_N"] + theta["B"] * S1 ** -theta["alpha_S"]
         - theta["C"] * N ** -theta["gamma"] * S2)
    return _log_pos(L)


_EXP_MAX = 700.0  # exponents clipped here: no overflow to inf (and inf - inf) far from the data


def _exp(v):
    return jnp.exp(jnp.minimum(v, _EXP_MAX))


def _ann_sampler_log_loss(phi, x):
    # E + A (N/N0)^-alpha_N = G0 + a0 (exp(-alpha_N x) - 1), a0 = D0 / alpha_N: the level G0 and
    # the slope D0 at the pivot (module docstring)
    log_a0 = phi["lnD0"] - jnp.log(phi["alpha_N"])
    a0 = _exp(log_a0)
    z = -phi["alpha_N"] * x["N"]
    # a0 * expm1(z): expm1 where z is small (accurate for small alpha_N), exp(log a0 + z) - a0
    # where it is large (no overflow of a0 * e^z); both branches finite, so is the gradient
    size = jnp.where(z > 1.0, _exp(log_a0 + jnp.maximum(z, 1.0)) - a0,
                     a0 * jnp.expm1(jnp.minimum(z, 1.0)))
    L = (_exp(phi["lnG0"]) + size
         + _exp(phi["lnB0"] - phi["alpha_S"] * x["S1"])
         - _exp(phi["lnC0"] - phi["gamma"] * x["N"] + x["S2"]))
    return _log_pos(L)


def _ann_to_textbook(phi, ref):
    a0 = jnp.exp(phi["lnD0"]) / phi["alpha_N"]
    return {
        "E": jnp.exp(phi["lnG0"]) - a0,
        "A": a0 * ref["N"] ** phi["alpha_N"],
        "alpha_N": phi["alpha_N"],
        "B": jnp.exp(phi["lnB0"]) * ref["S1"] ** phi["alpha_S"],
        "alpha_S": phi["alpha_S"],
        "C": jnp.exp(phi["lnC0"]) * ref["N"] ** phi["gamma"] / ref["S2"],
        "gamma": phi["gamma"],
    }


LR_ANNEALING = LAWS.register(
    Law(
        name="lr_annealing",
        formula="L = E + A/N^alpha_N + B/S1^alpha_S - C N^-gamma S2",
        description="Tissue et al. 2024 learning-rate annealing law with a model-size term: S1 "
        "the forward area of the learning rate, S2 its annealing area with momentum (fit with "
        "scaling_bayes.fit_curves on whole training curves)",
        inputs=("N", "S1", "S2"),
        params=(
            Param("E", "irreducible loss"),
            Param("A", "model-size coefficient"),
            Param("alpha_N", "model-size exponent"),
            Param("B", "training-progress coefficient (S1 in lr x steps)"),
            Param("alpha_S", "training-progress exponent"),
            Param("C", "annealing coefficient"),
            Param("gamma", "change of the annealing benefit with model size"),
        ),
        sites=(
            Param("lnG0", "log of E + A N0^-alpha_N (the loss of size N0 at infinite S1)",
                  ("Normal", {"loc": 1.0, "scale": 0.7})),
            Param("lnD0", "log of the slope -dL/dlog N = alpha_N A N0^-alpha_N at N0",
                  ("Normal", {"loc": -2.0, "scale": 1.5})),
            Param("alpha_N", "model-size exponent", _EXPONENT_PRIOR, "positive"),
            Param("lnB0", "log of the training-progress term at the pivot S1_0", _TERM_PRIOR),
            Param("alpha_S", "training-progress exponent", _EXPONENT_PRIOR, "positive"),
            Param("lnC0", "log of the annealing drop at N0 and S2 = ref[S2]",
                  ("Normal", {"loc": -2.0, "scale": 1.5})),
            Param("gamma", "change of the annealing benefit with model size",
                  ("Normal", {"loc": 0.0, "scale": 0.5})),
        ),
        log_loss=_ann_log_loss,
        sampler_log_loss=_ann_sampler_log_loss,
        to_textbook=_ann_to_textbook,
        pivots=(Pivot("lnB0", "alpha_S", "S1"),),
        initial_ref={"N": "geomean", "S1": "geomean", "S2": 1.0},
    )
)
