"""The law interface: :class:`Law`, its parameters, and the registry of laws by name.

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
``v`` (``"N"``, ``"D"``, ``"C"`` or a covariate of :mod:`scaling_bayes._core.vocabulary`), with
``ref`` the pivot scales recorded in the fit.

What a law can do beyond the loss lives on the :class:`Law` as capabilities (a closed-form
compute-optimal allocation, allocation exponents, a reference view for shape laws, the unit of
its ``loss`` column); code elsewhere asks the law, never tests its name.

Laws are kept in one registry object, :data:`LAWS` (``LAWS.register(law)``, ``LAWS.get(name)``);
:func:`register_law`, :func:`get_law` and :func:`list_laws` are the same as functions. Importing
:mod:`scaling_bayes.laws` registers the built-in laws, one module per family.

This module imports only JAX (and the package's input vocabulary).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import jax.numpy as jnp
from jax.scipy.special import logsumexp

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes._core.vocabulary import INPUT_DESCRIPTIONS

Array = jnp.ndarray

__all__ = [
    "INPUT_DESCRIPTIONS", "LAWS", "ClosedFormAllocation", "Law", "LawRegistry", "Param", "Pivot",
    "UnknownLawError", "get_law", "is_builtin", "list_laws", "register_law",
]


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


@dataclass(frozen=True)
class ClosedFormAllocation:
    """Closed-form compute-optimal allocation of a law of N and D under ``C = k N D``.

    Both functions take textbook ``theta`` (one draw: scalars) and ``log_k = log k`` (a Python
    float), are written in ``jax.numpy`` and are traced inside the allocation programs of
    :mod:`scaling_bayes.decisions.allocation`.

    optimum
        ``optimum(theta, logC, log_k) -> (log N_opt, log D_opt)`` at budget ``C``.
    budget_for_loss
        ``budget_for_loss(theta, log_ell, log_k) -> log C``: the smallest budget whose
        compute-optimal loss is ``ell`` (``inf`` where the law never reaches it).
    """

    optimum: Callable[[Mapping[str, Array], Array, float], tuple[Array, Array]]
    budget_for_loss: Callable[[Mapping[str, Array], Array, float], Array]


@dataclass(frozen=True, eq=False)
class Law:
    """A registered scaling law.

    Attributes
    ----------
    name, formula, description
        Identification and documentation.
    inputs
        Input variables the law needs: ``"N"``, ``"D"``, ``"C"`` or covariates
        (:data:`scaling_bayes._core.vocabulary.COVARIATES`).
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
    base_law
        The law a derived law extends (``None`` for a law defined from scratch).
    whiten
        Run NUTS in whitened coordinates (see below).
    closed_form_allocation
        A :class:`ClosedFormAllocation` where the compute-optimal allocation has a closed form
        (Chinchilla), else ``None`` (numeric solve).
    exponents_of
        ``exponents_of(theta) -> {name: array}``: budget-independent allocation exponents from
        textbook draws (numpy), where the law has them; see :meth:`allocation_exponents`.
    reference_view
        For a law that extends :attr:`base_law` by a covariate (a shape law):
        ``reference_view(phi, ref, aspect) -> phi_base``, the sampler draws of the base law for
        models of aspect ratio ``aspect`` (numpy arrays). ``None`` for other laws.
    loss_in_nats
        Whether the ``loss`` column is a loss in nats/token (``False`` e.g. for an error rate);
        the data layer checks the units only of those.
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
    base_law: Law | None = None
    #: Run NUTS in coordinates whitened by the Laplace fit (see ``inference._Program.kernels``).
    #: ``False`` for laws whose posteriors are far from Gaussian at the mode: there the raw
    #: coordinates, with NumPyro's regularised metric (small steps), explore better. Measured:
    #: bnsl1 on 4-digit addition, 8 x 2000 draws: R-hat 1.006 raw, 1.14 whitened;
    #: kaplan_learning_curve on Gemstones checkpoints: 0 divergences raw, 9 whitened.
    whiten: bool = True
    closed_form_allocation: ClosedFormAllocation | None = None
    exponents_of: Callable[[Mapping[str, object]], dict[str, object]] | None = None
    reference_view: Callable[..., dict[str, object]] | None = None
    loss_in_nats: bool = True

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

    @property
    def allocatable(self) -> bool:
        """Whether the law is a law of exactly N and D, the trade-off compute-optimal allocation
        solves (a shape law is allocated through its :attr:`reference_view`)."""
        return set(self.inputs) == {"N", "D"}

    @property
    def input_descriptions(self) -> dict[str, str]:
        """``{input: description}`` for each of the law's inputs, in order."""
        return {v: INPUT_DESCRIPTIONS.get(v, v) for v in self.inputs}

    def allocation_exponents(self, theta: Mapping[str, object]) -> dict[str, object] | None:
        """Budget-independent allocation exponents from textbook draws ``theta`` (numpy):
        Chinchilla ``a`` (N_opt ∝ C^a), ``b`` (D_opt ∝ C^b) and ``G`` (N_opt = G (C/6)^a),
        Kaplan ``a``, ``b``; ``None`` for laws without them."""
        return None if self.exponents_of is None else self.exponents_of(theta)

    def __call__(self, theta: Mapping[str, Array], **inputs: Array) -> Array:
        """Predicted loss ``L`` (not log) from textbook parameters and raw inputs."""
        return jnp.exp(self.log_loss(theta, inputs))


