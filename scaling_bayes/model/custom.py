"""User-defined laws: :func:`custom_law` turns any JAX function of textbook parameters into a
registered :class:`~scaling_bayes.laws.Law` with the whole pipeline (fit, diagnostics,
``predict``, numeric compute-optimal allocation).

It lives in the model layer because it builds the law's priors (:class:`Prior`) from the user's
specifications; the law itself is registered in :data:`scaling_bayes.laws.LAWS` like the
built-in laws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from scaling_bayes._core.vocabulary import LAW_INPUTS
from scaling_bayes.laws.base import LAWS, Law, Param
from scaling_bayes.model.priors import SIGMA, Prior, _check

__all__ = ["custom_law"]


def _domain_of(prior) -> str:
    d = prior.to_numpyro()
    lower = getattr(d.support, "lower_bound", None)
    try:
        return "positive" if lower is not None and float(np.min(lower)) >= 0 else "real"
    except (TypeError, ValueError):
        return "real"


def custom_law(
    name: str,
    log_loss_fn: Callable[[Mapping[str, jnp.ndarray], Mapping[str, jnp.ndarray]], jnp.ndarray],
    params: Mapping[str, object],
    inputs: Sequence[str] = ("N", "D"),
    *,
    register: bool = True,
    formula: str | None = None,
    description: str | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> Law:
    """A law from your own JAX function, with the whole pipeline: fit, diagnostics, forecasts
    (:func:`~scaling_bayes.predict`) and, for a law of N and D, numeric compute-optimal
    allocation.

    Parameters
    ----------
    name
        Law name (``sb.fit(df, law=name)`` and the CLI's ``--law`` when registered).
    log_loss_fn
        ``log_loss_fn(theta, inputs) -> log L``: ``theta`` maps each parameter name to a scalar,
        ``inputs`` maps each input name to an array of raw values (e.g. parameters, tokens);
        written in ``jax.numpy`` (it is differentiated and compiled). Return the log of the loss
        (e.g. ``jnp.log(E + A*N**-alpha + B*D**-beta)``, or more stably a ``logsumexp``).
    params
        ``{parameter: prior}``, the prior as text (``"LogNormal(loc=-1.2, scale=0.6)"``), a
        :class:`~scaling_bayes.model.priors.Prior` or a scalar NumPyro distribution. Parameters
        whose prior lives on positive numbers are sampled on the log scale. These are the sampled
        parameters (no pivoting): give amplitudes priors on the right scale, or parameterize
        them in logs yourself.
    inputs
        Input names: ``"N"``, ``"D"``, ``"C"`` or a covariate of
        :data:`scaling_bayes._core.vocabulary.COVARIATES`.
    register
        Add the law to the registry (so it fits by name, from the CLI in this process, and a
        saved fit reloads in any process that defines it again with the same name).
    formula, description, descriptions
        Text for ``list_laws()`` and summaries; ``descriptions`` maps parameter names to text.
    """
    if not (isinstance(name, str) and name.strip() and name == name.strip()):
        raise ValueError(f"custom_law: name must be a non-empty string, got {name!r}")
    if register and name in LAWS:
        raise ValueError(
            f"custom_law: a law named {name!r} is already registered; choose "
            "another name (or register=False)"
        )
    if not callable(log_loss_fn):
        raise TypeError("custom_law: log_loss_fn must be a function (theta, inputs) -> log L")
    inputs = tuple(inputs)
    known = LAW_INPUTS
    bad = [v for v in inputs if v not in known]
    if not inputs or bad or len(set(inputs)) != len(inputs):
        raise ValueError(
            f"custom_law: inputs must be distinct names from {', '.join(known)}; got {inputs!r}"
        )
    if not isinstance(params, Mapping) or not params:
        raise ValueError("custom_law: params must be a non-empty {name: prior} mapping")
    descriptions = dict(descriptions or {})
    sites = []
    for pname, value in params.items():
        if not (isinstance(pname, str) and pname.isidentifier()):
            raise ValueError(f"custom_law: parameter name {pname!r} is not an identifier")
        if pname in (SIGMA.name, *inputs):
            raise ValueError(f"custom_law: parameter name {pname!r} is reserved")
        prior = Prior.coerce(value)
        desc = descriptions.get(pname, f"parameter {pname} of {name}")
        site = Param(pname, desc, (prior.dist, dict(prior.params)), _domain_of(prior))
        _check(prior, site)
        sites.append(site)
    names = tuple(s.name for s in sites)
    _check_fn(name, log_loss_fn, sites, inputs)

    def log_loss(theta, raw):
        out = log_loss_fn({k: theta[k] for k in names}, {v: raw[v] for v in inputs})
        return out + jnp.zeros(jnp.shape(raw[inputs[0]]), dtype=jnp.result_type(out))

    def sampler_log_loss(phi, x):
        # fixed reference 1 for every input: x = log(input), so exp(x) is the raw input
        return log_loss(phi, {v: jnp.exp(x[v]) for v in inputs})

    def to_textbook(phi, ref):
        return {k: phi[k] for k in names}

    law = Law(
        name=name,
        formula=formula
        or f"user-defined log L = {getattr(log_loss_fn, '__name__', 'f')}"
        f"(theta; {', '.join(inputs)})",
        description=description or "user-defined law (scaling_bayes.custom_law)",
        inputs=inputs,
        params=tuple(Param(s.name, s.description) for s in sites),
        sites=tuple(sites),
        log_loss=log_loss,
        sampler_log_loss=sampler_log_loss,
        to_textbook=to_textbook,
        initial_ref={v: 1.0 for v in inputs},
    )
    return LAWS.register(law) if register else law


def _check_fn(name, fn, sites, inputs) -> None:
    """Call the user's function once at prior medians-ish on three points: clear errors early."""
    theta = {}
    for s in sites:
        d = Prior(s.prior[0], s.prior[1]).to_numpyro()
        theta[s.name] = jnp.asarray(np.median(np.asarray(d.sample(jax.random.PRNGKey(0), (64,)))))
    raw = {v: jnp.asarray([1e8, 1e9, 1e10]) for v in inputs}
    try:
        out = jnp.asarray(fn(theta, raw))
    except Exception as e:  # noqa: BLE001 - report any failure of user code with context
        raise ValueError(
            f"custom_law {name!r}: log_loss_fn(theta, inputs) failed at prior "
            f"medians ({type(e).__name__}: {e})"
        ) from e
    if out.shape not in ((), (3,)):
        raise ValueError(
            f"custom_law {name!r}: log_loss_fn must return one log-loss per row "
            f"(shape (3,) for 3 rows), got shape {out.shape}"
        )
