"""Spark session factory: Delta-enabled, UTC, modest shuffles; defers to spark-submit for master and resources."""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from klout.config import Config
from klout.paths import is_uri, joined

log = logging.getLogger(__name__)

# Set by spark-submit (and pyspark's own launcher) when the JVM already exists and the submit owns the settings.
_SUBMIT_ENV = "PYSPARK_GATEWAY_PORT"


def under_spark_submit() -> bool:
    """True when this Python process was started by spark-submit, which already fixed master and resources."""
    return _SUBMIT_ENV in os.environ


def checkpoint_dir(cfg: Config) -> str:
    return cfg.spark.checkpoint_dir or joined(cfg.warehouse_root, "_checkpoints")


def session_settings(cfg: Config, submitted: bool) -> dict[str, str]:
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
    }
    if not submitted:
        settings |= {
            "spark.master": s.master,
            "spark.driver.memory": s.driver_memory,
            "spark.jars.packages": s.delta_package,
            "spark.ui.enabled": str(s.ui_enabled).lower(),
            "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        }
    settings |= dict(s.conf)
    return settings


def get_spark(cfg: Config):
    """Build (or reuse) the SparkSession for `cfg`.

    Under spark-submit every setting the submit already has is left alone; we only fill in what is missing
    (Delta extensions, UTC, shuffle partitions). In local mode we launch the JVM with the Delta jar from
    `spark.delta_package`, resolved from Maven Central (or ~/.m2) by Spark's resolver.
    """
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    submitted = under_spark_submit()
    existing = SparkConf() if submitted else None
    builder = SparkSession.builder
    for key, value in session_settings(cfg, submitted).items():
        if existing is not None and existing.contains(key):
            continue
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(cfg.spark.log_level)
    ckpt = checkpoint_dir(cfg)
    if not is_uri(ckpt):
        Path(ckpt).mkdir(parents=True, exist_ok=True)
    spark.sparkContext.setCheckpointDir(ckpt)
    log.info("spark %s master=%s parallelism=%d shuffle_partitions=%s submit=%s",
             spark.version, spark.sparkContext.master, spark.sparkContext.defaultParallelism,
             spark.conf.get("spark.sql.shuffle.partitions"), submitted)
    return spark


@contextmanager
def run_checkpoint_dir(spark, cfg: Config, name: str) -> Iterator[str]:
    """A checkpoint directory of this run alone (under the configured one), deleted afterwards, even on failure."""
    sc = spark.sparkContext
    base = checkpoint_dir(cfg)
    path = f"{base.rstrip('/')}/{name}-{uuid.uuid4().hex[:12]}"
    sc.setCheckpointDir(path)
    try:
        yield path
    finally:
        jvm = sc._jvm
        hpath = jvm.org.apache.hadoop.fs.Path(path)
        hpath.getFileSystem(sc._jsc.hadoopConfiguration()).delete(hpath, True)
        sc.setCheckpointDir(base)
