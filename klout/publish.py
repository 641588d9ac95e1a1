"""Reading published scores for people: the top of a day, one person's explanation, every score exported as CSV,
JSON lines or Parquet (written by the executors, or streamed to stdout when small)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import IO

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from klout import paths, tables
from klout.errors import InputError
from klout.paths import resolved
from klout.warehouse import Warehouse

EXPORT_FORMATS = ("csv", "json", "parquet")
STDOUT_LIMIT = 100_000  # rows `klout scores` streams to stdout through the driver; more need --output
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


def _highest_first() -> list[Column]:
    """The published order of a day's scores: highest first, ties by person id."""
    return [F.desc("score"), F.asc("person_id")]


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
        order = [F.desc("network_score"), *_highest_first()]
    else:
        order = _highest_first()
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


def export_frame(spark: SparkSession, cfg, run_date: dt.date, fmt: str) -> DataFrame:
    """Every person's published score of the day in the export's columns; for CSV the network scores as JSON text
    (CSV has no map type)."""
    scores = day_scores(spark, cfg, run_date).select(*EXPORT_COLUMNS)
    return scores.withColumn("network_scores", F.to_json("network_scores")) if fmt == "csv" else scores


def write_scores(spark: SparkSession, cfg, run_date: dt.date, fmt: str, output: str, single_file: bool) -> int:
    """Write every score of the day to `output` (a local path or a URI) with Spark's writer for `fmt`, by the
    executors: a folder of part files that hold the scores highest first (part-00000 the top), or with `single_file`
    one file at `output` (written by one task, then moved there). An existing output is replaced. Returns the rows
    written, counted while writing."""
    frame = export_frame(spark, cfg, run_date, fmt)
    order = _highest_first()
    frame = frame.coalesce(1).sortWithinPartitions(*order) if single_file else frame.orderBy(*order)
    counted = Observation(f"klout_export_{uuid.uuid4().hex}")
    writer = frame.observe(counted, F.count(F.lit(1)).alias("rows")).write.mode("overwrite").format(fmt)
    if fmt == "csv":
        writer = writer.option("header", "true").option("escape", '"')  # RFC 4180 quotes, as Python's csv writes
    elif fmt == "json":
        writer = writer.option("ignoreNullFields", "false")
    target = resolved(output)
    folder = f"{target.rstrip('/')}.parts-{uuid.uuid4().hex[:8]}" if single_file else target
    writer.save(folder)
    if single_file:
        paths.move_single_part(spark, folder, target)
    return int(counted.get["rows"])


def export_rows(spark: SparkSession, cfg, run_date: dt.date, fmt: str, limit: int = STDOUT_LIMIT) -> Iterator[dict]:
    """Every score of the day, highest first, streamed through the driver a partition at a time for stdout; more
    than `limit` rows is an InputError naming `--output` (which the executors write)."""
    frame = export_frame(spark, cfg, run_date, fmt)
    rows = frame.count()
    if rows > limit:
        raise InputError(
            f"{rows:,} scores on {run_date} are more than the {limit:,} klout streams to stdout through the driver: "
            "write them with --output PATH_OR_URI (or raise --limit)"
        )
    for row in frame.orderBy(*_highest_first()).toLocalIterator():
        yield row.asDict(recursive=True)


def write_export(rows: Iterator[dict], fmt: str, out: IO[str]) -> int:
    """Write rows to a text stream as CSV with a header or as JSON lines, the formats `write_scores` writes;
    returns the rows written."""
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow(r)
            n += 1
    else:
        for r in rows:
            out.write(json.dumps(r, sort_keys=False) + "\n")
            n += 1
    return n
