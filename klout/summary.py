"""What the warehouse holds, as small aggregates for people to read (the demo and `klout summary` print them)."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.warehouse import Warehouse

Section = tuple[str, list[str], list[tuple]]


def warehouse_summary(spark: SparkSession, cfg: Config) -> list[Section]:
    """Interactions per day, network and action; quarantine per kind and reason; profiles and identities."""
    wh = Warehouse(spark, cfg)
    out: list[Section] = []
    if wh[tables.INTERACTIONS].exists():
        df = wh[tables.INTERACTIONS].read()
        rows = (
            df.groupBy("event_date", "network", "action").count().orderBy("event_date", "network", "action").collect()
        )
        out.append(
            (
                "interactions per day, network and action",
                ["date", "network", "action", "rows"],
                [(r["event_date"].isoformat(), r["network"], r["action"], r["count"]) for r in rows],
            )
        )
        total = sum(r[3] for r in out[-1][2])
        out.append(("interactions in total", ["rows", "days"], [(total, len({r[0] for r in out[-1][2]}))]))
    if wh[tables.QUARANTINE].exists():
        rows = (
            wh[tables.QUARANTINE]
            .read()
            .groupBy("kind", "reason")
            .agg(F.sum("occurrences").alias("rows"), F.count(F.lit(1)).alias("distinct"))
            .orderBy("kind", "reason")
            .collect()
        )
        out.append(
            (
                "quarantined rows by reason",
                ["kind", "reason", "rows", "distinct records"],
                [(r["kind"], r["reason"], r["rows"], r["distinct"]) for r in rows],
            )
        )
    for table, title in (
        (tables.PROFILES_HISTORY, "profile snapshots"),
        (tables.PROFILES_LATEST, "latest profiles"),
        (tables.IDENTITIES, "identity links"),
    ):
        if wh[table].exists():
            rows = wh[table].read().groupBy("network").count().orderBy("network").collect()
            out.append((f"{title} per network", ["network", "rows"], [(r["network"], r["count"]) for r in rows]))
    return out
