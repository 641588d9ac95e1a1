#!/usr/bin/env bash
# The benchmark from a clean clone: bootstrap (idempotent), then scripts/bench.py with every argument,
# e.g. scripts/bench.sh --scale 1000000
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/python" scripts/bench.py "$@"
