"""How much the data contracted the prior: posterior sd / prior sd per sampled parameter.

With proper priors a fit exists for any number of runs, but with fewer runs than free parameters
(the least-squares rule ``n >= n_params + 1``) the posterior is largely the prior.
:func:`prior_contraction` measures it per sampled site (1: the data taught nothing about it,
0.1: they pinned it to a tenth of the prior's spread); :func:`prior_dominated_message` is the
one line :func:`scaling_bayes.fit` issues as a :class:`PriorDominatedWarning` and the CLI
prints.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from scaling_bayes.model.priors import prior_sd

__all__ = ["PriorDominatedWarning", "is_few_runs", "prior_contraction", "prior_dominated_message"]


class PriorDominatedWarning(UserWarning):
    """The fit has fewer runs than free parameters: its posterior is mostly its prior."""


def is_few_runs(fit) -> bool:
    """Fewer rows than the law has free parameters plus one (what least squares needs)."""
    return fit.data.n < fit.law.n_params + 1


def prior_contraction(fit) -> pd.DataFrame:
    """One row per sampled parameter: ``prior_sd``, ``posterior_sd`` and ``ratio``
    (posterior sd / prior sd)."""
    rows = []
    for name in fit.sampled:
        prior = fit.priors.get(name)
        if prior is None:
            continue
        psd = prior_sd(prior)
        post = float(np.std(np.asarray(fit.posterior[name], dtype=float)))
        rows.append({"parameter": name, "prior": str(prior), "prior_sd": psd,
                     "posterior_sd": post, "ratio": post / psd if psd > 0 else np.nan})
    return pd.DataFrame(rows).set_index("parameter")


def prior_dominated_message(fit) -> str | None:
    """One line for fits with fewer runs than free parameters (else ``None``)."""
    if not is_few_runs(fit):
        return None
    c = prior_contraction(fit)
    parts = ", ".join(f"{k} {v:.2f}" for k, v in c["ratio"].items())
    return (f"prior-dominated posterior: {fit.data.n} runs for {fit.law.n_params} free "
            f"parameters, so the priors carry much of the answer; posterior sd / prior sd "
            f"(1 = the data taught nothing): {parts}")


def warn_prior_dominated(fit, stacklevel: int = 3) -> str | None:
    """Issue :func:`prior_dominated_message` as a :class:`PriorDominatedWarning`."""
    msg = prior_dominated_message(fit)
    if msg:
        warnings.warn(msg, PriorDominatedWarning, stacklevel=stacklevel)
    return msg
