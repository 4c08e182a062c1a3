"""Sampler settings as objects: model choices apart from NUTS settings.

* :class:`ModelSettings`: what is fitted besides the law and priors (the likelihood on log-loss
  and its degrees of freedom);
* :class:`NUTSSettings`: how it is sampled (seed, chains, warmup, draws, target acceptance, tree
  depth, mass matrix, mode-search starts);
* :class:`SamplerConfig`: the two combined, as recorded with every fit (saved in fit files as a
  dict of exactly its fields).

Both settings objects are frozen and validated when made (:class:`SettingsError` or
:class:`~scaling_bayes.model.likelihoods.LikelihoodError` naming the argument). The fitting entry
points (``fit``, ``fit_many``, ``fit_hierarchical``, ``validate.sbc``) take them as ``sampler=``
and ``model=``; their keyword arguments (``seed=``, ``chains=``, ...) remain as a convenience.
:func:`resolve_settings` is the one place that turns (objects, keywords) into settings: a keyword
fills in a setting when no object is given; given together with the object that holds it, it must
agree with the object (else :class:`SettingsError`), so no setting is silently overridden.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from scaling_bayes._core.errors import ScalingBayesError
from scaling_bayes.model.likelihoods import check_likelihood


class SettingsError(ScalingBayesError):
    """A sampler setting is out of range."""


def _check_int(name: str, v, lo: int, hi: int | None = None) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo or (
        hi is not None and v > hi
    ):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise SettingsError(f"{name} must be an integer {rng}, got {v!r}")


@dataclass(frozen=True)
class NUTSSettings:
    """How the posterior is sampled.

    Parameters
    ----------
    seed
        Seed of every random choice (starts, chain inits, NUTS).
    chains, warmup, draws
        NUTS chains, warmup iterations per chain, kept draws per chain.
    target_accept, max_tree_depth, dense_mass
        NUTS step-size target, tree depth limit, dense (default) or diagonal mass matrix.
    n_starts
        Prior draws that start the posterior-mode search (per data set).
    """

    seed: int = 0
    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    target_accept: float = 0.9
    max_tree_depth: int = 10
    dense_mass: bool = True
    n_starts: int = 32

    def __post_init__(self) -> None:
        _check_int("seed", self.seed, 0, 2**32 - 1)
        _check_int("chains", self.chains, 1, 512)
        _check_int("warmup", self.warmup, 0, 10**6)
        _check_int("draws", self.draws, 1, 10**6)
        _check_int("max_tree_depth", self.max_tree_depth, 1, 15)
        _check_int("n_starts", self.n_starts, 1, 4096)
        ta = self.target_accept
        if not (isinstance(ta, (int, float)) and 0 < ta < 1):
            raise SettingsError(f"target_accept must be in (0, 1), got {ta!r}")
        object.__setattr__(self, "dense_mass", bool(self.dense_mass))

    def replace(self, **changes) -> NUTSSettings:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)


#: ``extrapolation=`` settings: ``"calibrated"`` (default) adds the error-growth term learned
#: from within-data backtests to forecasts beyond the data; ``"none"``: parameter and noise
#: uncertainty only (v0.1 behaviour).
EXTRAPOLATION_MODES = ("calibrated", "none")


@dataclass(frozen=True)
class ModelSettings:
    """Model choices besides the law and priors: ``likelihood`` (``"student_t"``, robust, or
    ``"normal"``) on log-loss, the Student-t degrees of freedom ``nu``, and ``extrapolation``
    (``"calibrated"``: forecasts beyond the data carry the structural error-growth term of
    :mod:`scaling_bayes.posterior.extrapolation`; ``"none"``: they do not)."""

    likelihood: str = "student_t"
    nu: float = 4.0
    extrapolation: str = "calibrated"

    def __post_init__(self) -> None:
        if isinstance(self.nu, int):
            object.__setattr__(self, "nu", float(self.nu))
        check_likelihood(self.likelihood, self.nu)
        if self.extrapolation not in EXTRAPOLATION_MODES:
            raise SettingsError(
                f"extrapolation must be one of {', '.join(map(repr, EXTRAPOLATION_MODES))}, "
                f"got {self.extrapolation!r}")

    def replace(self, **changes) -> ModelSettings:
        """A copy with ``changes`` (validated)."""
        return dataclasses.replace(self, **changes)


NUTS_FIELDS = tuple(f.name for f in dataclasses.fields(NUTSSettings))
MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelSettings))


@dataclass(frozen=True)
class SamplerConfig:
    """Model and NUTS settings recorded with every fit (:attr:`nuts`, :attr:`model`)."""

    seed: int = 0
    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    likelihood: str = "student_t"
    nu: float = 4.0
    extrapolation: str = "calibrated"
    target_accept: float = 0.9
    max_tree_depth: int = 10
    dense_mass: bool = True
    n_starts: int = 32

    @classmethod
    def combine(cls, nuts: NUTSSettings, model: ModelSettings) -> SamplerConfig:
        """The record of ``nuts`` and ``model`` (not validated again: see :meth:`validate`)."""
        return cls(**asdict(nuts), **asdict(model))

    @property
    def nuts(self) -> NUTSSettings:
        return NUTSSettings(**{k: getattr(self, k) for k in NUTS_FIELDS})

    @property
    def model(self) -> ModelSettings:
        return ModelSettings(**{k: getattr(self, k) for k in MODEL_FIELDS})

    def validate(self) -> None:
        """Raise :class:`SettingsError` (or ``LikelihoodError``) for a setting out of range.
        Called once for every fit, by :func:`sampler_config`."""
        self.nuts  # noqa: B018  (validated when made)
        self.model  # noqa: B018

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_settings(
    sampler: NUTSSettings | SamplerConfig | None = None,
    model: ModelSettings | None = None,
    *,
    defaults: NUTSSettings | None = None,
    **keywords,
) -> tuple[NUTSSettings, ModelSettings]:
    """NUTS and model settings from objects and keyword arguments.

    ``keywords`` are setting names (:class:`NUTSSettings` and :class:`ModelSettings` fields);
    ``None`` means not given. A keyword that is given fills in its setting when no object holds
    it, and must agree with the object when one does (else :class:`SettingsError`). Settings
    given neither way take ``defaults`` (the entry point's NUTS defaults; default
    ``NUTSSettings()``) and ``ModelSettings()``. ``sampler`` may also be a
    :class:`SamplerConfig` (e.g. ``fit.config``), which holds both.
    """
    unknown = sorted(set(keywords) - {*NUTS_FIELDS, *MODEL_FIELDS})
    if unknown:
        raise TypeError(f"unknown sampler setting {unknown[0]!r}")
    if sampler is not None and not isinstance(sampler, (NUTSSettings, SamplerConfig)):
        raise SettingsError(
            f"sampler must be a NUTSSettings (or SamplerConfig), got {type(sampler).__name__}")
    if model is not None and not isinstance(model, ModelSettings):
        raise SettingsError(f"model must be a ModelSettings, got {type(model).__name__}")
    if isinstance(sampler, SamplerConfig):
        if model is not None and model != sampler.model:
            raise SettingsError(
                f"model={model!r} disagrees with the model settings of sampler={sampler!r}")
        sampler, model = sampler.nuts, sampler.model
    given = {k: v for k, v in keywords.items() if v is not None}

    def build(obj, fields, base, arg):
        own = {k: given[k] for k in fields if k in given}
        if obj is None:
            return base.replace(**own) if own else base
        for k, v in own.items():
            have = getattr(obj, k)
            if v != have:
                raise SettingsError(
                    f"{k}={v!r} disagrees with {arg}.{k}={have!r}; give it in one place")
        return obj

    nuts = build(sampler, NUTS_FIELDS, defaults or NUTSSettings(), "sampler")
    return nuts, build(model, MODEL_FIELDS, ModelSettings(), "model")


def sampler_config(
    sampler: NUTSSettings | SamplerConfig | None = None,
    model: ModelSettings | None = None,
    *,
    defaults: NUTSSettings | None = None,
    **keywords,
) -> SamplerConfig:
    """The validated :class:`SamplerConfig` of one fit (:func:`resolve_settings`, then
    :meth:`SamplerConfig.validate`, once per fit)."""
    config = SamplerConfig.combine(*resolve_settings(sampler, model, defaults=defaults,
                                                     **keywords))
    config.validate()
    return config
