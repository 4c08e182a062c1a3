"""Learning-rate schedules and the schedule features of the annealing laws.

A schedule here is a NumPy array ``lr`` of length ``steps``: ``lr[i]`` is the learning rate of
optimizer step ``i + 1`` (steps are counted from 1). The helpers build the common ones:

* :func:`constant` -- linear warmup, then the peak rate;
* :func:`cosine` -- linear warmup, then a half cosine from the peak down to ``final * peak`` at
  the last step (the OLMo ladder: ``final = 0.1``);
* :func:`wsd` -- warmup-stable-decay: linear warmup, the peak rate, then a cooldown from step
  ``decay_start`` to ``final * peak`` at the last step (linear, or ``"cosine"``, ``"sqrt"``).

:func:`schedule_features` computes the two areas of Tissue et al. (2024, arXiv:2408.11029) at
every step:

* ``S1(s) = sum_{i<=s} lr_i``: the forward area (training progress in "learning-rate x steps");
* ``S2(s) = sum_{i<=s} m_i`` with ``m_i = lam * m_{i-1} + (lr_{i-1} - lr_i)``: the annealing area
  with momentum (the benefit of a decrease of the learning rate builds up over about
  ``1 / (1 - lam)`` steps). Decreases during the warmup (which are increases) are not counted:
  ``m`` starts at the first step that reaches the schedule's peak. Tissue et al. use
  ``lam = 0.999``; :data:`DEFAULT_MOMENTUM`.

Pure NumPy/SciPy; imports nothing from the package but its errors.
"""

from __future__ import annotations

import math

import numpy as np

from scaling_bayes._core.errors import ScalingBayesError

__all__ = ["DEFAULT_MOMENTUM", "ScheduleError", "constant", "cosine", "schedule_features", "wsd"]

#: Momentum ``lam`` of the annealing area S2 (Tissue et al. 2024 recommend 0.999).
DEFAULT_MOMENTUM = 0.999


class ScheduleError(ScalingBayesError, ValueError):
    """A schedule argument is out of range (names the argument and what is allowed)."""


def _check(steps, peak, warmup, final=0.0):
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ScheduleError(f"steps must be a positive integer, got {steps!r}")
    if not (np.isfinite(peak) and peak > 0):
        raise ScheduleError(f"peak (the peak learning rate) must be positive, got {peak!r}")
    if not (isinstance(warmup, (int, np.integer)) and 0 <= warmup < steps):
        raise ScheduleError(f"warmup must be an integer number of steps in [0, steps), got "
                            f"{warmup!r}")
    if not (np.isfinite(final) and 0 <= final <= 1):
        raise ScheduleError(f"final (the last rate as a fraction of the peak) must be in "
                            f"[0, 1], got {final!r}")


def _warmup(steps: int, peak: float, warmup: int) -> np.ndarray:
    s = np.arange(1, steps + 1, dtype=float)
    return np.where(s <= warmup, peak * s / max(warmup, 1), peak)


def constant(steps: int, peak: float, *, warmup: int = 0) -> np.ndarray:
    """Linear warmup over ``warmup`` steps, then ``peak``: ``lr`` of length ``steps``."""
    _check(steps, peak, warmup)
    return _warmup(steps, float(peak), warmup)


def cosine(steps: int, peak: float, *, warmup: int = 0, final: float = 0.1) -> np.ndarray:
    """Linear warmup, then a half cosine from ``peak`` (at the end of the warmup) to
    ``final * peak`` at step ``steps``."""
    _check(steps, peak, warmup, final)
    s = np.arange(1, steps + 1, dtype=float)
    frac = np.clip((s - warmup) / max(steps - warmup, 1), 0.0, 1.0)
    lr = peak * (final + (1 - final) * 0.5 * (1 + np.cos(np.pi * frac)))
    return np.where(s <= warmup, _warmup(steps, float(peak), warmup), lr)


def wsd(steps: int, peak: float, *, warmup: int = 0, decay_start: int | None = None,
        decay_frac: float = 0.2, final: float = 0.0, shape: str = "linear") -> np.ndarray:
    """Warmup-stable-decay: linear warmup, ``peak`` until step ``decay_start`` (default: the
    last ``decay_frac`` of the steps decay), then a cooldown to ``final * peak`` at step
    ``steps`` (``shape`` ``"linear"``, ``"cosine"`` or ``"sqrt"``: ``1 - sqrt(progress)``)."""
    _check(steps, peak, warmup, final)
    if decay_start is None:
        if not (0 < decay_frac <= 1):
            raise ScheduleError(f"decay_frac must be in (0, 1], got {decay_frac!r}")
        decay_start = steps - int(round(decay_frac * steps))
    if not (isinstance(decay_start, (int, np.integer)) and warmup <= decay_start < steps):
        raise ScheduleError(f"decay_start must be a step in [warmup, steps) = [{warmup}, "
                            f"{steps}), got {decay_start!r}")
    shapes = {"linear": lambda p: 1 - p, "cosine": lambda p: 0.5 * (1 + np.cos(np.pi * p)),
              "sqrt": lambda p: 1 - np.sqrt(p)}
    if shape not in shapes:
        raise ScheduleError(f"shape must be one of {', '.join(shapes)}, got {shape!r}")
    s = np.arange(1, steps + 1, dtype=float)
    p = np.clip((s - decay_start) / (steps - decay_start), 0.0, 1.0)
    lr = peak * (final + (1 - final) * shapes[shape](p))
    return np.where(s <= warmup, _warmup(steps, float(peak), warmup), lr)


def schedule_features(lr, lam: float = DEFAULT_MOMENTUM) -> tuple[np.ndarray, np.ndarray]:
    """``(S1, S2)`` at every step of the schedule ``lr`` (``lr[i]`` = rate of step ``i + 1``):
    forward area and annealing area with momentum ``lam`` (see the module docstring)."""
    from scipy.signal import lfilter

    lr = np.asarray(lr, dtype=float)
    if lr.ndim != 1 or lr.size == 0 or not np.all(np.isfinite(lr)) or np.any(lr < 0):
        raise ScheduleError("lr must be a non-empty 1-D array of finite rates >= 0 (one per step)")
    if not (isinstance(lam, (int, float)) and 0 <= lam < 1 and math.isfinite(lam)):
        raise ScheduleError(f"lam (the momentum of the annealing area) must be in [0, 1), got "
                            f"{lam!r}")
    s1 = np.cumsum(lr)
    drop = np.concatenate([[0.0], lr[:-1] - lr[1:]])
    peak_at = int(np.argmax(lr >= lr.max() * (1 - 1e-9)))
    drop[: peak_at + 1] = 0.0  # the warmup's increases are not annealing
    m = lfilter([1.0], [1.0, -lam], drop)
    return s1, np.cumsum(m)
