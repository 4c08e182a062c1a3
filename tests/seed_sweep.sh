#!/usr/bin/env bash
# Re-run every default-suite test that asserts an MCMC diagnostic (marker `mcmc`: R-hat, ESS,
# divergences, check(), or an interval covering a truth; see tests/conftest.py) under other
# sampler seeds: `--sampler-seed-shift K` adds K to the seed of every fit in the process.
# Usage: bash tests/seed_sweep.sh [SHIFT ...]   (default: 1 2 3 4 5; the plain suite is shift 0)
set -uo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
shifts=("$@"); [ ${#shifts[@]} -eq 0 ] && shifts=(1 2 3 4 5)
fail=0
for k in "${shifts[@]}"; do
  echo "== sampler seed shift $k"
  "$py" -m pytest -q -p no:cacheprovider -m "mcmc and not slow" --sampler-seed-shift "$k" \
    || fail=1
done
exit $fail
