#!/usr/bin/env bash
# Build what a cluster needs into dist/ (or the directory given as the first argument):
#   klout-<version>-py3-none-any.whl  the library, to pip-install on the nodes or into an image
#   klout-<version>.zip               the same files for spark-submit --py-files (pyspark puts .zip/.egg/.jar on the
#                                     executors' sys.path, not .whl)
#   jobs/*.py                         the spark-submit entry points
#   conf/*.yaml                       the configuration (overlays to ship with --files)
# The package carries conf/default.yaml (as klout/_conf/default.yaml, so no checkout is needed to load the defaults)
# and klout/_build_info.py with the git commit (klout.code_version()). Both exist in the build only, never in the
# source tree: the build runs on a copy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)"
PYTHON="${KLOUT_VENV:-$ROOT/.venv}/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3

stage="$(mktemp -d "${TMPDIR:-/tmp}/klout-package.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

# the sources as they are now (tracked or not), without caches
cp "$ROOT/pyproject.toml" "$ROOT/README.md" "$stage/"
(cd "$ROOT" && tar -cf - --exclude=__pycache__ --exclude='*.pyc' --exclude=_build_info.py --exclude=_conf klout) \
  | tar -xf - -C "$stage"
mkdir -p "$stage/klout/_conf"
cp "$ROOT/conf/default.yaml" "$stage/klout/_conf/default.yaml"

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$ROOT/klout/version.py")"
[ -n "$version" ] || { echo "package: no __version__ in klout/version.py" >&2; exit 1; }
commit="" dirty=False
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  commit="$(git -C "$ROOT" rev-parse --short HEAD)"
  # same paths as klout.version.BUILD_PATHS: the build differs from the commit when any of them does
  [ -z "$(git -C "$ROOT" status --porcelain -- klout conf jobs pyproject.toml)" ] || dirty=True
fi
cat > "$stage/klout/_build_info.py" <<EOF
"""Written by scripts/package.sh into this build only: what klout.code_version() reports."""

VERSION = "$version"
COMMIT = "$commit"  # short git commit of the checkout it was built from ("" when unknown)
DIRTY = $dirty  # True when klout/, conf/, jobs/ or pyproject.toml differed from that commit
BUILT_AT = "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
EOF

rm -rf "$OUT/jobs" "$OUT/conf" "$OUT"/klout-*.whl "$OUT"/klout-*.zip
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$OUT" "$stage" >&2
wheel="$OUT/klout-$version-py3-none-any.whl"
[ -f "$wheel" ] || { echo "package: expected $wheel" >&2; exit 1; }
# a pure-Python wheel is a zip with the package at its root: the same bytes serve --py-files under a .zip name
cp "$wheel" "$OUT/klout-$version.zip"
mkdir -p "$OUT/jobs" "$OUT/conf"
cp "$ROOT"/jobs/*.py "$OUT/jobs/"
cp "$ROOT"/conf/*.yaml "$OUT/conf/"

code_version="$("$PYTHON" -I -c 'import sys; sys.path.insert(0, sys.argv[1])
import klout; print(klout.code_version())' "$OUT/klout-$version.zip")"
echo "package: klout $code_version -> $OUT (klout-$version-py3-none-any.whl, klout-$version.zip, jobs/, conf/)" >&2
