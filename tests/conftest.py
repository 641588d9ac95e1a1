"""The suite's fixtures: one Spark session (local[2], few shuffle partitions, UI off, fast-start JVM options), test
configs under a test's own directory, one scored synthetic world shared by the session, copies of warehouses to
write into, and the servers some tests need, once for the session (a moto S3 server, started before the Spark
session; a Spark Connect server, when a test first asks for it). Test modules take all of it as fixtures; none
imports this module."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from klout.config import Config, load_config

# Every test JVM's options: a 256 MiB code cache for the suite's generated code, and UTC
JVM_COMMON = "-XX:ReservedCodeCacheSize=256m -Duser.timezone=UTC"
DRIVER_JAVA = "spark.conf.spark.driver.extraJavaOptions="  # the `key=value` override that sets a driver's options

TEST_SETS = (
    "spark.master=local[2]",
    "spark.shuffle_partitions=2",
    "spark.delta_snapshot_partitions=1",
    "spark.driver_memory=2g",
    # the full JIT (C2): a day costs about a third less than with C1 only (-XX:TieredStopAtLevel=1), from the first
    # day on (measured: 47-66 s against 77-82 s for a small world's day)
    f"{DRIVER_JAVA}-XX:+UseParallelGC {JVM_COMMON}",
    "spark.conf.spark.sql.adaptive.coalescePartitions.initialPartitionNum=2",
    "spark.conf.spark.default.parallelism=2",
    # the suite's tables are tiny: generating and compiling Java for every query and task (Delta's log replay
    # generates its wide encoders in each task) was half of a small day's driver CPU; interpreted, the same day
    # took 79 s instead of 158 s (Higgs 1 July, back to back, profiled). Production keeps codegen on.
    "spark.conf.spark.sql.codegen.wholeStage=false",
    "spark.conf.spark.sql.codegen.factoryMode=NO_CODEGEN",
)

# The JVM options of the processes a test starts (a `klout` command, a Spark Connect server, the cluster's driver and
# executors): each lives for a step or a day, where C1 alone and the serial collector cost about 40 % less CPU than
# the session's full JIT and are faster (measured: a cold `klout graph` of a small day, 30 against 48 CPU-seconds, 23.6
# against 27.0 s), and two test processes (`-n 2`) share the two cores
SHORT_JVM = f"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC {JVM_COMMON}"

# The shared scored world's shape (its days: WORLD's synth.days from synth.start_date, 2026-01-01 by default)
WORLD_SHAPE = (
    "synth.people=400",
    "synth.interactions_per_day=4000",
    "synth.bot_share=0.05",
    "synth.ring_size=5",
    "synth.ring_reactions_per_bot_per_day=20",
    "synth.celebrities=3",
    "synth.partitions=2",
)
# a fixed point much tighter than the default 1e-3: a date scored alone (cold start) must rank the persons as the
# backfill (warm start) does, and at 1e-3 two neighbours whose raw scores differ by less can swap (tests/test_backfill)
WORLD = (*WORLD_SHAPE, "synth.days=3", "graph.tolerance=1.0e-6")


def _make_config(tmp_path: Path, *sets: str) -> Config:
    return load_config(sets=[*TEST_SETS, f"warehouse={tmp_path}/warehouse", *sets])


def _copy_warehouse(warehouse: Path, to: Path, *sets: str) -> Config:
    shutil.copytree(warehouse, to / "warehouse", ignore=shutil.ignore_patterns("_checkpoints"))
    return _make_config(to, *sets)


# The modules that take longest (real processes, servers, worlds of their own; minutes each), slowest first: the two
# test processes (scripts/test.sh: pytest-xdist, a module at a time, in this order) start on them and end on the
# short ones, so neither is left running a long module alone at the end. The first two build their own world and
# the shared scored world, so neither waits for the other.
SLOWEST_FIRST = (
    "test_operations.py",
    "test_cluster.py",
    "test_privacy.py",
    "test_backfill.py",
    "test_features.py",
    "test_graph.py",
    "test_connect.py",
    "test_object_storage.py",
    "test_daily.py",
    "test_evaluation.py",
    "test_gaming.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of SLOWEST_FIRST's modules first, in its order; the others after them, as collected."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def make_config():
    """`make_config(tmp_path, *sets)`: a validated config with the test session's Spark settings whose warehouse is
    `tmp_path/warehouse`, plus any extra `key=value` overrides."""
    return _make_config


@pytest.fixture(scope="session")
def copy_warehouse():
    """`copy_warehouse(warehouse, to, *sets)`: copies the warehouse directory `warehouse` to `to/warehouse` (Spark's
    checkpoints left behind) and returns a config of the copy, as `make_config(to, *sets)`. Delta tables hold
    relative file paths, so the copy is a whole warehouse of its own: a test writes into it, never into a fixture
    other tests read."""
    return _copy_warehouse


@pytest.fixture(scope="session")
def spark_sets() -> tuple[str, ...]:
    """The test session's Spark settings as `key=value` overrides for the `klout` processes a test starts (their JVM
    on SHORT_JVM's options)."""
    return tuple(f"{DRIVER_JAVA}{SHORT_JVM}" if s.startswith(DRIVER_JAVA) else s for s in TEST_SETS)


