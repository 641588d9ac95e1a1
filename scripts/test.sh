#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a warm one: bootstrap (idempotent), then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -k ingest
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
