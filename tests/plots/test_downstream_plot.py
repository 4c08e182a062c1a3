"""The downstream figure, drawn from a hand-made posterior (no sampling)."""

from __future__ import annotations

import numpy as np

import scaling_bayes as sb
from scaling_bayes.data.downstream import downstream_table, seed_noise
from scaling_bayes.plots.downstream import plot_downstream
from scaling_bayes.posterior.downstream import DownstreamFit


def _fake_fit(mode="chained"):
    df = sb.load_dataset("olmo_ladder")
    d = downstream_table(df[df["size"] != "1B"], "bpb_mmlu_avg_test", "acc_mmlu_avg_test")
    rng = np.random.default_rng(0)
    S = (2, 50)
    post = {"E": 0.5 + 0.05 * rng.random(S), "lnA0": -1.0 + 0.1 * rng.standard_normal(S),
            "lnB0": -0.9 + 0.1 * rng.standard_normal(S), "alpha": 0.3 + 0.02 * rng.random(S),
            "beta": 0.24 + 0.02 * rng.random(S), "sigma_loss": np.full(S, 0.01),
            "m": -0.56 + 0.02 * rng.standard_normal(S), "k": 4.8 + 0.1 * rng.random(S),
            "u": 0.75 + 0.05 * rng.random(S), "sigma_metric": np.full(S, 0.003),
            "c0": -1 + 0.1 * rng.random(S), "bN": 0.3 + 0.01 * rng.random(S),
            "bD": 0.3 + 0.01 * rng.random(S)}
    post["L0"] = np.exp(np.log(np.median(d.loss)) + post["m"])
    post["ceiling"] = 0.25 + 0.75 * post["u"]
    return DownstreamFit(
        mode=mode, data=d, floor=0.25, ceiling=None,
        ref={"N0": float(np.exp(np.log(d.N).mean())), "D0": float(np.exp(np.log(d.D).mean())),
             "log_ref": float(np.log(np.median(d.loss)))},
        noise_floor=seed_noise(d), posterior=post,
        sample_stats={"diverging": np.zeros(S, bool)},
        config={"chains": 2, "warmup": 0, "draws": 50, "seed": 0, "target_accept": 0.9}), df


def test_figure_has_both_panels_with_labels(tmp_path):
    fit, df = _fake_fit()
    fig = plot_downstream(fit, df[df["size"] == "1B"])
    a, b = fig.axes[:2]
    assert a.get_xscale() == "log" and "FLOPs" in a.get_xlabel()
    assert "acc_mmlu_avg_test" in a.get_ylabel() and "bpb_mmlu_avg_test" in b.get_xlabel()
    assert any("N = 1.28B" in t.get_text() for t in a.get_legend().get_texts())
    assert "seed sd" in a.get_title(loc="left")
    fig.savefig(tmp_path / "f.png")


def test_direct_fit_has_one_panel():
    fit, _ = _fake_fit("direct")
    fig = plot_downstream(fit)
    assert len(fig.axes) == 1