@pytest.fixture(scope="session")
def short_jvm() -> str:
    """SHORT_JVM: the JVM options of the Spark processes a test starts (a driver, executors, a server)."""
    return SHORT_JVM


@dataclasses.dataclass(frozen=True)
class ObjectStore:
    """A local S3-compatible server (moto) and its one bucket, as a user would configure klout for S3."""

    endpoint: str  # http://127.0.0.1:<port>
    bucket: str

    def uri(self, *parts: str) -> str:
        """`s3a://<bucket>/<parts>`: where a test keeps its warehouse, checkpoints or sources."""
        return "/".join([f"s3a://{self.bucket}", *parts])

    @property
    def sets(self) -> tuple[str, ...]:
        """The `fs.s3a.*` settings a user puts in a conf overlay's `spark.conf`, as `--set` overrides."""
        hadoop = {
            "endpoint": self.endpoint,
            "endpoint.region": "us-east-1",
            "path.style.access": "true",
            "connection.ssl.enabled": "false",
            "access.key": "test",
            "secret.key": "test",
            "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        }
        return tuple(f"spark.conf.spark.hadoop.fs.s3a.{k}={v}" for k, v in hadoop.items())

    @property
    def storage_options(self) -> dict[str, str]:
        """The same store for delta-rs (`deltalake`), the second Delta reader."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_ALLOW_HTTP": "true",
        }


@pytest.fixture(scope="session")
def s3() -> Iterator[ObjectStore]:
    """A moto S3 server on 127.0.0.1 (a free port) with the bucket `klout-test`, for the whole session: started
    before the Spark session (whose Hadoop configuration points S3A at it), stopped at the end, also on failure; its
    objects live in the server's memory, so nothing is left behind."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        store = ObjectStore(f"http://{host}:{port}", "klout-test")
        opts = store.storage_options
        boto3.client(
            "s3",
            endpoint_url=store.endpoint,
            region_name=opts["AWS_REGION"],
            aws_access_key_id=opts["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=opts["AWS_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket=store.bucket)
        yield store
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark_env() -> dict[str, str]:
    """The environment for Spark's own scripts: this venv's Python everywhere, pyspark's SPARK_HOME, and nothing of
    the test session's gateway (which would make klout believe it runs under spark-submit)."""
    import pyspark

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    return env | {"PYSPARK_PYTHON": sys.executable, "SPARK_HOME": os.path.dirname(pyspark.__file__)}


@pytest.fixture(scope="session")
def connect_server(spark_env, tmp_path_factory) -> Iterator[str]:
    """A Spark Connect server (local[2], the Delta jar and extensions) started from the installed pyspark on a free
    port of 127.0.0.1, for the session: its address, sc://127.0.0.1:PORT. Stopped at the end, also on failure."""
    cfg = load_config()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": str(log.parent / "spark-warehouse"),
        "spark.ui.enabled": "false",
        "spark.log.level": "WARN",
    }
    cmd = [
        str(Path(sys.executable).parent / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master",
        "local[2]",
        "--driver-memory",
        "2g",
        "--driver-java-options",
        SHORT_JVM,
        "--packages",
        cfg.spark.delta_package,
        *(arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")),
        "spark-internal",
    ]
    with log.open("w") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=spark_env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, "the Spark Connect server exited:\n" + log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the Spark Connect server did not listen:\n" + log.read_text()[-3000:]
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture(scope="session")
def _spark_and_settings(tmp_path_factory, s3):
    from klout.session import get_spark, session_settings

    cfg = _make_config(tmp_path_factory.mktemp("session"), *s3.sets)
    session = get_spark(cfg, uris=[s3.uri()])  # the S3A connector on the classpath, for the object-storage tests
    runtime = {k: v for k, v in session_settings(cfg, submitted=True).items() if session.conf.isModifiable(k)}
    yield session, runtime
    session.stop()


@pytest.fixture(scope="session")
def spark(_spark_and_settings):
    """The suite's one Spark session (local[2], the settings of TEST_SETS)."""
    return _spark_and_settings[0]


@pytest.fixture(autouse=True)
def _suite_settings(request):
    """A test that uses the session starts with the suite's runtime settings: a `klout` command run in process
    (cli.main) re-applies its own config's to the session it gets (getOrCreate; 8 shuffle partitions by default)."""
    if "spark" in request.fixturenames:
        session, runtime = request.getfixturevalue("_spark_and_settings")
        for key, value in runtime.items():
            session.conf.set(key, value)


@pytest.fixture
def cfg(tmp_path):
    return _make_config(tmp_path)


@dataclasses.dataclass(frozen=True)
class ScoredWorld:
    cfg: Config
    warehouse: Path  # the directory of cfg's warehouse
    truth_dir: Path  # the generated world's truth/ (people, accounts): read only

    @property
    def days(self) -> list[dt.date]:
        """The world's days, each run through the daily step."""
        s = self.cfg.synth
        return [s.start_date + dt.timedelta(days=i) for i in range(s.days)]


def _shared_dir(tmp_path_factory) -> Path:
    """The directory the test processes of one run share: pytest-xdist's workers (`-n`) each have a base temporary
    directory of their own under it; a run without workers has only its own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def scored_world(spark, tmp_path_factory) -> ScoredWorld:
    """A small synthetic world (WORLD) generated, ingested and run through run_daily for each of its days, built once
    per run (by the first of pytest-xdist's workers to need it) and read by every test that needs a scored warehouse.
    Read it only: a test (or module fixture) that writes takes a `scored_copy()`."""
    from klout.ingest.run import ingest
    from klout.pipeline import run_daily
    from klout.synth import generate_world, write_world

    tmp = _shared_dir(tmp_path_factory) / "world"
    cfg = _make_config(tmp, *WORLD)
    world = ScoredWorld(cfg, tmp / "warehouse", tmp / "world" / "truth")
    with FileLock(f"{tmp}.lock"):  # the first worker builds it, the others wait for it and read it
        if not (tmp / "built").exists():
            shutil.rmtree(tmp, ignore_errors=True)  # a build interrupted in an earlier worker's session
            write_world(generate_world(spark, cfg), str(tmp / "world"))
            for kind in ("identities", "profiles", "interactions"):
                ingest(spark, cfg, str(tmp / "world" / kind), "parquet", kind)
            for day in world.days:
                run_daily(spark, cfg, day)
            (tmp / "built").touch()
    return world


@pytest.fixture(scope="session")
def copy_bronze(spark, scored_world):
    """`copy_bronze(cfg)`: the shared scored world's ingested (bronze) tables written by Spark into `cfg`'s warehouse
    (a local path or a URI), for a run elsewhere (a cluster, a Spark Connect server) to start from."""
    from klout import tables
    from klout.warehouse import Warehouse

    def copy(cfg: Config) -> None:
        for table in tables.BRONZE:
            if (rows := Warehouse(spark, scored_world.cfg)[table].try_read()) is not None:  # no quarantine: none bad
                rows.write.format("delta").partitionBy(*table.partition_by).save(Warehouse(spark, cfg)[table].path)

    return copy


@pytest.fixture(scope="session")
def scored_copy(scored_world, tmp_path_factory):
    """`scored_copy(*sets)`: the scored world on a fresh copy of its warehouse (WORLD plus `sets` as its config), to
    write into; its truth is the shared world's."""

    def copy(*sets: str) -> ScoredWorld:
        to = tmp_path_factory.mktemp("scored_copy")
        cfg = _copy_warehouse(scored_world.warehouse, to, *WORLD, *sets)
        return dataclasses.replace(scored_world, cfg=cfg, warehouse=to / "warehouse")

    return copy
