"""Figures of a fit (matplotlib, imported lazily, in the one publication style of
:mod:`scaling_bayes.plots.style`). Functions never sample or fit: bands are quantiles of the
law's mean over the stored posterior draws.

Every ``plot_*`` takes a :class:`~scaling_bayes.posterior.fit.Fit` and ``ax=None`` (or ``axes``)
and returns the Figure. :func:`save_all` writes all of them (PNG and vector PDF);
:func:`save_figure` writes any one figure atomically; :func:`pyplot` is ``matplotlib.pyplot``
with the package's style, for figures of your own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scaling_bayes.decisions.allocation import check_allocatable, compute_optimal
from scaling_bayes.decisions.shape import at_aspect
from scaling_bayes.laws import SHAPE_REF_ASPECT
from scaling_bayes.plots.shape import plot_shape
from scaling_bayes.plots.style import (
    OKABE_ITO,
    light_log_ticks,
    pyplot,
    save_figure,
    superscript,
)
from scaling_bayes.posterior.draws import law_on_draws

_plt = pyplot

__all__ = [
    "OKABE_ITO",
    "plot_data_fit",
    "plot_isoflop",
    "plot_frontier",
    "plot_forecast",
    "plot_exponents",
    "figure_makers",
    "isoflop_groups",
    "plot_observed_vs_predicted",
    "save_all",
    "save_figure",
    "pyplot",
]

FRONTIER_RANGE = (1e18, 1e26)
CHINCHILLA_POINT = (5.76e23, 70e9)  # (C FLOPs, N params) of Chinchilla


def _new(ax, figsize=(6.0, 4.2)):
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    else:
        fig = ax.figure
    return fig, ax


#: Posterior draws (evenly thinned) behind the credible bands of a figure: the 5% and 95%
#: quantiles of 1000 draws are within ~0.7 percentage points of their level, invisible at a
#: figure's resolution, at a quarter of the cost of 4000 draws.
FIGURE_DRAWS = 1000


def _mean_loss(fit, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Law's mean loss per draw (at most :data:`FIGURE_DRAWS`, evenly thinned), (S, P)."""
    th = {k: np.asarray(v).reshape(-1) for k, v in fit.textbook_draws().items()}
    S = next(iter(th.values())).size
    if S > FIGURE_DRAWS:
        idx = np.round(np.linspace(0, S - 1, FIGURE_DRAWS)).astype(int)
        th = {k: v[idx] if v.size == S else v for k, v in th.items()}
    return np.exp(law_on_draws(fit.law, th, inputs))


def _band(ax, x, draws, color, label=None, level=0.9, lw=1.6, alpha=0.25):
    lo, med, hi = np.nanquantile(draws, [(1 - level) / 2, 0.5, (1 + level) / 2], axis=0)
    ax.fill_between(x, lo, hi, color=color, alpha=alpha, lw=0)
    ax.plot(x, med, color=color, lw=lw, label=label)


def _fmt_sci(v: float) -> str:
    """``v`` as ``2.5×10²⁰`` (plain Unicode text: no mathtext to parse when drawing)."""
    e = int(np.floor(np.log10(v)))
    m = v / 10**e
    p = "10" + superscript(e)
    return p if abs(m - 1) < 1e-9 else f"{m:.3g}×{p}"


def _law_label(fit) -> str:
    return f"{fit.law.name} law, 90% credible band"


