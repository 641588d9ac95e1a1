"""The ingest step: read a source, validate it, MERGE good rows into bronze and bad rows into quarantine.

Idempotent: bronze rows are keyed (event_id; account+snapshot date; account), quarantine rows by a hash of
kind, source, reason and raw record, so ingesting the same source again changes no table's contents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from klout import tables
from klout.clock import now_utc
from klout.config import Config
from klout.ingest import readers, validate
from klout.progress import log, step
from klout.warehouse import Warehouse, values_differ


@dataclass
class IngestReport:
    """What one ingest did; `rows_read` = accepted + sum(quarantined)."""

    kind: str
    source: str
    format: str
    rows_read: int = 0
    accepted: int = 0  # good rows in the batch (after in-batch de-duplication)
    inserted: int = 0  # new rows in the main table
    updated: int = 0  # rows of the main table that changed
    quarantined: dict[str, int] = field(default_factory=dict)  # reason -> rows of this batch
    quarantine_inserted: int = 0  # new rows in the quarantine table
    dates: list[str] = field(default_factory=list)  # event dates of the accepted rows
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        """Accepted rows the table already held as they are (a rerun)."""
        return self.accepted - self.inserted - self.updated


def ingest(
    spark: SparkSession,
    cfg: Config,
    path: str,
    fmt: str | None = None,
    kind: str = "interactions",
    network: str | None = None,
    now: dt.datetime | None = None,
) -> IngestReport:
    """Ingest one source of `kind` into the warehouse and report what happened."""
    fmt = fmt or readers.guess_format(path)
    now = now or now_utc()
    source = readers.source_name(path)
    report = IngestReport(kind=kind, source=source, format=fmt)
    with step(f"ingest.{kind}", source=source, format=fmt) as counts:
        raw = readers.read_source(spark, cfg, path, fmt, kind, network)
        checked = (
            _validate(raw, cfg, kind, now)
            .withColumn("source", F.lit(source))
            .withColumn("ingested_at", F.lit(now))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        try:
            _tally(checked, report)
            good = checked.where(F.col("reason").isNull())
            if kind == "interactions":
                _write_interactions(spark, cfg, good, report)
            elif kind == "profiles":
                _write_profiles(spark, cfg, good, report)
            else:
                _write_identities(spark, cfg, good, report)
            if report.quarantined:
                report.quarantine_inserted = _write_quarantine(spark, cfg, checked, kind, source)["inserted"]
        finally:
            checked.unpersist()
        counts.update(
            read=report.rows_read,
            accepted=report.accepted,
            inserted=report.inserted,
            updated=report.updated,
            quarantined=sum(report.quarantined.values()),
        )
    report.seconds = counts["seconds"]
    for reason, n in sorted(report.quarantined.items()):
        log.warning("ingest.%s: quarantined %d row(s): %s", kind, n, reason)
    return report


def _validate(raw: DataFrame, cfg: Config, kind: str, now: dt.datetime) -> DataFrame:
    if kind == "interactions":
        return validate.interactions(raw, cfg, now)
    if kind == "profiles":
        return validate.profiles(raw, cfg, now)
    return validate.identities(raw, cfg)


def _tally(checked: DataFrame, report: IngestReport) -> None:
    """One small aggregate (reasons x dates) gives every count of the report and the batch's dates."""
    rows = checked.groupBy("reason", "event_date").count().collect()
    report.rows_read = sum(r["count"] for r in rows)
    report.accepted = sum(r["count"] for r in rows if r["reason"] is None)
    report.dates = sorted({r["event_date"].isoformat() for r in rows if r["reason"] is None and r["event_date"]})
    for r in rows:
        if r["reason"] is not None:
            report.quarantined[r["reason"]] = report.quarantined.get(r["reason"], 0) + r["count"]


def _write_interactions(spark: SparkSession, cfg: Config, good: DataFrame, report: IngestReport) -> None:
    wh = Warehouse(spark, cfg)
    if not report.dates:
        return
    dates = ", ".join(f"DATE'{d}'" for d in report.dates)
    # the batch's dates as literals let Delta skip every other partition of the target
    metrics = wh[tables.INTERACTIONS].merge(good, prune=f"t.event_date IN ({dates})")
    report.inserted = metrics["inserted"]


def _write_profiles(spark: SparkSession, cfg: Config, good: DataFrame, report: IngestReport) -> None:
    wh = Warehouse(spark, cfg)
    if report.accepted == 0:
        return
    values = [
        c
        for c in tables.PROFILES_HISTORY.schema.fieldNames()
        if c not in tables.PROFILES_HISTORY.key + ("source", "ingested_at")
    ]
    changed = values_differ(values)
    history = wh[tables.PROFILES_HISTORY].merge(good, update_when=changed)
    newest = Window.partitionBy("network", "user_id").orderBy(F.col("snapshot_date").desc())
    latest = good.withColumn("_rank", F.row_number().over(newest)).where("_rank = 1")
    wh[tables.PROFILES_LATEST].merge(
        latest, update_when=f"s.snapshot_date > t.snapshot_date OR (s.snapshot_date = t.snapshot_date AND {changed})"
    )
    report.inserted, report.updated = history["inserted"], history["updated"]


def _write_identities(spark: SparkSession, cfg: Config, good: DataFrame, report: IngestReport) -> None:
    wh = Warehouse(spark, cfg)
    if report.accepted == 0:
        return
    metrics = wh[tables.IDENTITIES].merge(good, update_when="t.person_id <> s.person_id")
    report.inserted, report.updated = metrics["inserted"], metrics["updated"]


def _write_quarantine(spark: SparkSession, cfg: Config, checked: DataFrame, kind: str, source: str) -> dict:
    wh = Warehouse(spark, cfg)
    rows = (
        checked.where(F.col("reason").isNotNull())
        .groupBy("reason", "raw")
        .agg(
            F.count(F.lit(1)).alias("occurrences"),
            F.min("event_date").alias("event_date"),
            F.min("ingested_at").alias("ingested_at"),
        )
        .withColumns(
            {
                "kind": F.lit(kind),
                "source": F.lit(source),
                "quarantine_id": F.sha2(F.concat_ws("\u001f", F.lit(kind), F.lit(source), "reason", "raw"), 256),
            }
        )
    )
    return wh[tables.QUARANTINE].merge(rows)
