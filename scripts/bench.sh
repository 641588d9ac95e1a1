#!/usr/bin/env bash
# The benchmarks from a clean clone: bootstrap (idempotent), then one benchmark script with every further argument.
#   scripts/bench.sh --scale 1000000     scripts/bench.py: a daily volume, and DuckDB as a reference
#   scripts/bench.sh days [...]          scripts/bench_days.py: a small day, a skipped day, the Higgs week
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
script=scripts/bench.py
if [ $# -gt 0 ] && [ -f "scripts/bench_$1.py" ]; then script="scripts/bench_$1.py"; shift; fi
exec "$VENV/bin/python" "$script" "$@"
