"""Regenerate the README figures in docs/figures/ from the bundled data, with full-size fits.

Run from the repository root::

    .venv/bin/python docs/make_figures.py

It fits the Chinchilla and Kaplan laws to Epoch AI's 240 points with the package defaults (4 chains
x 1000 warmup x 1000 draws, seed 0) and writes four PNG files: the Chinchilla fit with 90% bands,
the compute-optimal frontier with its intervals, the PSIS-LOO comparison of the two laws, and the
architecture-shape analysis of Gemstones (Chinchilla law with and without the shape term). A few
minutes on a 2-core CPU, most of it compilation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import scaling_bayes as sb

#: PNG resolution: sharp in a README, small in git.
DPI = 110
BUDGETS = (5.76e23, 1e26)  # FLOPs: Chinchilla's budget and a frontier-scale run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the README figures.")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "figures",
        help="output folder (default: docs/figures next to this script)",
    )
    args = parser.parse_args(argv)

    df = sb.load_dataset("chinchilla", drop_excluded=True)
    fits = {}
    for law in ("chinchilla", "kaplan"):
        t0 = time.perf_counter()
        fits[law] = sb.fit(df, law=law, seed=0)
        problems = fits[law].check()
        print(
            f"{law}: {time.perf_counter() - t0:.0f} s, diagnostics "
            f"{'clean' if not problems else '; '.join(problems)}"
        )
    chinchilla = fits["chinchilla"]
    comparison = sb.compare(fits, budgets=BUDGETS, baselines=True)
    # Gemstones' cooled-down runs, parameters counted without embeddings: the shape analysis
    gem = sb.load_dataset("gemstones2025")
    gem = gem[gem["phase"] == "after_cooldown"]
    t0 = time.perf_counter()
    shape_res = sb.shape_analysis(
        gem, "chinchilla", columns={"N": "N_nonembedding"}, seed=0, target_accept=0.95
    )
    problems = [p for f in (shape_res.without, shape_res.with_shape) for p in f.check()]
    print(
        f"gemstones shape analysis: {time.perf_counter() - t0:.0f} s, diagnostics "
        f"{'clean' if not problems else '; '.join(problems)}"
    )
    figures = {
        "chinchilla_fit": sb.plots.plot_data_fit(chinchilla),
        "compute_optimal_frontier": sb.plots.plot_frontier(chinchilla),
        "kaplan_vs_chinchilla": sb.plots.plot_comparison(comparison),
        "gemstones_shape": sb.plots.plot_shape(shape_res.without, shape_res.with_shape),
    }
    for name, fig in figures.items():
        for path in sb.plots.save_figure(fig, args.out / f"{name}.png", dpi=DPI, close=True):
            print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
