#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a warm one: bootstrap (idempotent), then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -k ingest
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
# two test processes (pytest-xdist), each with its own Spark session, a test module at a time (its fixtures built
# once), the modules in collection order: the slowest first (tests/conftest.py, SLOWEST_FIRST)
exec "$VENV/bin/python" -m pytest -n "${KLOUT_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
