"""Spark session factory: Delta-enabled, UTC, modest shuffles; defers to spark-submit for master and resources."""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from klout import checkpoints
from klout.config import Config
from klout.errors import KloutError
from klout.paths import joined

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# Set by spark-submit (and pyspark's own launcher) when the JVM already exists and the submit owns the settings.
_SUBMIT_ENV = "PYSPARK_GATEWAY_PORT"


def under_spark_submit() -> bool:
    """True when this Python process was started by spark-submit, which already fixed master and resources."""
    return _SUBMIT_ENV in os.environ


def packages(cfg: Config, uris: Iterable[str] = ()) -> str:
    """The Maven coordinates a local launch resolves: Delta's, and Hadoop's S3A connector when the warehouse, the
    checkpoint directory or one of `uris` (a run's sources and outputs) is on s3a://, so a user gives only the URI."""
    wanted = [cfg.spark.delta_package]
    if any(u.startswith("s3a://") for u in (cfg.warehouse_root, checkpoints.directory(cfg), *uris)):
        wanted.append(cfg.spark.s3a_package)
    return ",".join(wanted)


# Settings a running session accepts (also over Spark Connect); the others only take effect when a JVM starts.
RUNTIME_SETTINGS = (
    "spark.sql.session.timeZone",
    "spark.sql.shuffle.partitions",
    "spark.sql.adaptive.enabled",
    "spark.databricks.delta.snapshotPartitions",
)


def session_settings(cfg: Config, submitted: bool, uris: Iterable[str] = ()) -> dict[str, str]:
    """The spark.* settings klout wants. Launch-only settings (master, memory, packages) only when we launch."""
    s = cfg.spark
    settings = {
        "spark.app.name": s.app_name,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(s.shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.databricks.delta.snapshotPartitions": str(s.delta_snapshot_partitions),
        "spark.sql.warehouse.dir": joined(cfg.warehouse_root, "_spark"),
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": s.log_level,
    }
    if not submitted:
        settings |= {
            "spark.master": s.master,
            "spark.driver.memory": s.driver_memory,
            "spark.jars.packages": packages(cfg, uris),
            "spark.ui.enabled": str(s.ui_enabled).lower(),
            "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        }
    settings |= dict(s.conf)
    return settings


def get_spark(cfg: Config, verbose: bool = False, uris: Iterable[str] = ()):
    """Build (or reuse) the SparkSession for `cfg`.

    With `spark.remote` (sc://host:port) a Spark Connect session: the server was started with the Delta jar and
    extensions and owns every launch setting, so only the runtime ones are set (see `remote_session`).
    Under spark-submit every setting the submit already has is left alone; we only fill in what is missing
    (Delta extensions, UTC, shuffle partitions). In local mode we launch the JVM with the Delta jar from
    `spark.delta_package` (and `spark.s3a_package` for s3a:// paths, `uris` among them: see `packages`), resolved
    from Maven Central (or ~/.m2) by Spark's resolver; the JVM's own output (Ivy's
    resolution report, Spark's log) goes to `jvm_log_path()` unless `verbose`.
    """
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    if cfg.spark.remote is not None:
        return remote_session(cfg, cfg.spark.remote)
    submitted = under_spark_submit()
    existing = SparkConf() if submitted else None
    builder = SparkSession.builder
    for key, value in session_settings(cfg, submitted, uris).items():
        if existing is not None and existing.contains(key):
            continue
        builder = builder.config(key, value)
    with _launch_output_to(None if verbose or submitted else jvm_log_path()):
        spark = builder.getOrCreate()
    log.info(
        "spark %s master=%s shuffle_partitions=%s submit=%s",
        spark.version,
        spark.conf.get("spark.master", None),
        spark.conf.get("spark.sql.shuffle.partitions"),
        submitted,
    )
    return spark


def remote_session(cfg: Config, remote: str):
    """A Spark Connect session on `spark.remote`, with klout's runtime settings (and the modifiable ones of
    `spark.conf`) set on it; the launch settings are the server's, and any of `spark.conf` that only a launch can
    set is named in a warning rather than silently dropped."""
    import delta.connect.exceptions  # noqa: F401 - Delta's commit conflicts arrive as its classes (warehouse.committing)
    from pyspark.sql import SparkSession

    _answering(remote)
    spark = SparkSession.builder.remote(remote).getOrCreate()
    wanted = session_settings(cfg, submitted=True)
    runtime = {k: wanted[k] for k in RUNTIME_SETTINGS} | {
        k: v for k, v in cfg.spark.conf.items() if spark.conf.isModifiable(k)
    }
    for key, value in runtime.items():
        spark.conf.set(key, value)
    if fixed := sorted(set(cfg.spark.conf) - set(runtime)):
        log.warning("spark.conf: %s set by the Spark Connect server only, not by a client", ", ".join(fixed))
    log.info(
        "spark %s over Spark Connect %s shuffle_partitions=%s",
        spark.version,
        remote,
        spark.conf.get("spark.sql.shuffle.partitions"),
    )
    return spark


CONNECT_PORT = 15002  # Spark Connect's default port, when the address names none


def _answering(remote: str, timeout: float = 10.0) -> None:
    """Fail at once, naming the address, when no server accepts a connection at `remote` (sc://host[:port][/...]):
    the Connect client itself would retry for minutes before it says so."""
    host, _, port = remote.removeprefix("sc://").split("/", 1)[0].partition(":")
    try:
        socket.create_connection((host, int(port or CONNECT_PORT)), timeout=timeout).close()
    except (OSError, ValueError) as e:
        raise KloutError(f"spark.remote = {remote!r}: no Spark Connect server answers there ({e})") from None


def jvm_log_path() -> str:
    """Where a JVM that klout launches writes its own output: one file per user in the temp directory."""
    return os.path.join(tempfile.gettempdir(), f"klout-spark-{os.getuid() if hasattr(os, 'getuid') else 0}.log")


@contextmanager
def _launch_output_to(path: str | None) -> Iterator[None]:
    """Point file descriptors 1 and 2 at `path` (appending) while the JVM is launched, so it inherits them, then
    give Python its own back: Spark's and Ivy's noise lands in the file, klout's progress stays on the terminal.
    On a failed launch the file's last lines are logged. None: leave the descriptors alone."""
    if path is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, f"\n==== klout pid {os.getpid()} launches Spark at {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
    saved = (os.dup(1), os.dup(2))
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    except BaseException:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        with open(path, errors="replace") as f:
            tail = f.readlines()[-30:]
        log.error("Spark did not start; the end of its output (%s):\n%s", path, "".join(tail).rstrip())
        raise
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for d in (*saved, fd):
            os.close(d)
    log.info("Spark's own output goes to %s (--verbose shows it here)", path)


@contextmanager
def session_conf(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """Set these runtime settings on `spark` for the block, then restore what they were (unset where unset)."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, was in before.items():
            if was is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, was)
