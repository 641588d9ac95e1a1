# Sourced by demo.sh and test.sh: create/reuse the virtual environment, install the project when pyproject.toml
# changed, and make sure Spark can resolve the Delta jars (from Maven Central, or ~/.m2 after a Maven prefetch).
# Needs: Python >= 3.10, Java 17; Maven only if Spark's own resolver cannot reach Maven Central.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KLOUT_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

die() { echo "bootstrap: $*" >&2; exit 1; }

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "Python >= 3.10 needed, found $("$PYTHON" -V 2>&1)"
command -v java >/dev/null || die "Java 17 is needed (java not found on PATH)"

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating virtual environment $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi

install_stamp="$VENV/.klout-install"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ "$(cat "$install_stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing klout and its pinned dependencies into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test,bench,dev]"
  echo "$want" > "$install_stamp"
fi

delta_stamp="$VENV/.klout-delta"
coordinate="$("$VENV/bin/klout" config --get spark.delta_package)"
if [ "$(cat "$delta_stamp" 2>/dev/null)" != "$coordinate" ]; then
  echo "bootstrap: checking that Spark resolves $coordinate and writes a Delta table" >&2
  if ! "$VENV/bin/klout" doctor -q >/dev/null 2>"$VENV/.klout-doctor.log"; then
    command -v mvn >/dev/null || die "Spark could not resolve $coordinate and Maven is not installed; see $VENV/.klout-doctor.log"
    echo "bootstrap: Spark's resolver failed; prefetching $coordinate with Maven into ~/.m2" >&2
    mvn -q dependency:get -Dartifact="$coordinate" -Dtransitive=true
    "$VENV/bin/klout" doctor -q >/dev/null 2>"$VENV/.klout-doctor.log" || die "Delta still fails; see $VENV/.klout-doctor.log"
  fi
  echo "$coordinate" > "$delta_stamp"
fi

# Hadoop's S3A connector: the object-storage tests' session and any run on s3a:// launch with it. Spark's resolver
# fetches it with its AWS SDK bundle (about 690 MB) once; where that fails, Maven prefetches its four jars alone
# (non-transitively: a ~/.m2 holding their parents' POMs but not the jars makes the resolver fail).
s3a_stamp="$VENV/.klout-s3a"
s3a="$("$VENV/bin/klout" config --get spark.s3a_package)"
if [ "$(cat "$s3a_stamp" 2>/dev/null)" != "$s3a" ]; then
  echo "bootstrap: checking that Spark resolves $s3a (first time: about 690 MB)" >&2
  resolve_s3a() { "$VENV/bin/klout" doctor -q --set "spark.conf.spark.jars.packages=$coordinate,$s3a" >/dev/null 2>"$VENV/.klout-doctor.log"; }
  if ! resolve_s3a; then
    command -v mvn >/dev/null || die "Spark could not resolve $s3a and Maven is not installed; see $VENV/.klout-doctor.log"
    echo "bootstrap: Spark's resolver failed; prefetching $s3a's jars with Maven into ~/.m2" >&2
    for jar in "$s3a" software.amazon.awssdk:bundle:2.35.4 org.wildfly.openssl:wildfly-openssl:2.2.5.Final \
      software.amazon.s3.analyticsaccelerator:analyticsaccelerator-s3:1.3.1; do
      mvn -q dependency:get -Dartifact="$jar" -Dtransitive=false
    done
    resolve_s3a || die "S3A still fails; see $VENV/.klout-doctor.log"
  fi
  echo "$s3a" > "$s3a_stamp"
fi
export PATH="$VENV/bin:$PATH"
