"""Reading published scores for people: the top of a day, one person's explanation, every score as CSV or JSON."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import IO

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.errors import InputError
from klout.warehouse import Warehouse

EXPORT_COLUMNS = (
    "person_id",
    "score",
    "rank",
    "percentile",
    "change_1d",
    "change_7d",
    "true_reach",
    "amplification",
    "network_impact",
    "network_scores",
)


def day_scores(spark: SparkSession, cfg, run_date: dt.date) -> DataFrame:
    wh = Warehouse(spark, cfg)
    return wh[tables.SCORES].required_partition(run_date, "score")


def top(spark: SparkSession, cfg, run_date: dt.date, n: int, network: str | None = None) -> list:
    """The n highest scores of the day (by the network's own score with `network`), as Rows; a distributed top-n."""
    scores = day_scores(spark, cfg, run_date)
    if network is not None:
        scores = scores.withColumn("network_score", F.col("network_scores")[network]).where(
            F.col("network_score").isNotNull()
        )
        order: list[Column | str] = [F.desc("network_score"), F.desc("score"), "person_id"]
    else:
        order = [F.desc("score"), "person_id"]
    cols = [
        "rank",
        "person_id",
        "score",
        *(["network_score"] if network else []),
        "change_1d",
        "true_reach",
        "amplification",
        "network_impact",
    ]
    return scores.orderBy(*order).select(*cols).limit(n).collect()


def explanation(
    spark: SparkSession, cfg, run_date: dt.date, person_id: str | None = None, rank: int | None = None
) -> dict:
    """One person's explanation row of the day (by id, or the first person at `rank`) as a plain dict;
    InputError when there is none."""
    wh = Warehouse(spark, cfg)
    if person_id is None:
        at_rank = day_scores(spark, cfg, run_date).where(F.col("rank") == F.lit(rank)).orderBy("person_id").limit(1)
        found = at_rank.select("person_id").collect()
        if not found:
            raise InputError(f"no person at rank {rank} on {run_date}")
        person_id = found[0]["person_id"]
    rows = (
        wh[tables.SCORE_EXPLANATIONS]
        .required_partition(run_date, "score")
        .where(F.col("person_id") == person_id)
        .collect()
    )
    if not rows:
        raise InputError(f"no score for person {person_id!r} on {run_date}")
    return rows[0].asDict(recursive=True)


def export_rows(spark: SparkSession, cfg, run_date: dt.date) -> Iterator[dict]:
    """Every person's published score of the day, highest first, streamed a partition at a time (the driver never
    holds them all)."""
    scores = day_scores(spark, cfg, run_date).orderBy(F.desc("score"), "person_id").select(*EXPORT_COLUMNS)
    for row in scores.toLocalIterator():
        yield row.asDict(recursive=True)


def write_export(rows: Iterator[dict], fmt: str, out: IO[str]) -> int:
    """Write rows as CSV with a header (network_scores as JSON text) or JSON lines; returns the rows written."""
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "network_scores": json.dumps(r["network_scores"], sort_keys=True)})
            n += 1
    else:
        for r in rows:
            out.write(json.dumps(r, sort_keys=False) + "\n")
            n += 1
    return n
