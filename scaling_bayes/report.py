"""One self-contained HTML report of a fit: data, settings, diagnostics, parameters, allocation,
figures (embedded as PNG), ready to attach to a paper draft or a planning document.

The report computes nothing new about the posterior except the allocation table and the
posterior predictive check (both with explicit seeds); figures come from
:mod:`scaling_bayes.plots`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from scaling_bayes._core.io import atomic_write
from scaling_bayes.decisions.allocation import check_allocatable, compute_optimal
from scaling_bayes.evaluation.checks import posterior_predictive
from scaling_bayes.plots import fits as plots
from scaling_bayes.plots.checks import plot_predictive_check
from scaling_bayes.plots.style import figure_bytes

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:0.2em} h2{font-size:1.25em;border-bottom:1px solid #ddd;
padding-bottom:0.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:0.9em;margin:0.6em 0}
th,td{border:1px solid #ddd;padding:0.25em 0.6em;text-align:right} th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left} .ok{color:#009E73;font-weight:600}
.bad{color:#D55E00;font-weight:600} figure{margin:1em 0} figcaption{font-size:0.9em;color:#555}
img{max-width:100%} code{background:#f5f5f5;padding:0 0.2em} .muted{color:#666;font-size:0.9em}
"""

_CAPTIONS = {
    "data_fit": "Observed runs and the fitted law at fixed training tokens, with 90% credible "
    "bands.",
    "isoflop": "IsoFLOP profiles: loss against model size at fixed compute, with 90% bands and "
    "the posterior median optimum (90% interval).",
    "frontier": "Compute-optimal model size and training tokens with 50%/90% bands, against the "
    "published Chinchilla (N ∝ C^0.5) and Kaplan (N ∝ C^0.73) allocations.",
    "forecast": "Loss at the compute-optimal allocation with 50/80/95% credible bands.",
    "exponents": "Joint posterior of the exponents with marginal 90% intervals.",
    "posterior_predictive": "Posterior predictive check: residuals of log-loss against log N, "
    "log D and log C with the 90% predictive band, and the PIT histogram.",
}


def _png(fig) -> str:
    return base64.b64encode(figure_bytes(fig, "png", dpi=110, close=True)).decode("ascii")


def _table(df: pd.DataFrame, index: bool = True) -> str:
    return df.to_html(index=index, border=0, float_format=lambda v: f"{v:.5g}", na_rep="")


def build_report(
    fit,
    *,
    budgets: Sequence[float] = (5.76e23, 1e24, 1e26),
    seed: int = 0,
    title: str | None = None,
) -> str:
    """The report as an HTML string (figures embedded; no external files or links needed)."""
    esc = html.escape
    law, data, cfg = fit.law, fit.data, fit.config
    title = title or f"Bayesian fit of the {law.name} scaling law"
    parts = [
        f"<h1>{esc(title)}</h1>",
        f"<p><b>{esc(law.formula)}</b> — {esc(law.description)}.</p>",
    ]

    # data overview
    frame = data.to_frame()
    cols = [c for c in ("N", "D", "C", "loss") if c in frame]
    overview = pd.DataFrame(
        {c: [frame[c].min(), frame[c].median(), frame[c].max()] for c in cols},
        index=["min", "median", "max"],
    ).T
    parts += [
        "<h2>Data</h2>",
        f"<p>{data.n} runs from <code>{esc(data.source)}</code>; "
        f"{esc(data.flop_convention)}. Data hash <code>{fit.meta.get('data_hash', '')[:16]}"
        "</code>.</p>",
        _table(overview),
    ]

    # diagnostics
    summary = fit.summary()
    problems = fit.check()
    status = (
        '<span class="ok">clean</span>'
        if not problems
        else f'<span class="bad">{len(problems)} problem(s)</span>'
    )
    parts += [
        "<h2>Diagnostics</h2>",
        f"<p>{status}: {fit.divergences} divergent transitions; max rank-normalized R-hat "
        f"{summary['r_hat'].max():.4f}; min bulk ESS {summary['ess_bulk'].min():.0f}; "
        f"min tail ESS {summary['ess_tail'].min():.0f} "
        f"({fit.n_chains} chains × {fit.n_draws} draws).</p>",
    ]
    if problems:
        parts.append("<ul>" + "".join(f"<li>{esc(p)}</li>" for p in problems) + "</ul>")
        if getattr(problems, "advice", ""):
            parts.append(f"<p>Try: {esc(problems.advice)}</p>")

    # parameters
    parts += [
        "<h2>Posterior of the parameters</h2>",
        "<p class='muted'>q5–q95 is the 90% credible interval; <code>sigma</code> is the "
        "residual scale of log-loss.</p>",
        _table(summary),
    ]

    # allocation
    try:
        check_allocatable(law)
        allocatable = True
    except ValueError:
        allocatable = False
    if allocatable:
        res = compute_optimal(fit, list(budgets), warn=False)
        alloc = res.table.copy()
        parts += [
            "<h2>Compute-optimal allocation</h2>",
            "<p class='muted'>Per training budget C (FLOPs, C = 6ND unless stated): "
            "optimal parameters, tokens, tokens per parameter and loss, with 90% "
            "intervals.</p>",
            _table(alloc, index=False),
        ]
        if getattr(res, "exponents", None) is not None and len(res.exponents):
            parts += [
                "<p>Allocation exponents (N_opt ∝ C^a, D_opt ∝ C^b):</p>",
                _table(res.exponents),
            ]

    # figures
    parts.append("<h2>Figures</h2>")
    figures = {name: make(fit) for name, make in plots.figure_makers(fit).items()}
    figures["posterior_predictive"] = plot_predictive_check(posterior_predictive(fit, seed=seed))
    for name, fig in figures.items():
        parts.append(
            f"<figure><img alt='{esc(name)}' src='data:image/png;base64,{_png(fig)}'>"
            f"<figcaption>{esc(_CAPTIONS.get(name, name))}</figcaption></figure>"
        )

    # settings
    versions = fit.meta.get("versions", {})
    settings = pd.DataFrame(
        {
            "value": [
                f"{cfg.chains} chains × ({cfg.warmup} warmup + {cfg.draws} draws)",
                f"{cfg.likelihood}"
                + (f" (nu = {cfg.nu:g})" if cfg.likelihood == "student_t" else ""),
                f"target_accept {cfg.target_accept}, max_tree_depth {cfg.max_tree_depth}, "
                f"{'dense' if cfg.dense_mass else 'diagonal'} mass matrix",
                str(cfg.seed),
                ", ".join(f"{k}0 = {v:.4g}" for k, v in fit.ref.items()),
                "; ".join(f"{k} ~ {v}" for k, v in fit.priors.items()),
                ", ".join(f"{k} {v}" for k, v in versions.items()),
                str(fit.meta.get("created", "")),
            ]
        },
        index=["sampler", "likelihood", "NUTS", "seed", "pivots", "priors", "versions", "created"],
    )
    parts += ["<h2>Settings and provenance</h2>", _table(settings)]
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>{body}"
        "<p class='muted'>Generated by scaling_bayes.</p></body></html>"
    )


def write_report(fit, path, **kwargs) -> Path:
    """Write :func:`build_report` to ``path`` atomically; returns the path."""
    text = build_report(fit, **kwargs)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
