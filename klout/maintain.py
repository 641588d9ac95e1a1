"""Table maintenance: compact small files (OPTIMIZE) and delete files no recent version needs (VACUUM)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from klout import tables
from klout.config import Config
from klout.progress import step

# Delta refuses a VACUUM retention under 7 days unless this check is off; the configured retention is the decision.
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"


def maintain(spark: SparkSession, cfg: Config) -> dict[str, dict[str, int]]:
    """OPTIMIZE (when configured) and VACUUM every existing table; returns files compacted and removed per table."""
    m = cfg.maintenance
    done: dict[str, dict[str, int]] = {}
    with configured_retention(spark):
        for table in tables.ALL:
            if not tables.exists(spark, cfg, table):
                continue
            with step("maintain", table=table.name, retention_hours=m.vacuum_retention_hours) as counts:
                if m.optimize:
                    metrics = DeltaTable.forPath(spark, table.path(cfg)).optimize().executeCompaction().first()
                    counts["files_compacted"] = int(metrics["metrics"]["numFilesRemoved"])
                    counts["files_written"] = int(metrics["metrics"]["numFilesAdded"])
                counts["files_deleted"] = vacuum(spark, cfg, table)
            done[table.name] = {k: v for k, v in counts.items() if k != "seconds"}
    return done


@contextmanager
def configured_retention(spark: SparkSession) -> Iterator[None]:
    """Let VACUUM use `maintenance.vacuum_retention_hours` even under Delta's 7-day safety check, then restore it."""
    previous = spark.conf.get(_RETENTION_CHECK, "true")
    spark.conf.set(_RETENTION_CHECK, "false")
    try:
        yield
    finally:
        spark.conf.set(_RETENTION_CHECK, previous)


def vacuum(spark: SparkSession, cfg: Config, table: tables.Table) -> int:
    """VACUUM `table`, keeping what versions of the last `maintenance.vacuum_retention_hours` need; returns the
    files deleted (the dry run lists them, counted on the executors, then the vacuum deletes them)."""
    hours = cfg.maintenance.vacuum_retention_hours
    with configured_retention(spark):
        deleted = spark.sql(f"VACUUM delta.`{table.path(cfg)}` RETAIN {hours} HOURS DRY RUN").count()
        DeltaTable.forPath(spark, table.path(cfg)).vacuum(hours)
    return deleted