class UnknownLawError(ScalingBayesError):
    """Raised for a law name that is not in the registry."""


class LawRegistry:
    """Laws by name, in registration order.

    ``LAWS.register(law)`` adds a law and returns it (``CHINCHILLA = LAWS.register(Law(...))``);
    ``LAWS.get(name)`` looks one up; ``name in LAWS``, ``iter(LAWS)`` (names), ``len(LAWS)``,
    :meth:`names` and :meth:`laws` read it. :meth:`unregister` removes a user's law (tests, or
    a notebook that redefines one). The laws this package defines are marked built-in when
    :mod:`scaling_bayes.laws` has imported its family modules (:meth:`is_builtin`).
    """

    def __init__(self) -> None:
        self._laws: dict[str, Law] = {}
        self._builtin: dict[str, Law] = {}

    def register(self, law: Law) -> Law:
        """Add ``law`` (its name must be new) and return it."""
        if not isinstance(law, Law):
            raise TypeError(f"can only register a Law, got {type(law).__name__}")
        if law.name in self._laws:
            raise ValueError(f"a law named {law.name!r} is already registered")
        self._laws[law.name] = law
        return law

    def unregister(self, name: str | Law) -> Law | None:
        """Remove the user law ``name`` and return it (``None`` if no law has that name).
        Built-in laws cannot be removed."""
        key = name.name if isinstance(name, Law) else name
        if key in self._builtin:
            raise ValueError(f"{key!r} is a built-in law and cannot be unregistered")
        return self._laws.pop(key, None)

    def get(self, name: str | Law) -> Law:
        """The registered law ``name`` (a :class:`Law` passes through)."""
        if isinstance(name, Law):
            return name
        try:
            return self._laws[name]
        except (KeyError, TypeError):
            raise UnknownLawError(
                f"unknown law {name!r}; available laws: {', '.join(sorted(self._laws))}"
            ) from None

    def names(self) -> tuple[str, ...]:
        """Names of the registered laws, in registration order."""
        return tuple(self._laws)

    def laws(self) -> tuple[Law, ...]:
        """The registered laws, in registration order."""
        return tuple(self._laws.values())

    def is_builtin(self, law: Law) -> bool:
        """Whether ``law`` is one of the laws this package defines (not a user's own, nor a
        modified copy of a built-in law)."""
        return self._builtin.get(law.name) is law

    def _mark_builtins(self) -> None:
        """Record every law registered so far as built-in (called once by
        :mod:`scaling_bayes.laws` after importing its family modules)."""
        self._builtin = dict(self._laws)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, Law):
            return self._laws.get(name.name) is name
        return name in self._laws

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._laws))

    def __len__(self) -> int:
        return len(self._laws)

    def __repr__(self) -> str:
        return f"LawRegistry({', '.join(self._laws)})"


#: The registry of laws by name (built-in laws and user laws alike).
LAWS = LawRegistry()


def register_law(law: Law) -> Law:
    """Add ``law`` to the registry (name must be new) and return it: ``LAWS.register(law)``."""
    return LAWS.register(law)


def get_law(name: str | Law) -> Law:
    """Return the registered law ``name`` (a :class:`Law` passes through): ``LAWS.get``."""
    return LAWS.get(name)


def list_laws() -> dict[str, str]:
    """Registered laws as ``{name: "formula — description"}``."""
    return {law.name: f"{law.formula} — {law.description}" for law in LAWS.laws()}


def is_builtin(law: Law) -> bool:
    """Whether ``law`` is one of the laws this package defines (not a user's own)."""
    return LAWS.is_builtin(law)


# ----------------------------------------------------------------------------- shared pieces
# Default prior specs, shared by the law families. Weakly informative on the scale of
# language-model losses in nats/token (0.5-10), exponents 0.05-1, and residual scatter of a few
# percent. See README "Priors".
_EXPONENT_PRIOR = ("LogNormal", {"loc": -1.2, "scale": 0.6})  # median 0.30, 95% [0.09, 0.98]
_E_PRIOR = ("LogNormal", {"loc": 0.5, "scale": 0.6})  # median 1.65, 95% [0.5, 5.3]
_TERM_PRIOR = ("Normal", {"loc": -0.5, "scale": 1.5})  # reducible term at pivot: 95% [0.03, 11]


def _stack_lse(*terms):
    """``log(sum(exp(terms)))`` of broadcast terms."""
    return logsumexp(jnp.stack(jnp.broadcast_arrays(*terms)), axis=0)
