"""A fit runs its within-data backtests in a second thread while NUTS runs: the result is the
one a sequential run gives, and fits traced in two threads at once (NumPyro's global handler
stack) neither crash nor change their draws."""

from __future__ import annotations

import threading

import numpy as np
from conftest import synthetic

import scaling_bayes as sb
from scaling_bayes.inference import engine as inference
from scaling_bayes.inference.extrapolation import calibrate_extrapolation

QUICK = {"chains": 2, "warmup": 60, "draws": 60}


def test_background_backtests_equal_sequential_ones():
    data = synthetic("power_N", n=30)
    fit = sb.fit(data, law="power_N", seed=1, warn=False, **QUICK)
    assert fit.extrapolation is not None
    again = calibrate_extrapolation(fit.law, fit.data, fit.priors, fit.config)
    a, b = fit.extrapolation.to_dict(), again.to_dict()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(np.asarray(a[k], dtype=object), np.asarray(b[k], dtype=object))
    t = fit.meta["timings"]
    assert t["extrapolation_s"] > 0 and t["extrapolation_wait_s"] >= 0


def test_two_threads_tracing_fresh_programs_at_once_give_the_sequential_draws():
    data = [synthetic("power_N", n=30, seed=s) for s in (0, 1)]
    kw = dict(law="power_N", warn=False, extrapolation="none", **QUICK)
    inference._program.cache_clear()
    seq = [sb.fit(d, seed=i, **kw) for i, d in enumerate(data)]
    inference._program.cache_clear()  # both threads trace (fresh programs), at the same time
    out, errors = [None, None], []

    def run(i):
        try:
            out[i] = sb.fit(data[i], seed=i, **kw)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for a, b in zip(seq, out, strict=True):
        for k in a.posterior:
            np.testing.assert_array_equal(a.posterior[k], b.posterior[k])
