"""Build the bundled literature prior tables (scaling_bayes/model/files/literature_priors.json).

One hierarchical fit of the bundled sweeps (scaling_bayes.inference.literature.literature_table)
with every sweep in, and one per bundled data set with that data set left out.

    .venv/bin/python benchmarks/few_runs/build_priors.py            # all tables
    .venv/bin/python benchmarks/few_runs/build_priors.py --only ""  # just the all-in table
    .venv/bin/python benchmarks/few_runs/build_priors.py --pivots absolute --out /tmp/abs.json

Tables already in the output file are kept unless --redo is given (so a run can be resumed).
The bundled all-in table was built with the defaults (4 chains x 600 warmup + 500 draws); the
leave-one-out tables with --chains 2 --warmup 300 --draws 300 (time on the shared machine; not
converged, see README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scaling_bayes.inference.literature import literature_table  # noqa: E402
from scaling_bayes.model.literature import SWEEPS, _FORMAT, exclusion_key  # noqa: E402

OUT = ROOT / "scaling_bayes" / "model" / "files" / "literature_priors.json"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--only", action="append", default=None,
                    help="exclusion keys to build ('' = all in); default: all")
    ap.add_argument("--pivots", default="data", choices=["data", "absolute"])
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=600)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--redo", action="store_true")
    a = ap.parse_args()
    out = Path(a.out)
    doc = json.loads(out.read_text()) if out.exists() else {"format": _FORMAT, "laws": {}}
    tabs = doc["laws"].setdefault("chinchilla", {})
    keys = [""] + sorted({s.dataset for s in SWEEPS})
    if a.only is not None:
        keys = a.only
    for key in keys:
        if key in tabs and not a.redo:
            print(f"{key or '(all in)'}: kept", flush=True)
            continue
        t = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tab = literature_table([key] if key else None, pivots=a.pivots, chains=a.chains,
                                   warmup=a.warmup, draws=a.draws)
        tabs[exclusion_key([key] if key else [])] = tab
        doc["laws"]["chinchilla"] = dict(sorted(tabs.items()))
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
        os.replace(tmp, out)
        d = tab["info"]["diagnostics"]
        print(f"{key or '(all in)'}: {time.time() - t:.0f} s, r_hat {d['max_r_hat']:.3f}, "
              f"ess {d['min_ess_bulk']:.0f}, div {d['divergences']}; "
              + ", ".join(f"{k}={v}" for k, v in tab["priors"].items()), flush=True)


if __name__ == "__main__":
    main()
