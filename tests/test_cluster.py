"""spark-submit on a real standalone cluster (a master and two single-core workers, scripts/local_cluster.sh) with the
package scripts/package.sh builds publishes exactly the tables the in-process session published for the shared scored
world: the same code, shipped as a zip and run by two executor JVMs with other partition counts, gives the same
tables to the last bit. The cluster shares nothing with the driver but the object store: the warehouse and the
checkpoints are on the session's S3 server (each worker has its own work, local and temporary directories), and one
worker is killed, executor and all, in the middle of the graph pass: the run goes on with the other and its tables
are still those of the local run."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from pyspark.testing import assertDataFrameEqual

import klout
from klout import tables
from klout.config import to_plain
from klout.warehouse import Warehouse

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SUBMITTED = 1  # the shared scored world's first days, run again by one spark-submit on the cluster (a day: 40 s)
# the cluster run shuffles into other partition counts than the local run (conftest's 2): the tables must not depend
# on how rows are partitioned or in which order shuffled rows arrive
CLUSTER_PARTITIONING = [
    "spark.shuffle_partitions=3",
    "spark.conf.spark.sql.adaptive.coalescePartitions.initialPartitionNum=3",
    "spark.conf.spark.default.parallelism=3",
]
COMPARED = (tables.FEATURES, tables.ACCOUNT_INFLUENCE, tables.SCORES, tables.SCORE_EXPLANATIONS)


def _run(cmd: list[str], log: Path, **kw) -> None:
    """Run a command with its output in `log`; fail with the log's tail."""
    with log.open("w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, **kw).returncode
    assert rc == 0, f"{' '.join(cmd)} exited {rc}:\n" + "\n".join(log.read_text().splitlines()[-60:])


@pytest.fixture(scope="module")
def cluster(spark_env):
    """A master and two workers (1 core, 1 GiB each) started by the script; stopped and removed even on failure."""
    state = Path(tempfile.mkdtemp(prefix="klout-cluster-"))
    env = spark_env | {"KLOUT_CLUSTER_DIR": str(state / "cluster"), "KLOUT_CLUSTER_WORKER_MEMORY": "1g"}
    script = str(ROOT / "scripts" / "local_cluster.sh")
    try:
        _run([script, "start"], state / "start.log", env=env, timeout=300)
        env_file = (state / "cluster" / "cluster.env").read_text()
        yield dict(line.split("=", 1) for line in env_file.split()) | {"DIR": str(state / "cluster")}
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """What scripts/package.sh builds, into a directory of this test (dist/ may be another person's)."""
    dist = tmp_path_factory.mktemp("dist")
    _run([str(ROOT / "scripts" / "package.sh"), str(dist)], dist.parent / "package.log", timeout=300)
    return dist


@pytest.fixture(scope="module")
def runs(s3, scored_world, scored_copy, copy_bronze, cluster, package, spark_env, short_jvm, tmp_path_factory):
    """The shared scored world's ingested (bronze) tables copied by Spark into a warehouse on the S3 server, its first
    SUBMITTED days run there by one spark-submit (`--date first --end last`) on the cluster, one worker killed during
    the graph pass. Returns the local (the shared world's) and the cluster run's configs, the days, the submit's
    event log directory and its log."""
    tmp = tmp_path_factory.mktemp("runs")
    days = scored_world.days[:SUBMITTED]
    local = scored_world.cfg
    # the world's config with the cluster's partitioning and the S3 settings; its warehouse on the bucket
    configured = scored_copy(*CLUSTER_PARTITIONING, *s3.sets).cfg
    remote = dataclasses.replace(configured, warehouse=s3.uri(f"cluster-{uuid.uuid4().hex[:8]}", "warehouse"))
    copy_bronze(remote)

    # the submit's working directory holds only the overlay (the whole effective config of the cluster run): no
    # checkout, no conf/, so the defaults must come from inside the zip
    submit, events = tmp / "submit", tmp / "events"
    submit.mkdir()
    events.mkdir()
    (submit / "test.yaml").write_text(yaml.safe_dump(to_plain(remote)))
    cmd = [
        str(Path(sys.executable).parent / "spark-submit"),
        "--master",
        cluster["MASTER_URL"],
        "--packages",
        f"{local.spark.delta_package},{local.spark.s3a_package}",
        "--conf",
        "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
        "--conf",
        "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "--conf",
        f"spark.pyspark.python={sys.executable}",
        "--executor-memory",
        "1g",
        "--executor-cores",
        "1",
        "--total-executor-cores",
        "2",
        "--driver-java-options",  # the submitted driver and the executors on the options of a test's short JVMs
        short_jvm,
        "--conf",
        f"spark.executor.extraJavaOptions={short_jvm}",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.locality.wait=0",
        "--conf",
        "spark.eventLog.enabled=true",
        "--conf",
        f"spark.eventLog.dir={events.as_uri()}",
        "--conf",
        "spark.eventLog.compress=false",
        "--py-files",
        str(package / f"klout-{klout.__version__}.zip"),
        "--files",
        "test.yaml",
        str(package / "jobs" / "daily.py"),
        "--conf",
        "test.yaml",
        "--date",
        str(days[0]),
        "--end",
        str(days[-1]),
    ]
    log = tmp / "submit.log"
    with log.open("w") as out:
        # its own session, so that a failure here can end the submit and the driver it started, nothing else
        job = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=submit, env=spark_env, start_new_session=True
        )
        try:
            killed = _kill_a_worker_during_the_graph_pass(job, log, cluster)
            rc = job.wait(timeout=600)
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()
    assert rc == 0, f"{' '.join(cmd)} exited {rc}:\n" + "\n".join(log.read_text().splitlines()[-60:])
    assert killed, "the graph pass ended before a worker could be killed:\n" + log.read_text()[-3000:]
    return local, remote, days, events, log


