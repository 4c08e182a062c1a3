"""Scaling laws as pure JAX functions, each with a sampler parameterization, in one registry.

Every law has two faces:

* the **textbook** parameters users read and papers report (``E, A, B, alpha, beta`` for
  Chinchilla; ``N_c, D_c, alpha_N, alpha_D`` for Kaplan), with :attr:`Law.log_loss` giving
  ``log L`` from them; and
* the **sampler** parameters NUTS actually explores (:attr:`Law.sites`). In the textbook form the
  amplitude and the exponent of a power-law term are ~0.999 correlated, because the amplitude is
  the term's value at ``N = 1``, far outside any data. The sampler instead uses the log of each
  term *at a reference scale inside the data* (the pivot), which decouples it from the exponent.
  :attr:`Law.to_textbook` maps sampler draws back to the textbook parameters.

Inputs reach the sampler-side functions as ``x[v] = log(v / ref[v])`` for each input variable
``v`` (``"N"``, ``"D"`` or ``"C"``), with ``ref`` the pivot scales recorded in the fit.

This module imports only JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jax.numpy as jnp
from jax.nn import log_sigmoid
from jax.scipy.special import logsumexp

Array = jnp.ndarray

INPUT_DESCRIPTIONS = {
    "N": "model size (parameters)",
    "D": "training tokens",
    "C": "training compute (FLOPs)",
    "aspect": "aspect ratio d_model/n_layers (width/depth)",
}


@dataclass(frozen=True)
class Param:
    """One parameter: its name, meaning, and (for sampler sites) a default prior."""

    name: str
    description: str
    # Default prior as (numpyro distribution name, kwargs); only for sampler sites.
    prior: tuple[str, dict] | None = None
    # Domain used to check user priors: "real", "positive".
    domain: str = "real"


@dataclass(frozen=True)
class Pivot:
    """A power-law term ``exp(amp - exp_site * x[input])`` whose reference scale can be moved.

    Moving the reference of ``input`` by ``delta`` in log space changes ``amp`` to
    ``amp - exponent * delta``; the decorrelating choice is
    ``delta = cov(amp, exponent) / var(exponent)``.
    """

    amp: str
    exponent: str
    input: str


@dataclass(frozen=True, eq=False)
class Law:
    """A registered scaling law.

    Attributes
    ----------
    name, formula, description
        Identification and documentation.
    inputs
        Input variables the law needs, from ``("N", "D", "C")``.
    params
        Textbook (reported) parameters.
    sites
        Sampler parameters, each with a default prior.
    log_loss
        ``log_loss(theta, inputs) -> log L`` with textbook ``theta`` and raw inputs (N, D, C).
    sampler_log_loss
        ``sampler_log_loss(phi, x) -> log L`` with sampler ``phi`` and ``x = log(input / ref)``.
    to_textbook
        ``to_textbook(phi, ref) -> theta``.
    pivots
        Terms whose reference scale is chosen to decorrelate amplitude and exponent.
    initial_ref
        How the reference scale of each input starts: ``"min"`` (smallest value in the data) or
        ``"geomean"``.
    base
        The law a derived law extends (``None`` for a law defined from scratch).
    """

    name: str
    formula: str
    description: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    sites: tuple[Param, ...]
    log_loss: Callable[[Mapping[str, Array], Mapping[str, Array]], Array]
    sampler_log_loss: Callable[[Mapping[str, Array], Mapping[str, Array]], Array]
    to_textbook: Callable[[Mapping[str, Array], Mapping[str, Array]], dict[str, Array]]
    pivots: tuple[Pivot, ...] = ()
    initial_ref: Mapping[str, str] = field(default_factory=dict)
    #: For a derived law (e.g. a shape variant made by :func:`with_shape`), the law it extends.
    base: Law | None = None
    #: Run NUTS in coordinates whitened by the Laplace fit (see ``inference._Program.kernels``).
    #: ``False`` for laws whose posteriors are far from Gaussian at the mode: there the raw
    #: coordinates, with NumPyro's regularised metric (small steps), explore better. Measured:
    #: bnsl1 on 4-digit addition, 8 x 2000 draws: R-hat 1.006 raw, 1.14 whitened;
    #: kaplan_learning_curve on Gemstones checkpoints: 0 divergences raw, 9 whitened.
    whiten: bool = True

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def site_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sites)

    @property
    def n_params(self) -> int:
        """Number of free parameters, counting the noise scale."""
        return len(self.sites) + 1

    def __call__(self, theta: Mapping[str, Array], **inputs: Array) -> Array:
        """Predicted loss ``L`` (not log) from textbook parameters and raw inputs."""
        return jnp.exp(self.log_loss(theta, inputs))


_REGISTRY: dict[str, Law] = {}


def register_law(law: Law) -> Law:
    """Add ``law`` to the registry (name must be new) and return it."""
    if law.name in _REGISTRY:
        raise ValueError(f"a law named {law.name!r} is already registered")
    _REGISTRY[law.name] = law
    return law


def get_law(name: str | Law) -> Law:
    """Return the registered law ``name`` (a :class:`Law` passes through)."""
    if isinstance(name, Law):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownLawError(
            f"unknown law {name!r}; available laws: {', '.join(sorted(_REGISTRY))}"
        ) from None


def list_laws() -> dict[str, str]:
    """Registered laws as ``{name: "formula — description"}``."""
    return {k: f"{v.formula} — {v.description}" for k, v in _REGISTRY.items()}


class UnknownLawError(ValueError):
    """Raised for a law name that is not in the registry."""


# ----------------------------------------------------------------------------- priors
# Defaults are weakly informative on the scale of language-model losses in nats/token
# (0.5-10), exponents 0.05-1, and residual scatter of a few percent. See README "Priors".
_EXPONENT_PRIOR = ("LogNormal", {"loc": -1.2, "scale": 0.6})  # median 0.30, 95% [0.09, 0.98]
_E_PRIOR = ("LogNormal", {"loc": 0.5, "scale": 0.6})  # median 1.65, 95% [0.5, 5.3]
_TERM_PRIOR = ("Normal", {"loc": -0.5, "scale": 1.5})  # reducible term at pivot: 95% [0.03, 11]


# ----------------------------------------------------------------------------- chinchilla
def _chinchilla_log_loss(theta, inputs):
    logN = jnp.log(inputs["N"])
    logD = jnp.log(inputs["D"])
    terms = jnp.stack(
        jnp.broadcast_arrays(
            jnp.log(theta["E"]),
            jnp.log(theta["A"]) - theta["alpha"] * logN,
            jnp.log(theta["B"]) - theta["beta"] * logD,
        )
    )
    return logsumexp(terms, axis=0)


def _chinchilla_sampler_log_loss(phi, x):
    terms = jnp.stack(
        jnp.broadcast_arrays(
            jnp.log(phi["E"]),
            phi["lnA0"] - phi["alpha"] * x["N"],
            phi["lnB0"] - phi["beta"] * x["D"],
        )
    )
    return logsumexp(terms, axis=0)


def _chinchilla_to_textbook(phi, ref):
    return {
        "E": phi["E"],
        "A": jnp.exp(phi["lnA0"] + phi["alpha"] * jnp.log(ref["N"])),
        "B": jnp.exp(phi["lnB0"] + phi["beta"] * jnp.log(ref["D"])),
        "alpha": phi["alpha"],
        "beta": phi["beta"],
    }


CHINCHILLA = register_law(
    Law(
        name="chinchilla",
        formula="L = E + A*N^-alpha + B*D^-beta",
        description="Hoffmann et al. 2022 (Approach 3) parametric loss surface",
        inputs=("N", "D"),
        params=(
            Param("E", "irreducible loss (nats/token)"),
            Param("A", "model-size amplitude"),
            Param("B", "data amplitude"),
            Param("alpha", "model-size exponent"),
            Param("beta", "data exponent"),
        ),
        sites=(
            Param("E", "irreducible loss (nats/token)", _E_PRIOR, "positive"),
            Param("lnA0", "log of the model-size term A*N0^-alpha at the pivot N0", _TERM_PRIOR),
            Param("lnB0", "log of the data term B*D0^-beta at the pivot D0", _TERM_PRIOR),
            Param("alpha", "model-size exponent", _EXPONENT_PRIOR, "positive"),
            Param("beta", "data exponent", _EXPONENT_PRIOR, "positive"),
        ),
        log_loss=_chinchilla_log_loss,
        sampler_log_loss=_chinchilla_sampler_log_loss,
        to_textbook=_chinchilla_to_textbook,
        pivots=(Pivot("lnA0", "alpha", "N"), Pivot("lnB0", "beta", "D")),
        initial_ref={"N": "min", "D": "min"},
    )
)


# ----------------------------------------------------------------------------- kaplan
def _kaplan_log_loss(theta, inputs):
    r = theta["alpha_N"] / theta["alpha_D"]
    t1 = r * (jnp.log(theta["N_c"]) - jnp.log(inputs["N"]))
    t2 = jnp.log(theta["D_c"]) - jnp.log(inputs["D"])
    return theta["alpha_D"] * logsumexp(jnp.stack(jnp.broadcast_arrays(t1, t2)), axis=0)


def _kaplan_sampler_log_loss(phi, x):
    # log L = l0 + alpha_D * LSE(log sig(w) - r*xN, log sig(-w) - xD): l0 is the log-loss at the
    # pivot (N0, D0) and w the logit of the model-size share of the bracket there.
    t1 = log_sigmoid(phi["w_N"]) - phi["r_ND"] * x["N"]
    t2 = log_sigmoid(-phi["w_N"]) - x["D"]
    return phi["l0"] + phi["alpha_D"] * logsumexp(jnp.stack(jnp.broadcast_arrays(t1, t2)), axis=0)


def _kaplan_to_textbook(phi, ref):
    s = phi["l0"] / phi["alpha_D"]  # log of the bracket at the pivot
    u = s + log_sigmoid(phi["w_N"])  # log (N_c/N0)^r
    v = s + log_sigmoid(-phi["w_N"])  # log (D_c/D0)
    return {
        "N_c": ref["N"] * jnp.exp(u / phi["r_ND"]),
        "D_c": ref["D"] * jnp.exp(v),
        "alpha_N": phi["r_ND"] * phi["alpha_D"],
        "alpha_D": phi["alpha_D"],
    }


KAPLAN = register_law(
    Law(
        name="kaplan",
        formula="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
        description="Kaplan et al. 2020 eq. 1.5 joint model-size/data law (no irreducible term)",
        inputs=("N", "D"),
        params=(
            Param("N_c", "model-size scale (parameters)"),
            Param("D_c", "data scale (tokens)"),
            Param("alpha_N", "model-size exponent"),
            Param("alpha_D", "data exponent"),
        ),
        sites=(
            Param("l0", "log-loss at the pivot (N0, D0)", ("Normal", {"loc": 1.0, "scale": 1.0})),
            Param(
                "w_N",
                "logit of the model-size share of the bracket at the pivot",
                ("Normal", {"loc": 0.0, "scale": 2.0}),
            ),
            Param(
                "alpha_D",
                "data exponent",
                ("LogNormal", {"loc": -2.3, "scale": 0.75}),
                "positive",
            ),
            Param(
                "r_ND",
                "exponent ratio alpha_N/alpha_D",
                ("LogNormal", {"loc": -0.3, "scale": 0.6}),
                "positive",
            ),
        ),
        log_loss=_kaplan_log_loss,
        sampler_log_loss=_kaplan_sampler_log_loss,
        to_textbook=_kaplan_to_textbook,
        initial_ref={"N": "geomean", "D": "geomean"},
    )
)


# ----------------------------------------------------------------------------- one variable
def _make_power_law(var: str, irreducible: bool) -> Law:
    """Kaplan eqs 1.1-1.3: ``L = (X_c/X)^alpha_X``, optionally plus an irreducible ``E``."""
    scale, expo = f"{var}_c", f"alpha_{var}"
    what = INPUT_DESCRIPTIONS[var]

    if irreducible:

        def log_loss(theta, inputs):
            t = theta[expo] * (jnp.log(theta[scale]) - jnp.log(inputs[var]))
            return jnp.logaddexp(jnp.log(theta["E"]), t)

        def sampler_log_loss(phi, x):
            return jnp.logaddexp(jnp.log(phi["E"]), phi["lnA0"] - phi[expo] * x[var])

        def to_textbook(phi, ref):
            return {
                "E": phi["E"],
                scale: ref[var] * jnp.exp(phi["lnA0"] / phi[expo]),
                expo: phi[expo],
            }

        return Law(
            name=f"power_{var}_E",
            formula=f"L = E + ({scale}/{var})^{expo}",
            description=f"single power law in {what} with an irreducible loss",
            inputs=(var,),
            params=(
                Param("E", "irreducible loss (nats/token)"),
                Param(scale, f"scale of {what}"),
                Param(expo, "exponent"),
            ),
            sites=(
                Param("E", "irreducible loss (nats/token)", _E_PRIOR, "positive"),
                Param("lnA0", f"log of the reducible term at the pivot {var}0", _TERM_PRIOR),
                Param(expo, "exponent", _EXPONENT_PRIOR, "positive"),
            ),
            log_loss=log_loss,
            sampler_log_loss=sampler_log_loss,
            to_textbook=to_textbook,
            pivots=(Pivot("lnA0", expo, var),),
            initial_ref={var: "min"},
        )

    def log_loss(theta, inputs):  # noqa: F811 - the other branch returned already
        return theta[expo] * (jnp.log(theta[scale]) - jnp.log(inputs[var]))

    def sampler_log_loss(phi, x):
        return phi["l0"] - phi[expo] * x[var]

    def to_textbook(phi, ref):
        return {scale: ref[var] * jnp.exp(phi["l0"] / phi[expo]), expo: phi[expo]}

    return Law(
        name=f"power_{var}",
        formula=f"L = ({scale}/{var})^{expo}",
        description=f"single power law in {what} (Kaplan et al. 2020 eqs 1.1-1.3)",
        inputs=(var,),
        params=(Param(scale, f"scale of {what}"), Param(expo, "exponent")),
        sites=(
            Param("l0", f"log-loss at the pivot {var}0", ("Normal", {"loc": 1.0, "scale": 1.0})),
            Param(expo, "exponent", ("LogNormal", {"loc": -2.3, "scale": 1.0}), "positive"),
        ),
        log_loss=log_loss,
        sampler_log_loss=sampler_log_loss,
        to_textbook=to_textbook,
        initial_ref={var: "geomean"},
    )


for _var in ("N", "D", "C"):
    register_law(_make_power_law(_var, irreducible=False))
    register_law(_make_power_law(_var, irreducible=True))


# ----------------------------------------------------------------------------- shape
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
        base=base,
    )


CHINCHILLA_SHAPE = register_law(with_shape(CHINCHILLA))
KAPLAN_SHAPE = register_law(with_shape(KAPLAN))


from scaling_bayes.laws import curves as _laws_curves  # noqa: E402,F401
from scaling_bayes.laws import more as _laws_more  # noqa: E402,F401

_BUILTIN: dict[str, Law] = dict(_REGISTRY)


def is_builtin(law: Law) -> bool:
    """Whether ``law`` is one of the laws this package defines (not a user's own)."""
    return _BUILTIN.get(law.name) is law
