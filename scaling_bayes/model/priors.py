"""Declarative, serialisable priors: a distribution name plus keyword arguments.

``Prior("LogNormal", loc=-1.2, scale=0.6)`` builds ``numpyro.distributions.LogNormal`` when the
model runs. Priors are stored in saved fits as text (``str(prior)``) and parsed back with
:meth:`Prior.parse`, so a fit records exactly what it assumed.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes.laws.base import Law, Param

#: Noise scale of log-loss residuals: residual scatter of a few percent.
SIGMA = Param(
    "sigma",
    "scale of the residuals of log-loss",
    ("HalfNormal", {"scale": 0.05}),
    "positive",
)

_DOMAINS = {"real": lambda v: math.isfinite(v), "positive": lambda v: math.isfinite(v) and v > 0}


class PriorError(ScalingBayesError):
    """A prior override names an unknown parameter, distribution or argument."""


@dataclass(frozen=True)
class Prior:
    """A prior: NumPyro distribution name and its keyword arguments (numbers)."""

    dist: str
    params: dict[str, float] = field(default_factory=dict)

    def __init__(self, dist: str, params: Mapping[str, float] | None = None, **kwargs: float):
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", {**(params or {}), **kwargs})

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.dist}({args})"

    def to_numpyro(self):
        """Build the NumPyro distribution."""
        import numpyro.distributions as dist

        return getattr(dist, self.dist)(**self.params)

    @classmethod
    def parse(cls, text: str) -> Prior:
        """Parse ``"Name(a=1, b=2)"`` or ``"Name(1, 2)"`` (positional in NumPyro's order)."""
        if len(text) > 500:
            raise PriorError(f"prior text is {len(text)} characters long; write it as "
                             "Distribution(arg=value, ...) in at most 500")
        try:
            node = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            node = None
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            raise PriorError(
                f"cannot read prior {text!r}; write it as Distribution(arg=value, ...), "
                "e.g. LogNormal(loc=-1.2, scale=0.6)"
            )
        names = [k.arg for k in node.keywords]
        dup = sorted({str(n) for n in names if names.count(n) > 1})
        if dup:
            raise PriorError(f"prior {text!r}: argument {dup[0]!r} is given twice")
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        except ValueError:
            raise PriorError(f"prior {text!r}: arguments must be plain numbers") from None
        if args:
            import inspect

            names = [p for p in inspect.signature(_dist_class(node.func.id)).parameters
                     if p not in ("self", "validate_args")]
            if len(args) > len(names):
                raise PriorError(f"prior {text!r}: too many positional arguments")
            kwargs = {**dict(zip(names, args, strict=False)), **kwargs}
        return cls(node.func.id, kwargs)

    @classmethod
    def coerce(cls, value: Any) -> Prior:
        """Accept a Prior, its text form, ``{"dist": ..., **params}``, or a NumPyro distribution."""
        if isinstance(value, Prior):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, Mapping):
            params = dict(value)
            name = params.pop("dist", None)
            if name is None:
                raise PriorError(f"prior {value!r}: a dict prior needs a 'dist' key")
            return cls(name, params)
        cons = getattr(type(value), "arg_constraints", None)
        if cons is not None:
            try:
                return cls(type(value).__name__, {k: float(getattr(value, k)) for k in cons})
            except (TypeError, ValueError):
                pass
        raise PriorError(
            f"cannot use {value!r} as a prior; give a Prior, text such as "
            "'Normal(loc=0, scale=1)', or a scalar NumPyro distribution"
        )


def _dist_class(name: str):
    import numpyro.distributions as dist

    obj = getattr(dist, name, None)
    if not (isinstance(obj, type) and issubclass(obj, dist.Distribution)):
        raise PriorError(
            f"unknown distribution {name!r}; use a numpyro.distributions class such as "
            "Normal, LogNormal, HalfNormal, Gamma, Uniform, TruncatedNormal, StudentT"
        )
    return obj


def _check(prior: Prior, site: Param) -> None:
    import jax
    import numpy as np

    cls = _dist_class(prior.dist)
    if prior.dist in ("Delta", "Unit", "ImproperUniform"):
        raise PriorError(f"prior {prior} for {site.name!r}: a degenerate or improper "
                         "distribution cannot be sampled by NUTS; use a proper continuous one")
    bad = [k for k, v in prior.params.items()
           if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)]
    if bad:
        raise PriorError(f"prior for {site.name!r}: argument {bad[0]!r} must be a finite number")
    try:
        d = cls(**prior.params, validate_args=True)
    except (TypeError, ValueError) as e:
        raise PriorError(f"prior {prior} for {site.name!r} is invalid: {e}") from None
    if d.batch_shape or d.event_shape or d.support.is_discrete:
        raise PriorError(
            f"prior {prior} for {site.name!r} must be a continuous scalar distribution")
    lower = getattr(d.support, "lower_bound", None)
    outside = site.domain == "positive" and (lower is None or not float(np.min(lower)) >= 0)
    draws = np.asarray(d.sample(jax.random.PRNGKey(0), (256,)))
    if outside or not all(_DOMAINS[site.domain](float(v)) for v in draws):
        raise PriorError(
            f"prior {prior} for {site.name!r} puts mass outside its domain ({site.domain}); "
            f"use a distribution on {site.domain} values, e.g. {Prior(*site.prior)}"
        )


def default_priors(law: Law) -> dict[str, Prior]:
    """The documented default prior of every sampler parameter of ``law``, plus ``sigma``."""
    return {s.name: Prior(s.prior[0], dict(s.prior[1])) for s in (*law.sites, SIGMA)}


def resolve_priors(law: Law, overrides: Mapping[str, Any] | None = None) -> dict[str, Prior]:
    """Defaults for ``law`` with ``overrides`` applied by parameter name, checked."""
    priors = default_priors(law)
    sites = {s.name: s for s in (*law.sites, SIGMA)}
    for name, value in (overrides or {}).items():
        if name not in sites:
            derived = name in law.param_names
            hint = (
                f"{name!r} is derived from the sampled parameters of law {law.name!r}"
                if derived else f"law {law.name!r} has no parameter {name!r}"
            )
            raise PriorError(f"{hint}; priors can be set on: {', '.join(sites)}")
        prior = Prior.coerce(value)
        _check(prior, sites[name])
        priors[name] = prior
    return priors


#: Distributions that are not proper probability distributions (or are degenerate).
IMPROPER = ("ImproperUniform", "Unit", "Delta")


def is_proper(prior: Prior) -> bool:
    """Whether ``prior`` is a proper, non-degenerate distribution (finite arguments, not
    :data:`IMPROPER`): with proper priors on every site the posterior exists however few runs
    there are."""
    if prior.dist in IMPROPER:
        return False
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in prior.params.values())


def prior_sd(prior: Prior, n: int = 20000) -> float:
    """Standard deviation of ``prior`` (exact for Normal, LogNormal, HalfNormal; else from
    ``n`` draws with a fixed seed)."""
    p = prior.params
    if prior.dist == "Normal":
        return float(p.get("scale", 1.0))
    if prior.dist == "HalfNormal":
        return float(p.get("scale", 1.0)) * math.sqrt(1.0 - 2.0 / math.pi)
    if prior.dist == "LogNormal":
        m, s = float(p.get("loc", 0.0)), float(p.get("scale", 1.0))
        return math.sqrt(math.expm1(s * s)) * math.exp(m + 0.5 * s * s)
    import jax
    import numpy as np

    draws = np.asarray(prior.to_numpyro().sample(jax.random.PRNGKey(0), (n,)), dtype=float)
    return float(np.std(draws[np.isfinite(draws)]))
