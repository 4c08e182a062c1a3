"""Architecture shape (issue 9): the shape laws, their recovery of a planted effect and of its
absence, the derived quantities, parameter counts and the ``shape`` CLI command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FAST, SHARED_DATA, TRUTH

import scaling_bayes as sb
from scaling_bayes.cli.main import main
from scaling_bayes.data.observations import MissingColumnError, NonPositiveError, load_data
from scaling_bayes.decisions import shape
from scaling_bayes.evaluation import shape_study
from scaling_bayes.laws import SHAPE_REF_ASPECT, get_law, with_shape

PLANTED = {"shape_slope": 0.04, "shape_curv": 0.008}  # best aspect 64 * 2^-2.5 = 11.3
NONE = {"shape_slope": 0.0, "shape_curv": 0.0}


def shaped_sweep(effect, n: int = 60, sigma: float = 0.01, seed: int = 1) -> pd.DataFrame:
    """Chinchilla at TRUTH times a shape factor; widths/depths realise the aspect ratios."""
    from scaling_bayes._core.env import enable_x64_on_cpu

    enable_x64_on_cpu()
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7.5, 10.0, n)
    D = 10 ** rng.uniform(9, 11.5, n)
    aspect = 2 ** rng.uniform(1.5, 8.5, n)
    width = np.cbrt(N * aspect / 12)
    theta = {**TRUTH["chinchilla"], **effect}
    mu = np.asarray(
        get_law("chinchilla_shape").log_loss(
            {k: np.float64(v) for k, v in theta.items()}, {"N": N, "D": D, "aspect": aspect}
        )
    )
    loss = np.exp(mu + sigma * rng.standard_normal(n))
    return pd.DataFrame(
        {"N": N, "D": D, "loss": loss, "d_model": width, "n_layers": width / aspect}
    )


@pytest.fixture(scope="module")
def planted():
    return shape_study.shape_analysis(shaped_sweep(PLANTED), "chinchilla", seed=0, warn=False, **FAST)


@pytest.fixture(scope="module")
def absent():
    return shape_study.shape_analysis(
        shaped_sweep(NONE, seed=2), "chinchilla", seed=0, warn=False, **FAST
    )


def _interval(fit, name, level=0.9):
    d = fit.draws(name).reshape(-1)
    return np.quantile(d, [(1 - level) / 2, (1 + level) / 2])


# ----------------------------------------------------------------------------- the laws
@pytest.mark.parametrize("name", ["chinchilla_shape", "kaplan_shape"])
def test_sampler_and_textbook_forms_agree(name):
    import jax.numpy as jnp

    from scaling_bayes._core.env import enable_x64_on_cpu

    enable_x64_on_cpu()
    law = get_law(name)
    rng = np.random.default_rng(0)
    positive = {"E", "alpha", "beta", "alpha_D", "r_ND"}
    phi = {
        s.name: jnp.asarray(
            abs(rng.normal(0.3, 0.1)) + (1.5 if s.name == "E" else 0.0)
            if s.name in positive
            else rng.normal(0, 0.3)
        )
        for s in law.sites
    }
    ref = {"N": 1e8, "D": 1e10, "aspect": 23.0}
    N, D = np.exp(rng.uniform(17, 22, 30)), np.exp(rng.uniform(20, 26, 30))
    a = np.exp(rng.uniform(0, 6, 30))
    x = {"N": jnp.log(N / ref["N"]), "D": jnp.log(D / ref["D"]), "aspect": jnp.log(a / 23.0)}
    theta = law.to_textbook(phi, ref)
    np.testing.assert_allclose(
        law.sampler_log_loss(phi, x), law.log_loss(theta, {"N": N, "D": D, "aspect": a}), atol=1e-12
    )
    # at aspect 64 the factor is 1: the base law with the same textbook parameters
    base = law.base_law.log_loss(theta, {"N": N, "D": D})
    np.testing.assert_allclose(
        law.log_loss(theta, {"N": N, "D": D, "aspect": np.full(30, 64.0)}), base, atol=1e-12
    )


def test_shape_laws_are_registered_with_documented_parameters():
    laws = sb.list_laws()
    assert "chinchilla_shape" in laws and "kaplan_shape" in laws
    law = get_law("chinchilla_shape")
    assert law.inputs == ("N", "D", "aspect") and law.base_law is get_law("chinchilla")
    assert law.param_names[-2:] == ("shape_slope", "shape_curv")
    priors = {s.name: s.prior for s in law.sites}
    assert priors["shape_slope_ref"][1]["loc"] == 0 and priors["shape_curv"][1]["loc"] == 0
    assert with_shape(get_law("power_N_E"), name="power_N_E_shape_test").inputs == ("N", "aspect")


# ----------------------------------------------------------------------------- data
def test_aspect_from_width_depth_or_column_and_clear_errors():
    df = pd.DataFrame(
        {
            "N": [1e8, 2e8],
            "D": [1e10, 2e10],
            "loss": [3.0, 2.9],
            "d_model": [512, 1024],
            "n_layers": [8, 16],
        }
    )
    np.testing.assert_allclose(load_data(df).get("aspect"), [64, 64])
    np.testing.assert_allclose(load_data(df.assign(aspect=[10, 20])).get("aspect"), [10, 20])
    with pytest.raises(MissingColumnError, match="aspect.*width and depth"):
        load_data(df.drop(columns="n_layers")).get("aspect")
    with pytest.raises(NonPositiveError, match="'n_layers'.*row 1"):
        load_data(df.assign(n_layers=[8, 0])).get("aspect")


def test_gemstones_nonembedding_count():
    g = sb.load_dataset("gemstones2025")
    body = g["N_nonembedding"]
    assert (body > 0).all() and (body < g["N"]).all()
    exact = 15 * g["depth"] * g["width"] ** 2 + (2 * g["depth"] + 1) * g["width"]
    ok = g["width"] != 384  # the two width-384 shapes have a different attention block
    np.testing.assert_array_equal(body[ok], exact[ok])


# ----------------------------------------------------------------------------- recovery
def test_planted_shape_effect_is_recovered(planted):
    f = planted.with_shape
    assert f.divergences == 0 and not f.check()
    for name, truth in PLANTED.items():
        lo, hi = _interval(f, name)
        assert lo < truth < hi, (name, lo, hi, truth)
    assert planted.supported
    c = planted.comparison
    assert c.index[0] == "chinchilla_shape" and c["elpd_diff"].iloc[1] > 2 * c["dse"].iloc[1]
    best = planted.best
    assert best["q_lo"] < SHAPE_REF_ASPECT * 2**-2.5 < best["q_hi"]
    # textbook amplitudes are those of aspect ratio 64, where the factor is 1
    base = shape.at_aspect(f, SHAPE_REF_ASPECT)
    assert base.law.name == "chinchilla"
    for name in ("E", "A", "B", "alpha", "beta"):
        np.testing.assert_allclose(base.draws(name), f.draws(name), rtol=1e-10)
        lo, hi = _interval(base, name, 0.98)
        assert lo < TRUTH["chinchilla"][name] < hi, (name, lo, hi)


def test_absence_of_a_shape_effect_is_recovered(absent):
    f = absent.with_shape
    assert f.divergences == 0 and not f.check()
    for name in PLANTED:
        lo, hi = _interval(f, name)
        assert lo < 0 < hi, (name, lo, hi)
    assert not absent.supported
    eff = absent.effect
    assert (eff["penalty_pct_q50"] < 1.0).all()  # no aspect ratio costs a credible 1%


def test_effect_table_and_range_agree_with_the_posterior(planted):
    f = planted.with_shape
    eff = shape.shape_effect(f, [4.0, 11.3, 128.0], N=1e9, D=2e10, level=0.8)
    assert list(eff.columns[:3]) == ["penalty_pct_q10", "penalty_pct_q50", "penalty_pct_q90"]
    # penalties are >= 0 and smallest near the planted optimum
    assert (eff.filter(like="penalty_pct").to_numpy() >= -1e-9).all()
    assert eff["penalty_pct_q50"].idxmin() == 11.3
    # the penalty at 128 is what the law says: loss ratio at the posterior medians
    th = {k: np.median(v) for k, v in f.textbook_draws().items()}
    L = lambda r: float(f.law(th, N=1e9, D=2e10, aspect=r))  # noqa: E731
    approx = 100 * (L(128.0) / L(float(planted.best["median"])) - 1)
    assert abs(eff.loc[128.0, "penalty_pct_q50"] - approx) < 0.2 * approx
    rng = shape.shape_range(f, [1e20, 1e22], tolerance=0.01)
    assert (rng["aspect_lo"] <= rng["aspect_best"]).all()
    assert (rng["aspect_best"] <= rng["aspect_hi"]).all()
    # widths/depths realise N_opt at the ends of the range with the fitted count (a = 12)
    counts = shape.ParamCount.from_data(f.data.get("width"), f.data.get("depth"), f.data.get("N"))
    np.testing.assert_allclose(counts.a, 12, rtol=1e-6)
    np.testing.assert_allclose(
        counts.params(rng["width_hi"], rng["depth_hi"]), rng["N_opt"], rtol=1e-6
    )
    np.testing.assert_allclose(rng["width_hi"] / rng["depth_hi"], rng["aspect_hi"], rtol=1e-6)


def test_shape_figure_has_labelled_axes(planted):
    fig = sb.plots.plot_shape(planted.without, planted.with_shape)
    left, right = fig.axes[:2]  # then the colour bar
    for ax in (left, right):
        assert "aspect ratio" in ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_xscale() == "log"
    assert "%" in left.get_ylabel() and "factor" in right.get_ylabel()
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_functions_reject_fits_without_a_shape_term(small_fit):
    with pytest.raises(ValueError, match="no shape term"):
        shape.shape_effect(small_fit)
    with pytest.raises(ValueError, match="no shape term"):
        shape.at_aspect(small_fit, 64)


def test_bad_arguments_name_themselves(planted):
    f = planted.with_shape
    with pytest.raises(ValueError, match="aspect must be positive"):
        shape.at_aspect(f, -1)
    with pytest.raises(ValueError, match="level"):
        shape.best_aspect(f, level=2)
    with pytest.raises(ValueError, match="tolerance"):
        shape.shape_effect(f, tolerance=0)


# ----------------------------------------------------------------------------- counts
@pytest.mark.skipif(
    not (SHARED_DATA / "chinchilla_model_configs.csv").exists(), reason="needs ../shared/data"
)
def test_param_counts_relate_chinchilla_shapes_to_sizes():
    m = pd.read_csv(SHARED_DATA / "chinchilla_model_configs.csv")
    N = m["params_M_label"] * 1e6
    pc = shape.ParamCount.from_data(m["d_model"], m["n_layers"], N)
    assert 11 < pc.a < 14  # close to the textbook 12 (4x MLP)
    rel = np.abs(pc.params(m["d_model"], m["n_layers"]) / N - 1)
    assert np.median(rel) < 0.05 and rel.max() < 0.15
    width, depth = pc.shape_for(N, m["d_model"] / m["n_layers"])
    assert np.max(np.abs(width / m["d_model"] - 1)) < 0.1
    assert np.max(np.abs(depth / m["n_layers"] - 1)) < 0.1


# ----------------------------------------------------------------------------- CLI
def test_cli_shape_end_to_end(tmp_path, capsys, planted):
    csv = tmp_path / "sweep.csv"
    df = shaped_sweep(PLANTED).assign(kind="main")
    pd.concat([df, df.head(5).assign(kind="ablation", loss=9.9)]).to_csv(csv, index=False)
    out = tmp_path / "out"
    code = main(
        [
            "shape",
            str(csv),
            "--where",
            "kind=main",
            "--chains",
            "4",
            "--warmup",
            "500",
            "--draws",
            "1000",
            "--out",
            str(out),
            "--no-progress",
            "--budgets",
            "1e21",
        ]
    )
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "the data support a shape term" in stdout and "best aspect ratio" in stdout
    for name in (
        "shape_comparison.csv",
        "shape_effect.csv",
        "shape_range.csv",
        "shape.png",
        "shape.pdf",
        "fit_chinchilla_shape.nc",
    ):
        assert (out / name).exists(), name
    saved = sb.load_fit(out / "fit_chinchilla_shape.nc")
    assert saved.data.n == 60  # the ablation rows were filtered out
    np.testing.assert_array_equal(
        saved.draws("shape_slope"), planted.with_shape.draws("shape_slope")
    )


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--where", "nope=1"], "no column 'nope'"),
        (["--where", "kind=other"], "no row matches"),
        (["--law", "power_N"], "cannot be attached|unknown law"),
        (["--tolerance", "2"], "--tolerance"),
    ],
)
def test_cli_shape_errors_are_one_line(tmp_path, capsys, extra, match):
    csv = tmp_path / "sweep.csv"
    shaped_sweep(NONE).assign(kind="main").to_csv(csv, index=False)
    code = main(["shape", str(csv), *extra])
    _, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scaling-bayes: error:")
    import re

    assert re.search(match, lines[0]), lines[0]


def test_cli_shape_needs_shape_columns(tmp_path, capsys):
    csv = tmp_path / "plain.csv"
    shaped_sweep(NONE).drop(columns=["d_model", "n_layers"]).to_csv(csv, index=False)
    code = main(["shape", str(csv)])
    _, err = capsys.readouterr()
    assert code == 2 and "width and depth" in err


@pytest.mark.slow
def test_leave_one_shape_out_prefers_the_true_model():
    """Five shapes, each with 12 runs: held-out shapes are predicted better with the planted
    shape term, and not credibly better without one when none is planted."""
    rng = np.random.default_rng(5)
    shapes = [(256, 64), (512, 32), (1024, 16), (2048, 8), (4096, 4)]  # aspect 4 .. 1024

    def sweep(effect):
        rows = []
        for w, d in shapes:
            df = shaped_sweep(effect, n=12, seed=int(rng.integers(1 << 30)))
            rows.append(df.assign(d_model=w, n_layers=d))
        df = pd.concat(rows, ignore_index=True)
        aspect = (df["d_model"] / df["n_layers"]).to_numpy(float)
        theta = {k: np.float64(v) for k, v in {**TRUTH["chinchilla"], **effect}.items()}
        mu = np.asarray(
            get_law("chinchilla_shape").log_loss(
                theta, {"N": df["N"].to_numpy(), "D": df["D"].to_numpy(), "aspect": aspect}
            )
        )
        return df.assign(loss=np.exp(mu + 0.01 * rng.standard_normal(len(df))))

    cv = shape_study.shape_cv(sweep(PLANTED), seed=0, chains=2)
    assert cv.index[0] == "chinchilla_shape" and cv["n_folds"].iloc[0] == 5
    assert cv["elpd_diff"].iloc[1] > 2 * cv["dse"].iloc[1]
    cv0 = shape_study.shape_cv(sweep(NONE), seed=0, chains=2)
    shape_credibly_better = (
        cv0.index[0] == "chinchilla_shape" and cv0["elpd_diff"].iloc[1] > 2 * cv0["dse"].iloc[1]
    )
    assert not shape_credibly_better, cv0


def test_compare_gives_shape_laws_allocations(planted):
    res = sb.compare({"plain": planted.without, "shape": planted.with_shape}, budgets=1e22)
    assert np.isfinite(res.table.loc["shape", "a"])
    assert set(res.allocations["method"]) == {"plain", "shape"}
    assert any("aspect ratio 64" in n for n in res.notes)


def test_standard_figures_of_a_shape_fit(planted, tmp_path):
    """The fit command's figures: base-law figures at aspect 64, the shape factor, observed vs
    predicted; every axis labelled."""
    from scaling_bayes.plots import fits as plots

    names = set(plots.figure_makers(planted.with_shape))
    assert {"observed_vs_predicted", "data_fit", "frontier", "exponents", "shape_factor"} <= names
    written = plots.save_all(planted.with_shape, tmp_path, formats=("png",))
    assert {p.stem for p in written} == names


def test_predict_takes_the_aspect_ratio(planted):
    f = planted.with_shape
    pred = sb.predict(f, N=1e9, D=[2e10, 2e10], aspect=[8.0, 128.0])
    law = shape.at_aspect(f, 128.0)
    ref = sb.predict(law, N=1e9, D=2e10)
    np.testing.assert_allclose(pred["mean"].iloc[1], ref["mean"].iloc[0], rtol=1e-10)
    with pytest.raises(ValueError, match="missing aspect"):
        sb.predict(f, N=1e9, D=2e10)
    with pytest.raises(ValueError, match="does not use foo"):
        sb.predict(f, N=1e9, D=2e10, aspect=8.0, foo=1.0)
