"""Shape laws: a law with a multiplicative architecture-shape term in the aspect ratio.

:func:`with_shape` adds the term to a base law; ``chinchilla_shape`` and ``kaplan_shape`` are
registered. A shape law carries its base (:attr:`Law.base_law`) and a reference view
(:attr:`Law.reference_view`): its posterior as a posterior of the base law for models of one
aspect ratio, by which allocation, forecasts and figures of the base law apply (at
:data:`SHAPE_REF_ASPECT` by default). :func:`shape_pair` finds the (base, shape) pair of either.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from scaling_bayes.laws.base import LAWS, Law, Param
from scaling_bayes.laws.classic import CHINCHILLA, KAPLAN

__all__ = ["CHINCHILLA_SHAPE", "KAPLAN_SHAPE", "SHAPE_REF_ASPECT", "shape_pair", "with_shape"]

#: Aspect ratio (d_model / n_layers) at which the textbook shape parameters are quoted.
SHAPE_REF_ASPECT = 64.0
_LN2 = 0.6931471805599453


def _shape_absorb_sites(base: Law) -> tuple[tuple[str, ...], str]:
    """Sampler sites that a log-scale factor on the law's loss-dependent part is added to."""
    if any(s.name == "E" for s in base.sites) and base.pivots:
        return tuple(p.amp for p in base.pivots), "reducible loss L - E"
    if any(s.name == "l0" for s in base.sites):
        return ("l0",), "loss"
    raise ValueError(
        f"law {base.name!r} has neither an irreducible term E with pivoted amplitudes nor a "
        "log-loss level l0, so a shape factor cannot be attached to it")


def with_shape(base: Law, name: str | None = None) -> Law:
    """``base`` with a multiplicative architecture-shape term on its reducible loss.

    With ``r`` the aspect ratio d_model/n_layers and ``u = log2(r / 64)``, the reducible loss
    ``L - E`` (the whole loss for laws without ``E``, e.g. Kaplan's) is multiplied by
    ``exp(shape_slope * u + shape_curv * u^2)``. ``shape_slope`` is the change in log reducible
    loss per doubling of the aspect ratio at ``r = 64``; ``shape_curv > 0`` is a bowl whose
    bottom, ``64 * 2^(-shape_slope / (2 shape_curv))``, is the best aspect ratio. Priors are
    centred on "no effect". The other textbook parameters (A, B, ...) are those of a model with
    aspect ratio 64. The sampler centres the quadratic at the data's geometric-mean aspect ratio
    (``ref["aspect"]``) and folds the constant this moves into the amplitudes, exactly.
    """
    absorb, what = _shape_absorb_sites(base)
    has_E = "E" in base.param_names
    d_ref = SHAPE_REF_ASPECT

    def shift(phi, s):
        return {**phi, **{a: phi[a] + s for a in absorb}}

    def sampler_log_loss(phi, x):
        v = x["aspect"] / _LN2
        s = phi["shape_slope_ref"] * v + phi["shape_curv"] * v * v
        return base.sampler_log_loss(shift(phi, s), x)

    def to_textbook(phi, ref):
        d = jnp.log2(ref["aspect"] / d_ref)
        g1, g2 = phi["shape_slope_ref"], phi["shape_curv"]
        theta = base.to_textbook(shift(phi, g2 * d * d - g1 * d), ref)
        return {**theta, "shape_slope": g1 - 2.0 * g2 * d, "shape_curv": g2}

    def reference_view(phi, ref, aspect=SHAPE_REF_ASPECT):
        """Sampler draws of ``base`` for models of aspect ratio ``aspect`` (numpy): the shape
        factor there folded into the amplitudes, draw by draw."""
        v = math.log2(aspect / ref["aspect"])
        g1 = np.asarray(phi["shape_slope_ref"], float)
        g2 = np.asarray(phi["shape_curv"], float)
        s = g1 * v + g2 * v * v
        out = {k: np.asarray(phi[k], float) for k in base.site_names}
        for a in absorb:
            out[a] = out[a] + s
        return out

    def log_loss(theta, inputs):
        u = jnp.log2(inputs["aspect"] / d_ref)
        s = theta["shape_slope"] * u + theta["shape_curv"] * u * u
        if not has_E:
            return base.log_loss(theta, inputs) + s
        # log(L - E) exactly: the base law with E = 0 (its log-sum-exp drops the -inf term)
        log_reducible = base.log_loss({**theta, "E": jnp.zeros_like(theta["E"])}, inputs)
        return jnp.logaddexp(jnp.log(theta["E"]), log_reducible + s)

    return Law(
        name=name or f"{base.name}_shape",
        formula=f"{base.formula}, {what} x exp(shape_slope*u + shape_curv*u^2), "
        "u = log2(aspect/64)",
        description=f"{base.description}, with an architecture-shape term in the aspect ratio "
        "d_model/n_layers (prior centred on no effect)",
        inputs=(*base.inputs, "aspect"),
        params=(
            *base.params,
            Param("shape_slope", f"change in log {what} per doubling of the aspect ratio at 64"),
            Param("shape_curv", f"curvature of log {what} in log2(aspect ratio)"),
        ),
        sites=(
            *base.sites,
            Param("shape_slope_ref", f"change in log {what} per doubling of the aspect ratio "
                  "at the data's reference aspect ratio", ("Normal", {"loc": 0.0, "scale": 0.1})),
            Param("shape_curv", f"curvature of log {what} in log2(aspect ratio)",
                  ("Normal", {"loc": 0.0, "scale": 0.05})),
        ),
        log_loss=log_loss,
        sampler_log_loss=sampler_log_loss,
        to_textbook=to_textbook,
        pivots=base.pivots,
        initial_ref={**base.initial_ref, "aspect": "geomean"},
        base_law=base,
        reference_view=reference_view,
        loss_in_nats=base.loss_in_nats,
    )


CHINCHILLA_SHAPE = LAWS.register(with_shape(CHINCHILLA))
KAPLAN_SHAPE = LAWS.register(with_shape(KAPLAN))


def shape_pair(law: str | Law) -> tuple[Law, Law]:
    """``(base law, registered shape law)`` for a base law or its shape variant, by name or
    :class:`Law`: ``"chinchilla"`` and ``"chinchilla_shape"`` both give
    ``(CHINCHILLA, CHINCHILLA_SHAPE)``. Raises :class:`UnknownLawError` for a law with no
    registered shape variant (``"<base>_shape"``)."""
    base = LAWS.get(law)
    if base.reference_view is not None:
        base = base.base_law
    return base, LAWS.get(f"{base.name}_shape")
