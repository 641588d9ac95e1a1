#!/usr/bin/env bash
# The code checks, run before committing and by CI before the tests: ruff's lint, ruff's formatting (checked, never
# applied) and mypy over klout/. Bootstraps like scripts/test.sh; the pinned tools are the `dev` extra. Runs every
# check even after one fails, then exits 1 naming each that failed.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"

for tool in ruff mypy; do
  [ -x "$VENV/bin/$tool" ] || die "$tool is not installed in $VENV: install the dev extra (pip install -e '.[dev]')"
done

set +e
failed=()
check() {
  local name="$1"
  shift
  echo "check: $name" >&2
  "$@" || failed+=("$name")
}
check 'ruff check (lint; ruff check --fix applies the safe fixes)' "$VENV/bin/ruff" check .
check 'ruff format --check (formatting; ruff format applies it)' "$VENV/bin/ruff" format --check .
check 'mypy (types of klout/)' "$VENV/bin/mypy"

if [ "${#failed[@]}" -gt 0 ]; then
  printf 'check: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo 'check: all passed (ruff check, ruff format --check, mypy)' >&2
