"""Shared driver of the per-module SBC scripts (``sbc_more.py``, ``sbc_curves.py``): the same
command-line options, one ``validate.sbc`` run per law on that law's own design, and a markdown
results table rewritten after each law."""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax

from scaling_bayes.evaluation.sbc import sbc
from scaling_bayes.plots.sbc import plot_sbc


def run(
    *,
    laws: Sequence[str],
    design_for: Callable,
    title: str,
    intro: Callable,
    results_name: str,
    machine_note: str = "",
) -> None:
    """``intro(args)`` returns the paragraph describing the run; ``design_for(law)`` the design."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=100)
    ap.add_argument("--laws", default=",".join(laws))
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=250)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--thin", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).parent / "sbc"))
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for law in a.laws.split(","):
        t = time.perf_counter()
        r = sbc(
            law,
            n_sims=a.sims,
            design=design_for(law),
            chains=a.chains,
            warmup=a.warmup,
            draws=a.draws,
            thin=a.thin,
            seed=0,
            progress=lambda d, n, law=law, t=t: print(
                f"  {law}: {d}/{n} simulations, {time.perf_counter() - t:.0f} s", flush=True
            ),
        )
        wall = time.perf_counter() - t
        r.ranks.to_csv(out / f"{law}_ranks.csv", index=False)
        plot_sbc(r, out / f"{law}_ecdf.png")
        d = r.diagnostics
        for k, row in r.tests.iterrows():
            rows.append(
                f"| {law} | {k} | {row.chi2:.1f} | {row.p_value:.3f} | "
                f"{'REJECTED' if row.rejected else 'ok'} |"
            )
        rows.append(
            f"| {law} | (fits) | {r.settings['n_used']}/{a.sims} sims used; "
            f"{int((d.divergences > 0).sum())} with divergences; median max R-hat "
            f"{d.max_r_hat.median():.3f}; {wall:.0f} s | | |"
        )
        text = [
            f"# {title}",
            "",
            intro(a),
            "",
            f"Machine: {platform.processor() or platform.machine()}, "
            f"{jax.device_count()} {jax.default_backend()} device(s); jax {jax.__version__}"
            f"{machine_note}.",
            "",
            "| law | parameter | chi2 (9 dof) | p | verdict |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
        (out / results_name).write_text("\n".join(text))
        print("\n".join(rows[-(len(r.tests) + 1) :]), flush=True)