def _kill_a_worker_during_the_graph_pass(job: subprocess.Popen, log: Path, cluster: dict[str, str]) -> bool:
    """Wait for the submit's first graph iteration to be logged, then SIGKILL the second worker's process group
    (the worker daemon and the executor it launched). True when the submit was still running then."""
    deadline = time.monotonic() + 420
    while job.poll() is None and time.monotonic() < deadline:
        if "graph.iteration 1:" in log.read_text(errors="replace"):
            os.killpg(int((Path(cluster["DIR"]) / "worker-2.pid").read_text()), signal.SIGKILL)
            return job.poll() is None
        time.sleep(0.1)
    return False


def test_the_package_loads_its_defaults_and_code_version_without_a_checkout(package, tmp_path):
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import klout, klout.config as c\n"
        "print(klout.__file__, klout.code_version(), c.load_config().fingerprint())"
    )
    zipped = package / f"klout-{klout.__version__}.zip"
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(zipped)], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.split()
    from klout.config import load_config

    assert out == [f"{zipped}/klout/__init__.py", klout.code_version(), load_config().fingerprint()]
    assert klout.code_version().startswith(f"{klout.__version__}+g")
    # the build's extras never land in the source tree
    assert not (ROOT / "klout" / "_build_info.py").exists() and not (ROOT / "klout" / "_conf").exists()
    assert sorted(p.name for p in (package / "jobs").iterdir()) == sorted(
        p.name for p in (ROOT / "jobs").iterdir() if p.suffix == ".py"
    )


def test_the_cluster_run_publishes_exactly_the_local_runs_tables(spark, runs):
    local, remote, days, _, _ = runs
    for day in days:
        for table in COMPARED:
            expected = Warehouse(spark, local)[table].partition(day)
            assert expected is not None and expected.count() > 300, (table.name, day)
            assertDataFrameEqual(Warehouse(spark, remote)[table].partition(day), expected, rtol=0.0, atol=0.0)


def test_the_submitted_job_ran_on_two_executors_and_finished_on_one_after_a_worker_was_killed(runs, cluster):
    _, remote, _, events, submit_log = runs
    (app_dir,) = events.iterdir()
    log = [json.loads(line) for f in sorted(app_dir.glob("events_*")) for line in f.read_text().splitlines()]
    added = {e["Executor ID"]: e["Executor Info"]["Host"] for e in log if e["Event"] == "SparkListenerExecutorAdded"}
    tasks = [e["Task Info"]["Executor ID"] for e in log if e["Event"] == "SparkListenerTaskEnd"]
    removed = [(i, e["Executor ID"]) for i, e in enumerate(log) if e["Event"] == "SparkListenerExecutorRemoved"]
    assert len(added) == 2 and set(added.values()) == {"127.0.0.1"}
    assert {x: tasks.count(x) > 10 for x in added} == {x: True for x in added}, tasks
    ((at, lost),) = removed  # the killed worker's executor; the other one finished the run
    assert lost in added and sum(e["Event"] == "SparkListenerJobEnd" for e in log[at:]) > 5
    assert submit_log.read_text().count("graph: done") == SUBMITTED and remote.warehouse_root.startswith("s3a://")
    with urllib.request.urlopen(cluster["WEBUI_URL"] + "/json/", timeout=10) as r:
        master = json.load(r)
    (app,) = [a for a in master["completedapps"] if a["id"] == app_dir.name.removeprefix("eventlog_v2_")]
    assert (app["state"], app["memoryperexecutor"]) == ("FINISHED", 1024)
