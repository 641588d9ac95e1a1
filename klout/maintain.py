"""Table maintenance: compact small files (OPTIMIZE) and delete files no recent version needs (VACUUM)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession

from klout import tables
from klout.config import Config, MaintenanceConfig
from klout.progress import step
from klout.session import session_conf
from klout.warehouse import BoundTable, Warehouse

# Delta refuses a VACUUM retention under 7 days unless this check is off; the configured retention is the decision.
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
# with it on, each VACUUM commits its own counts (a "VACUUM END" entry in the table's history)
_VACUUM_LOGGING = "spark.databricks.delta.vacuum.logging.enabled"
# VACUUM lists the table's directories in this many tasks (Spark's default, 10,000, costs a small table 30 s locally)
_LISTING_TASKS = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def maintain(spark: SparkSession, cfg: Config) -> dict[str, dict[str, int]]:
    """OPTIMIZE (when configured) and VACUUM every existing table; returns files compacted and removed per table."""
    m = cfg.maintenance
    wh = Warehouse(spark, cfg)
    done: dict[str, dict[str, int]] = {}
    with vacuum_settings(spark):
        for table in tables.ALL:
            bound = wh[table]
            if not bound.exists():
                continue
            with step("maintain", table=table.name, retention_hours=m.vacuum_retention_hours) as counts:
                if m.optimize:
                    counts.update(bound.optimize())
                counts["files_deleted"] = vacuum(bound, m)
            done[table.name] = {k: v for k, v in counts.items() if k != "seconds"}
    return done


@contextmanager
def vacuum_settings(spark: SparkSession) -> Iterator[None]:
    """Let VACUUM use `maintenance.vacuum_retention_hours` even under Delta's 7-day safety check, log its counts in
    the table's history, and list files in at most 4 tasks per shuffle partition; then restore the settings."""
    listing = int(spark.conf.get(_LISTING_TASKS, None) or 10_000)
    settings = {
        _RETENTION_CHECK: "false",
        _VACUUM_LOGGING: "true",
        _LISTING_TASKS: str(max(1, min(listing, 4 * int(spark.conf.get("spark.sql.shuffle.partitions") or 1)))),
    }
    with session_conf(spark, settings):
        yield


def vacuum(table: BoundTable, m: MaintenanceConfig) -> int:
    """VACUUM `table`, keeping what versions of the last `maintenance.vacuum_retention_hours` need; returns the
    files deleted (Delta's own count, from the VACUUM END entry the vacuum commits: one pass over the files)."""
    with vacuum_settings(table.spark):
        return table.vacuum(m.vacuum_retention_hours)