# ----------------------------------------------------------------------------- data + fit
def plot_data_fit(fit, ax=None, n_curves: int = 5):
    """Observed loss vs model size (log x), coloured by training tokens, with the fitted mean
    loss at a few token counts and 90% credible bands. Single-variable laws: loss vs the input."""
    plt = _plt()
    import matplotlib.colors as mcolors

    fig, ax = _new(ax)
    law, data = fit.law, fit.data
    if len(law.inputs) == 1:
        v = law.inputs[0]
        x = data.get(v)
        ax.scatter(x, data.loss, s=14, color="0.35", alpha=0.7, label="observed", zorder=3)
        grid = np.geomspace(x.min() / 2, x.max() * 2, 200)
        _band(ax, grid, _mean_loss(fit, {v: grid}), OKABE_ITO[0], _law_label(fit))
        names = {
            "N": "model size N (parameters)",
            "D": "training data D (tokens)",
            "C": "training compute C (FLOPs)",
        }
        ax.set_xlabel(names.get(v, f"{v}: {law.input_descriptions[v]}"))
    else:
        N, D = data.get("N"), data.get("D")
        norm = mcolors.LogNorm(D.min(), D.max())
        cmap = plt.get_cmap("cividis")
        sc = ax.scatter(
            N, data.loss, c=D, cmap=cmap, norm=norm, s=14, alpha=0.85, edgecolors="none", zorder=3
        )
        cb = fig.colorbar(sc, ax=ax)
        cb.set_label("training data D (tokens)")
        grid = np.geomspace(N.min() / 1.5, N.max() * 1.5, 150)
        levels = np.geomspace(np.quantile(D, 0.05), np.quantile(D, 0.95), n_curves)
        # every curve in one evaluation of the law: (draws, levels, grid)
        curves = _mean_loss(fit, {"N": grid[None, :], "D": levels[:, None]})
        curves = curves.reshape(-1, *curves.shape[-2:])
        for i, d in enumerate(levels):
            col = cmap(norm(d))
            _band(ax, grid, curves[:, i], col, None, lw=1.4, alpha=0.2)
            ax.annotate(
                f"D={_fmt_sci(d)}",
                (grid[-1], np.median(curves[:, i, -1])),
                fontsize=7,
                color=col,
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
            )
        ax.plot([], [], color="0.3", lw=1.4, label=f"{law.name} law at fixed D, 90% band")
        ax.scatter([], [], color="0.5", s=14, label="observed runs")
        ax.set_xlabel("model size N (parameters)")
        ax.set_xlim(grid[0], grid[-1] * 4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("final loss (nats/token)")
    ax.set_title(f"Data and fitted {law.name} law")
    ax.legend(loc="upper right", frameon=False)
    _plain_log_y(ax)
    light_log_ticks(fig)
    return fig


def _plain_log_y(ax):
    import matplotlib.ticker as mticker

    ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%.2g"))
    ax.yaxis.set_minor_formatter(mticker.FormatStrFormatter("%.2g"))
    ax.tick_params(axis="y", which="minor", labelsize=7)


# ----------------------------------------------------------------------------- IsoFLOP
def isoflop_groups(fit, max_budgets: int = 9):
    """(budget value per group, boolean masks) for the data's IsoFLOP groups."""
    data = fit.data
    N, D = data.get("N"), data.get("D")
    C = data.C if data.C is not None else 6 * N * D
    if "C_isoflop_nominal" in data.extra.columns:
        nom = np.asarray(data.extra["C_isoflop_nominal"], dtype=float)
    else:  # runs within ~2% of one budget form an IsoFLOP group (log10 C rounded to 0.02)
        nom = np.round(np.log10(C) * 50)
    vals, counts = np.unique(nom[np.isfinite(nom)], return_counts=True)
    keep = vals[counts >= 3]
    if keep.size > max_budgets:
        keep = keep[np.round(np.linspace(0, keep.size - 1, max_budgets)).astype(int)]
    if "C_isoflop_nominal" in data.extra.columns:
        return [(c, nom == c) for c in keep]
    return [(float(np.median(C[nom == k])), nom == k) for k in keep]


def plot_isoflop(fit, ax=None):
    """Loss vs model size at fixed compute (the data's IsoFLOP budgets), with the law's 90%
    bands along ``D = C/(6N)`` and the posterior compute-optimal N (median, 90% interval)."""
    plt = _plt()
    import matplotlib.colors as mcolors

    fig, ax = _new(ax, (6.4, 4.4))
    data = fit.data
    N = data.get("N")
    groups = isoflop_groups(fit)
    if not groups:
        raise ValueError("no IsoFLOP groups (>= 3 runs at one compute budget) in the data")
    Cs = np.array([c for c, _ in groups])
    norm = mcolors.LogNorm(Cs.min(), Cs.max() * 1.0001)
    cmap = plt.get_cmap("viridis")
    alloc = compute_optimal(fit, Cs, warn=False)
    Nd, Ld = alloc.draws["N_opt"], alloc.draws["loss_opt"]
    # every budget's curve in one evaluation of the law: (draws, budgets, grid)
    grids = np.array([np.geomspace(N[m].min() / 1.3, N[m].max() * 1.3, 120) for _, m in groups])
    curves = _mean_loss(fit, {"N": grids, "D": Cs[:, None] / (6 * grids)})
    curves = curves.reshape(-1, *grids.shape)
    for i, (c, m) in enumerate(groups):
        col = cmap(norm(c) * 0.9)
        n = N[m]
        _band(ax, grids[i], curves[:, i], col, None, lw=1.3, alpha=0.2)
        ax.scatter(n, data.loss[m], color=col, s=16, edgecolors="white", linewidths=0.4, zorder=3)
        nq = np.nanquantile(Nd[:, i], [0.05, 0.5, 0.95])
        lq = np.nanmedian(Ld[:, i])
        ax.errorbar(
            [nq[1]],
            [lq],
            xerr=[[nq[1] - nq[0]], [nq[2] - nq[1]]],
            fmt="D",
            ms=5,
            color=col,
            mec="black",
            mew=0.6,
            capsize=2,
            zorder=4,
        )
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    cb = fig.colorbar(sm, ax=ax)
    cb.set_label("compute budget C (FLOPs)")
    ax.errorbar([], [], xerr=[], fmt="D", color="0.4", mec="black", label="optimal N (median, 90%)")
    ax.plot([], [], color="0.4", label=f"{fit.law.name} law, 90% band")
    ax.scatter([], [], color="0.4", s=16, label="observed runs")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_y(ax)
    ax.set_xlabel("model size N (parameters)")
    ax.set_ylabel("final loss (nats/token)")
    ax.set_title("IsoFLOP profiles (D = C / 6N)")
    ax.legend(loc="upper right", frameon=False)
    light_log_ticks(fig)
    return fig


# ----------------------------------------------------------------------------- frontier
def plot_frontier(fit, axes=None, compute_range=FRONTIER_RANGE):
    """Compute-optimal N_opt(C) and D_opt(C) from 1e18 to 1e26 FLOPs with 50% and 90% bands,
    against the published Hoffmann (N ∝ C^0.5 through Chinchilla) and Kaplan (N ∝ C^0.73)
    allocations."""
    plt = _plt()
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    else:
        fig = axes[0].figure
    C = np.geomspace(*compute_range, 60)
    res = compute_optimal(fit, C, warn=False)
    c0, n0 = CHINCHILLA_POINT
    ref_N = {
        "Hoffmann et al. 2022 (N ∝ C⁰·⁵, through Chinchilla)": n0 * (C / c0) ** 0.5,
        "Kaplan et al. 2020 (N ∝ C⁰·⁷³)": 1.3e9 * (C / 8.64e19) ** 0.73,
    }
    styles = [dict(color=OKABE_ITO[1], ls="--"), dict(color=OKABE_ITO[3], ls=":")]
    data_C = 6 * fit.data.get("N") * fit.data.get("D")
    for ax, q, lab in (
        (axes[0], "N_opt", "compute-optimal model size N (parameters)"),
        (axes[1], "D_opt", "compute-optimal training data D (tokens)"),
    ):
        x = res.draws[q]
        _band(
            ax,
            C,
            x,
            OKABE_ITO[0],
            f"{fit.law.name} posterior median, 50%/90% bands",
            level=0.9,
            alpha=0.18,
        )
        lo, hi = np.nanquantile(x, [0.25, 0.75], axis=0)
        ax.fill_between(C, lo, hi, color=OKABE_ITO[0], alpha=0.3, lw=0)
        for (name, refN), st in zip(ref_N.items(), styles, strict=False):
            ax.plot(C, refN if q == "N_opt" else C / (6 * refN), lw=1.4, label=name, **st)
        ax.plot(
            [c0],
            [n0 if q == "N_opt" else c0 / (6 * n0)],
            "*",
            color="black",
            ms=10,
            label="Chinchilla (70B, 1.4T tokens)",
        )
        ax.axvspan(
            data_C.min(),
            data_C.max(),
            color="0.85",
            alpha=0.5,
            lw=0,
            label="compute range of the data",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training compute C (FLOPs)")
        ax.set_ylabel(lab)
    axes[0].set_title("Compute-optimal model size")
    axes[1].set_title("Compute-optimal training tokens")
    axes[0].legend(loc="upper left", frameon=False)
    light_log_ticks(fig)
    return fig


# ----------------------------------------------------------------------------- forecast fan
def plot_forecast(fit, ax=None, compute_range=FRONTIER_RANGE):
    """Fan chart of the compute-optimal loss vs compute with 50/80/95% credible bands; beyond
    the data the bands carry the fit's structural error term (``fit.extrapolation``), so the fan
    widens with the distance from the data."""
    fig, ax = _new(ax)
    C = np.geomspace(*compute_range, 80)
    res = compute_optimal(fit, C, warn=False)
    L = res.draws["loss_opt"]
    ext = getattr(fit, "extrapolation", None)
    if ext is not None:
        at = {"N": res.draws["N_opt"], "D": res.draws["D_opt"]}
        L = L * np.exp(ext.offsets(at, L.shape[0], fit.config.seed, paired=True))
    col = OKABE_ITO[0]
    for level, alpha in ((0.95, 0.15), (0.8, 0.25), (0.5, 0.4)):
        lo, hi = np.nanquantile(L, [(1 - level) / 2, (1 + level) / 2], axis=0)
        ax.fill_between(C, lo, hi, color=col, alpha=alpha, lw=0, label=f"{level:.0%} credible")
    ax.plot(C, np.nanmedian(L, axis=0), color=col, lw=1.6, label="posterior median")
    data_C = 6 * fit.data.get("N") * fit.data.get("D")
    ax.scatter(
        data_C,
        fit.data.loss,
        s=8,
        color="0.55",
        alpha=0.6,
        label="observed runs (any allocation)",
        zorder=1,
    )
    ax.axvline(
        CHINCHILLA_POINT[0], color=OKABE_ITO[1], ls="--", lw=1, label="Chinchilla budget (5.76e23)"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_y(ax)
    import matplotlib.ticker as mticker

    ax.yaxis.set_minor_locator(mticker.LogLocator(base=10, subs=np.arange(1.0, 10.0, 0.2)))
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel("compute-optimal loss (nats/token)")
    ax.set_title(f"Forecast on the compute-optimal frontier ({fit.law.name})")
    ax.legend(loc="upper right", frameon=False)
    light_log_ticks(fig)
    return fig


# ----------------------------------------------------------------------------- exponents
def _exponent_names(fit) -> tuple[str, str]:
    names = fit.law.param_names
    ex = [n for n in names if n.startswith(("alpha", "beta"))]
    if len(ex) >= 2:
        return ex[0], ex[1]
    rest = [n for n in names if n not in ex]
    return (ex + rest)[0], (ex + rest)[1]


def plot_exponents(fit, fig=None):
    """Joint posterior of the two exponents (hexbin) with marginal histograms."""
    plt = _plt()
    if fig is None:
        fig = plt.figure(figsize=(5.2, 5.2), layout="constrained")
    gs = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4))
    ax = fig.add_subplot(gs[1, 0])
    axx = fig.add_subplot(gs[0, 0], sharex=ax)
    axy = fig.add_subplot(gs[1, 1], sharey=ax)
    a, b = _exponent_names(fit)
    x = fit.posterior[a].reshape(-1)
    y = fit.posterior[b].reshape(-1)
    ax.hexbin(x, y, gridsize=30, cmap="cividis", mincnt=1)
    desc = {p.name: p.description for p in fit.law.params}
    ax.set_xlabel(f"{a} ({desc.get(a, '')})".replace(" ()", ""))
    ax.set_ylabel(f"{b} ({desc.get(b, '')})".replace(" ()", ""))
    r = np.corrcoef(x, y)[0, 1]
    ax.text(
        0.03,
        0.97,
        f"corr = {r:.2f}\n{x.size} draws",
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        bbox=dict(facecolor="white", edgecolor="none", alpha=0.8),
    )
    axx.hist(x, bins=40, color=OKABE_ITO[0], alpha=0.8)
    axy.hist(y, bins=40, color=OKABE_ITO[0], alpha=0.8, orientation="horizontal")
    for q in np.quantile(x, [0.05, 0.95]):
        axx.axvline(q, color=OKABE_ITO[1], ls="--", lw=1)
    for q in np.quantile(y, [0.05, 0.95]):
        axy.axhline(q, color=OKABE_ITO[1], ls="--", lw=1)
    axx.tick_params(labelbottom=False, left=False, labelleft=False)
    axy.tick_params(labelleft=False, bottom=False, labelbottom=False)
    for s in ("top", "right", "left"):
        axx.spines[s].set_visible(False)
    for s in ("top", "right", "bottom"):
        axy.spines[s].set_visible(False)
    axx.set_title(f"Posterior of the exponents ({fit.law.name}); dashed: 90% interval", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- any law
def plot_observed_vs_predicted(fit, ax=None, level: float = 0.9):
    """Observed loss against the law's posterior-median mean loss for every run (log-log), with
    ``level`` credible intervals of the mean; works for a law of any inputs."""
    fig, ax = _new(ax, figsize=(5.0, 4.6))
    data = fit.data
    mean = _mean_loss(fit, {v: data.get(v) for v in fit.law.inputs})
    lo, med, hi = np.quantile(mean, [(1 - level) / 2, 0.5, (1 + level) / 2], axis=0)
    ax.errorbar(
        med,
        data.loss,
        xerr=[med - lo, hi - med],
        fmt="o",
        ms=3.5,
        color=OKABE_ITO[0],
        ecolor="0.6",
        elinewidth=0.8,
        alpha=0.8,
        label=f"runs (posterior median, {level:.0%} interval of the mean)",
    )
    span = [min(data.loss.min(), lo.min()) / 1.02, max(data.loss.max(), hi.max()) * 1.02]
    ax.plot(span, span, color="0.3", lw=1, ls="--", label="observed = predicted")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(span)
    ax.set_ylim(span)
    ax.set_xlabel(f"predicted loss (nats/token), {fit.law.name} law")
    ax.set_ylabel("observed final loss (nats/token)")
    ax.set_title(f"Observed vs predicted loss, {data.n} runs")
    ax.legend(loc="upper left", frameon=False)
    import matplotlib.ticker as mticker

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(mticker.FormatStrFormatter("%.2g"))
        axis.set_minor_formatter(mticker.FormatStrFormatter("%.2g"))
    ax.tick_params(which="minor", labelsize=7)
    light_log_ticks(fig)
    return fig


# ----------------------------------------------------------------------------- all
def _at_reference_aspect(make):
    """A figure maker of the base law, applied to a shape-law fit at aspect ratio 64."""

    def wrapped(fit):
        fig = make(at_aspect(fit, SHAPE_REF_ASPECT))
        for ax in fig.axes[:1]:
            ax.set_title(
                f"{ax.get_title()} (models of aspect ratio {SHAPE_REF_ASPECT:g})", fontsize=9
            )
        return fig

    return wrapped


def _shape_factor(fit):
    return plot_shape(None, fit)


def figure_makers(fit) -> dict:
    """``{name: function(fit) -> Figure}`` for every standard figure that applies to the fit.

    Laws of N and D (or of one input) get the data-and-fit figure and the exponents;
    allocation figures (IsoFLOP, frontier, forecast) need a law of N and D, and the IsoFLOP
    figure also >= 3 runs at some compute budget. Shape laws
    get the figures of their base law at aspect ratio 64, the shape factor and observed vs
    predicted loss. Laws with other inputs get observed vs predicted loss and the posterior of
    two parameters."""
    law = fit.law
    makers = {"observed_vs_predicted": plot_observed_vs_predicted}
    if law.reference_view is not None and law.base_law.allocatable:
        base_makers = figure_makers(at_aspect(fit, SHAPE_REF_ASPECT))
        for name in base_makers:
            if name not in ("observed_vs_predicted", "exponents"):
                makers[name] = _at_reference_aspect(base_makers[name])
        makers["exponents"] = plot_exponents
        makers["shape_factor"] = _shape_factor
        return makers
    if len(law.inputs) == 1 or law.allocatable:
        makers = {"data_fit": plot_data_fit}  # shows the same runs, against N or the input
    if len(law.param_names) >= 2:
        makers["exponents"] = plot_exponents
    try:
        check_allocatable(law)
    except ValueError:
        return makers
    makers.update({"frontier": plot_frontier, "forecast": plot_forecast})
    if isoflop_groups(fit):
        makers["isoflop"] = plot_isoflop
    return makers


def save_all(fit, out_dir, formats=("png", "pdf"), dpi: int = 150) -> list[Path]:
    """Write every figure that applies to the fit's law into ``out_dir``; return the paths.

    Allocation figures (IsoFLOP, frontier, forecast) need a law of N and D; the IsoFLOP figure
    also needs >= 3 runs at some compute budget. Files are written atomically
    (:func:`scaling_bayes.plots.style.save_figure`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in figure_makers(fit).items():
        written += save_figure(make(fit), out / name, formats, dpi=dpi, close=True)
    return written
