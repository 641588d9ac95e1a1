"""Reliable checkpoints that klout owns: a run's folder under the configured checkpoint directory, where a frame is
written as files, read back in the partitioning the next join needs, and deleted when the run no longer needs it.

Spark's own `checkpoint()` writes where the session's checkpoint directory points, which is fixed when the Spark
Connect server (or the SparkContext) starts, and leaves its files until the JVM's garbage collector finds them. These
checkpoints are written with the DataFrame writer instead, so they work the same in classic mode and over Spark Connect,
on a local disk and on an object store: a lost executor's part is read back from the files, a run deletes each state
it has done with and its whole folder at its end, and a frame read back is hash-partitioned on its key into the same
partitions as before (a bucketed Parquet table, registered in the session catalog under a `_klout_ck_` name while the
run lasts), so the next join on that key needs no shuffle.

    with run_folder(spark, cfg, "graph-2012-07-01") as folder:
        state = save(state, joined(folder, "iteration-1"), partitions=8, key=["network", "account_id"])
        ...
        drop(spark, joined(folder, "iteration-1"))
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pyspark.sql import DataFrame, SparkSession

from klout import paths
from klout.config import Config
from klout.paths import joined

PREFIX = "_klout_ck_"


def directory(cfg: Config) -> str:
    """The configured checkpoint directory: `spark.checkpoint_dir`, by default `<warehouse>/_checkpoints`."""
    return cfg.spark.checkpoint_dir or joined(cfg.warehouse_root, "_checkpoints")


@contextmanager
def run_folder(spark: SparkSession, cfg: Config, name: str) -> Iterator[str]:
    """A folder of this run alone under the checkpoint directory; its files and catalog entries are deleted
    afterwards, even on failure."""
    folder = joined(directory(cfg), f"{name}-{uuid.uuid4().hex[:12]}")
    try:
        yield folder
    finally:
        for row in spark.sql(f"SHOW TABLES LIKE '{_run_prefix(folder)}*'").collect():  # this run's few states
            if not row["isTemporary"]:
                spark.sql(f"DROP TABLE IF EXISTS `{row['tableName']}`")
        paths.delete(spark, folder)


def save(df: DataFrame, folder: str, partitions: int, key: Sequence[str]) -> DataFrame:
    """Write `df` under `folder` (inside a `run_folder`) and return it read back from there, hash-partitioned on
    `key` into `partitions`: its lineage starts at the files. A `df` already partitioned that way is written
    without a shuffle."""
    spark = df.sparkSession
    name = _table(folder)
    # the folder and the name are new (a run folder's own): no overwrite, whose existence checks cost a fifth more
    df.write.format("parquet").bucketBy(partitions, *key).option("path", folder).saveAsTable(name)
    return spark.table(name)


def drop(spark: SparkSession, folder: str) -> None:
    """Delete what `save` wrote under `folder`: the catalog entry and the files."""
    spark.sql(f"DROP TABLE IF EXISTS `{_table(folder)}`")
    paths.delete(spark, folder)


def _table(folder: str) -> str:
    """The catalog name of `folder`'s checkpoint: its run folder's prefix and a digest of the folder itself."""
    return _run_prefix(folder.rstrip("/").rsplit("/", 1)[0]) + _digest(folder)


def _run_prefix(run: str) -> str:
    return f"{PREFIX}{_digest(run)}_"


def _digest(path: str) -> str:
    return hashlib.sha1(path.rstrip("/").encode()).hexdigest()[:16]
