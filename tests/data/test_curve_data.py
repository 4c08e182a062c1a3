"""Schedules, schedule features and curve data (issue 17)."""

import numpy as np
import pandas as pd
import pytest

import scaling_bayes as sb
from scaling_bayes.data.curves import load_curves, per_step_lr
from scaling_bayes.data.schedules import (
    ScheduleError,
    constant,
    cosine,
    schedule_features,
    wsd,
)


def test_schedules_shapes_and_endpoints():
    lr = cosine(1000, 1e-3, warmup=100, final=0.1)
    assert lr.shape == (1000,)
    np.testing.assert_allclose(lr[99], 1e-3)  # end of warmup
    np.testing.assert_allclose(lr[0], 1e-5)
    np.testing.assert_allclose(lr[-1], 1e-4)
    assert np.all(np.diff(lr[100:]) <= 0)
    w = wsd(1000, 1e-3, warmup=100, decay_start=800, final=0.0)
    np.testing.assert_allclose(w[100:800], 1e-3)
    assert w[-1] == 0.0 and np.all(np.diff(w[800:]) < 0)
    np.testing.assert_allclose(wsd(1000, 1e-3, decay_frac=0.2)[:800], 1e-3)
    c = constant(500, 3e-4, warmup=50)
    np.testing.assert_allclose(c[50:], 3e-4)
    assert sb.schedules.cosine is cosine  # the facade's sb.schedules


@pytest.mark.parametrize("call, word", [
    (lambda: cosine(0, 1e-3), "steps"),
    (lambda: cosine(100, -1.0), "peak"),
    (lambda: cosine(100, 1e-3, warmup=100), "warmup"),
    (lambda: cosine(100, 1e-3, final=2.0), "final"),
    (lambda: wsd(100, 1e-3, decay_start=100), "decay_start"),
    (lambda: wsd(100, 1e-3, shape="cubic"), "shape"),
    (lambda: schedule_features([1e-3, np.nan]), "lr"),
    (lambda: schedule_features([1e-3, 1e-3], lam=1.0), "lam"),
])
def test_schedule_errors_name_the_argument(call, word):
    with pytest.raises(ScheduleError, match=word):
        call()


def test_features_constant_and_single_drop():
    s1, s2 = schedule_features(constant(300, 2e-3))
    np.testing.assert_allclose(s1, 2e-3 * np.arange(1, 301))
    np.testing.assert_allclose(s2, 0.0)
    # one drop of 1e-3 at step k: m_i = d lam^(i-k), S2(s) = d (1 - lam^(s-k+1)) / (1 - lam)
    lam, k = 0.99, 101
    lr = np.where(np.arange(1, 401) < k, 2e-3, 1e-3)
    _, s2 = schedule_features(lr, lam)
    s = np.arange(1, 401)
    expect = np.where(s >= k, 1e-3 * (1 - lam ** (s - k + 1)) / (1 - lam), 0.0)
    np.testing.assert_allclose(s2, expect, rtol=1e-10, atol=1e-15)
    # the warmup's increases are not annealing
    _, s2w = schedule_features(cosine(400, 1e-3, warmup=50))
    np.testing.assert_allclose(s2w[:50], 0.0)  # steps 1..50 (the warmup)
    assert s2w[-1] > 0


def test_reconstructed_schedule_from_sparse_checkpoints():
    lr = cosine(20000, 1e-3, warmup=500, final=0.1)
    steps = np.arange(500, 20001, 500)
    rec = per_step_lr(steps, lr[steps - 1])
    s1, s2 = schedule_features(lr)
    r1, r2 = schedule_features(rec)
    np.testing.assert_allclose(r1[steps - 1], s1[steps - 1], rtol=2e-3)
    np.testing.assert_allclose(r2[-1], s2[-1], rtol=1e-2)


def _frame():
    rows = []
    for run, N, T in (("a", 1e8, 2000), ("b", 4e8, 3000)):
        lr = cosine(T, 1e-3, warmup=200)
        for s in range(100, T + 1, 100):
            rows.append({"run": run, "N": N, "step": s, "lr": lr[s - 1],
                         "loss": 4.0 - 0.1 * np.log(s), "batch_tokens": 1000.0})
    return pd.DataFrame(rows)


def test_load_curves_features_warmup_rule_and_thinning():
    cd = load_curves(_frame())
    assert list(cd.runs.index) == ["a", "b"]
    assert cd.runs.loc["a", "warmup"] == 200
    t = cd.table
    # kept: step >= 2 x warmup (400)
    assert not t.loc[t["step"] < 400, "keep"].any() and t.loc[t["step"] >= 400, "keep"].all()
    np.testing.assert_allclose(t["D"], t["step"] * 1000.0)
    assert np.all(np.diff(t.loc[t["run"] == "a", "S1"]) > 0)
    th = load_curves(_frame(), thin=5)
    for run, g in th.kept.groupby("run"):
        assert g["step"].iloc[-1] == cd.runs.loc[run, "last_step"]  # the last is always kept
        assert len(g) == int(np.ceil(cd.runs.loc[run, "n_kept"] / 5))
    mf = load_curves(_frame(), min_fraction=0.5)
    assert (mf.kept["step"] >= 0.5 * mf.kept["run"].map(mf.runs["last_step"])).all()


@pytest.mark.parametrize("change, word", [
    (lambda d: d.drop(columns="lr"), "'lr'"),
    (lambda d: d.assign(loss=d["loss"].where(d.index != 3, -1.0)), "'loss'"),
    (lambda d: d.assign(lr=d["lr"].where(d.index != 2, np.nan)), "'lr'"),
    (lambda d: d.assign(step=d["step"].where(d.index != 4, 250.5)), "whole numbers"),
    (lambda d: pd.concat([d, d.iloc[[5]]]), "two checkpoints at step"),
    (lambda d: d.assign(N=d["N"].where(d.index != 6, 2e8)), "changes within the run"),
    (lambda d: d.iloc[:0], "no rows"),
])
def test_load_curves_errors_are_clear(change, word):
    with pytest.raises(sb.DataError, match=word):
        load_curves(change(_frame()))


def test_bundled_olmo_curves_load():
    df = sb.load_dataset("olmo_ladder_curves")
    cd = load_curves(df)
    assert len(cd.runs) == 24 and len(cd.table) == len(df)
    # every run's warmup is detected and the kept checkpoints start after 2 x warmup
    assert (cd.runs["warmup"] >= 100).all()
    k = cd.kept
    assert (k["step"] >= 2 * k["run"].map(cd.runs["warmup"])).all()
    assert 0.85 < cd.n / len(df) < 0.99
