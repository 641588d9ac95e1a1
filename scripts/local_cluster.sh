#!/usr/bin/env bash
# A real Spark standalone cluster on this machine, from the installed pyspark: one master and N workers on 127.0.0.1,
# each worker its own JVM with its own executors, to test what spark-submit does beyond local mode.
#
#   scripts/local_cluster.sh start    start (or find running) and wait until every worker registered
#   scripts/local_cluster.sh status   print the master URL, web UI and workers; exit 1 when not fully up
#   scripts/local_cluster.sh stop     stop the workers (and their executors), then the master
#
# Settings (environment):
#   KLOUT_CLUSTER_DIR            state: pid files, logs, worker dirs, cluster.env   (default: build/local-cluster)
#   KLOUT_CLUSTER_PORT           master port                                     (default: a free port)
#   KLOUT_CLUSTER_WEBUI_PORT     master web UI port (JSON at /json/)             (default: a free port)
#   KLOUT_CLUSTER_WORKERS        number of workers                               (default: 2)
#   KLOUT_CLUSTER_WORKER_CORES   cores each worker offers                        (default: 1)
#   KLOUT_CLUSTER_WORKER_MEMORY  memory each worker offers to executors          (default: 2g)
#   KLOUT_CLUSTER_TIMEOUT        seconds to wait for the workers                 (default: 120)
# `start` writes $KLOUT_CLUSTER_DIR/cluster.env (MASTER_URL=spark://..., WEBUI_URL=http://...) for scripts to source.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${KLOUT_VENV:-$ROOT/.venv}/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3
DIR="${KLOUT_CLUSTER_DIR:-$ROOT/build/local-cluster}"
WORKERS="${KLOUT_CLUSTER_WORKERS:-2}"
CORES="${KLOUT_CLUSTER_WORKER_CORES:-1}"
MEMORY="${KLOUT_CLUSTER_WORKER_MEMORY:-2g}"
TIMEOUT="${KLOUT_CLUSTER_TIMEOUT:-120}"
HOST=127.0.0.1

die() { echo "local_cluster: $*" >&2; exit 1; }

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# number of ALIVE workers the master reports (0 when it does not answer)
alive_workers() {
  "$PYTHON" - "$1" <<'EOF'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/json/", timeout=5) as r:
        print(sum(w["state"] == "ALIVE" for w in json.load(r)["workers"]))
except (OSError, ValueError, KeyError):
    print(0)
EOF
}

# launch one daemon in its own session (so stop can signal its whole process group, executors included)
launch() {
  local name="$1"; shift
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$DIR/$name.pid" "$@" >"$DIR/logs/$name.log" 2>&1 < /dev/null &
  for _ in $(seq 50); do [ -s "$DIR/$name.pid" ] && return; sleep 0.1; done
  die "$name did not start; see $DIR/logs/$name.log"
}

status() {
  [ -f "$DIR/cluster.env" ] || { echo "local_cluster: not started ($DIR)"; return 1; }
  # shellcheck disable=SC1091
  source "$DIR/cluster.env"
  local up; up="$(alive_workers "$WEBUI_URL")"
  echo "master $MASTER_URL  web UI $WEBUI_URL  workers alive $up/$WORKERS  state $DIR"
  alive "$DIR/master.pid" && [ "$up" -ge "$WORKERS" ]
}

start() {
  if alive "$DIR/master.pid"; then
    status && return 0
    die "a master is running but not every worker is alive; run stop first"
  fi
  rm -rf "$DIR/logs" "$DIR"/worker-* "$DIR/cluster.env"  # only what a previous start left (the dir may be shared)
  mkdir -p "$DIR/logs"
  local spark_home port webui
  spark_home="$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
  port="${KLOUT_CLUSTER_PORT:-$(free_port)}"
  webui="${KLOUT_CLUSTER_WEBUI_PORT:-$(free_port)}"
  cat > "$DIR/cluster.env" <<EOF
MASTER_URL=spark://$HOST:$port
WEBUI_URL=http://$HOST:$webui
WORKERS=$WORKERS
EOF
  # small daemons, quick JVM start; executors are sized by each application (spark.executor.memory)
  export SPARK_HOME="$spark_home" SPARK_LOCAL_IP="$HOST" SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-256m}"
  export SPARK_DAEMON_JAVA_OPTS="${SPARK_DAEMON_JAVA_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"
  export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$PYTHON}"
  launch master "$spark_home/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host "$HOST" --port "$port" --webui-port "$webui"
  for i in $(seq "$WORKERS"); do
    mkdir -p "$DIR/worker-$i/work" "$DIR/worker-$i/local" "$DIR/worker-$i/tmp"
    # each worker (and the executors and Python workers it starts) with its own work, shuffle and temp directories
    TMPDIR="$DIR/worker-$i/tmp" SPARK_LOCAL_DIRS="$DIR/worker-$i/local" launch "worker-$i" "$spark_home/bin/spark-class" \
      org.apache.spark.deploy.worker.Worker --host "$HOST" --webui-port 0 --cores "$CORES" --memory "$MEMORY" \
      --work-dir "$DIR/worker-$i/work" "spark://$HOST:$port"
  done
  local waited=0
  until [ "$(alive_workers "http://$HOST:$webui")" -ge "$WORKERS" ]; do
    for f in "$DIR"/*.pid; do alive "$f" || { stop >/dev/null; die "$(basename "$f" .pid) exited; see $DIR/logs/"; }; done
    [ "$waited" -lt "$TIMEOUT" ] || { stop >/dev/null; die "workers not registered after ${TIMEOUT}s; see $DIR/logs/"; }
    sleep 1; waited=$((waited + 1))
  done
  status
}

# TERM the process group (the daemon and any executor it launched), wait, then KILL what is left
stop_one() {
  local pidfile="$1" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop() {
  local f
  for f in "$DIR"/worker-*.pid; do [ -e "$f" ] && stop_one "$f"; done
  stop_one "$DIR/master.pid"
  rm -f "$DIR/cluster.env"
  echo "local_cluster: stopped ($DIR)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
