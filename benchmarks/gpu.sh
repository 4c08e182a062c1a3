#!/usr/bin/env bash
# The whole benchmark on a GPU, in one command:
#
#     bash benchmarks/gpu.sh            # full sizes (as benchmarks/run_all.py)
#     bash benchmarks/gpu.sh --quick    # reduced sizes: checks that everything runs
#
# Installs the package with JAX's CUDA build into its own virtual environment (.venv-gpu, next
# to the repository's .venv), checks that JAX sees a GPU (it stops otherwise: a CPU run is not a
# GPU figure), runs every benchmark of run_all.py with JAX on the GPU, writes one JSON per
# benchmark to benchmarks/results/gpu/ and all of them together to benchmarks/results/gpu.json,
# and renders benchmarks/results/gpu/README.md (the same tables as benchmarks/README.md).
# The code needs no change for a GPU: the same programs run on JAX's default backend (float32
# there unless JAX_ENABLE_X64=1, which this script sets, as on CPU).
#
# Status: written and checked on CPU (syntax, the CPU refusal); NOT YET RUN ON A GPU: no session
# so far had one. Whoever first runs it on a GPU: commit benchmarks/results/gpu.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cd "$repo"
venv="${SB_GPU_VENV:-$repo/.venv-gpu}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -e ".[cuda,test]"

if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
backend="$("$venv/bin/python" -c 'import jax; print(jax.default_backend())')"
if [ "$backend" != "gpu" ]; then
    echo "gpu.sh: JAX's default backend is '$backend', not 'gpu' (no CUDA device visible?);" \
         "not running the benchmark: a CPU run is not a GPU figure" >&2
    exit 2
fi

export JAX_ENABLE_X64=1                     # float64, as the CPU runs use
export SB_BENCH_RESULTS="$here/results/gpu" # every benchmark writes its JSON here
export SB_BENCH_README="$here/results/gpu/README.md"
unset XLA_FLAGS                             # no forced CPU host devices on a GPU machine
mkdir -p "$SB_BENCH_RESULTS"

# one GPU device per data-set shard: fit_many splits across all visible GPUs (bench_many
# --devices only sets CPU host devices, which the GPU backend ignores)
"$venv/bin/python" "$here/run_all.py" --skip pymc "$@" || status=$?

"$venv/bin/python" - "$SB_BENCH_RESULTS" "$here/results/gpu.json" <<'PY'
import json, sys
from pathlib import Path
src, out = Path(sys.argv[1]), Path(sys.argv[2])
merged = {p.stem: json.loads(p.read_text()) for p in sorted(src.glob("*.json"))}
out.write_text(json.dumps(merged, indent=2) + "\n")
print(f"wrote {out} ({', '.join(merged) or 'nothing'})")
PY
exit "${status:-0}"
