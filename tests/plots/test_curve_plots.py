"""plot_forecast_run: the forecast bands of a curve fit, single and compared (issue 17)."""

import pytest

import scaling_bayes as sb
from scaling_bayes.data.schedules import cosine, wsd
from scaling_bayes.model.curves import simulate_curves
from scaling_bayes.plots.curves import plot_forecast_run
from scaling_bayes.plots.style import save_figure

TRUTH = {"E": 2.0, "A": 400.0, "alpha_N": 0.3, "B": 2.2, "alpha_S": 0.5, "C": 0.15,
         "gamma": 0.0}


def test_plot_forecast_run(tmp_path):
    # the shapes of tests/inference/test_fit_curves.py's ladder (compiled programs shared)
    runs = {}
    for N in (1e8, 2e8, 4e8, 8e8):
        for T in (3000, 9000):
            runs[f"{N:.0e}-{T}"] = (N, cosine(T, 1e-3, warmup=150, final=0.1))
        runs[f"{N:.0e}-wsd"] = (N, wsd(9000, 1e-3, warmup=150, decay_frac=0.2))
    df = simulate_curves(TRUTH, runs, every=150, seed=0)
    fit = sb.fit_curves(df, seed=0, chains=2, warmup=250, draws=200, warn=False)
    run = df[df["run"] == "8e+08-9000"].assign(D=lambda d: d["step"] * 5e5)
    fc = sb.forecast_run(fit, run="8e+08-9000", lr=runs["8e+08-9000"][1], tokens=9000 * 5e5)
    fig = plot_forecast_run(fc, observed=run, title="8e8 run")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "loss" in ax.get_ylabel()
    assert fig.axes[1].get_ylabel() == "learning rate"
    paths = save_figure(fig, tmp_path / "fc", ("png",), close=True)
    assert paths[0].stat().st_size > 10_000
    cmp = sb.forecast_run(fit, N=1.6e9, lr={"cosine": cosine(9000, 1e-3, warmup=150),
                                            "wsd": wsd(9000, 1e-3, warmup=150)})
    fig = plot_forecast_run(cmp, x="step")
    assert "optimizer step" in fig.axes[1].get_xlabel() and len(fig.axes[1].lines) == 2
    with pytest.raises(ValueError, match="x must be"):
        plot_forecast_run(fc, x="flops")
