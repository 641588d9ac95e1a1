"""Table maintenance: compact small files (OPTIMIZE) and delete files no recent version needs (VACUUM)."""

from __future__ import annotations

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
    previous = spark.conf.get(_RETENTION_CHECK, "true")
    spark.conf.set(_RETENTION_CHECK, "false")
    try:
        for table in tables.ALL:
            if not tables.exists(spark, cfg, table):
                continue
            with step("maintain", table=table.name, retention_hours=m.vacuum_retention_hours) as counts:
                delta = DeltaTable.forPath(spark, table.path(cfg))
                if m.optimize:
                    metrics = delta.optimize().executeCompaction().first()["metrics"]
                    counts["files_compacted"] = int(metrics["numFilesRemoved"])
                    counts["files_written"] = int(metrics["numFilesAdded"])
                # the dry run lists what the vacuum will delete (counted on the executors), then it deletes
                counts["files_deleted"] = spark.sql(
                    f"VACUUM delta.`{table.path(cfg)}` RETAIN {m.vacuum_retention_hours} HOURS DRY RUN").count()
                delta.vacuum(m.vacuum_retention_hours)
            done[table.name] = {k: v for k, v in counts.items() if k != "seconds"}
    finally:
        spark.conf.set(_RETENTION_CHECK, previous)
    return done
