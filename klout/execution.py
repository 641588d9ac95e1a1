"""Compiled or interpreted queries for a run date, chosen by the size of its window.

Spark generates and compiles Java for every query, and in every task for the projections it needs (Delta's log
replay and write statistics among them, over wide schemas): a fixed cost per query and task that large data earns
back many times and small data never does (on a small Higgs day it was half the CPU). A run date whose window
holds fewer interactions than `spark.interpreted_below` runs its queries interpreted; the results are the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.progress import log
from klout.session import session_conf
from klout.warehouse import Warehouse
from klout.window import first_day

# Spark's settings for interpreted execution: no whole-stage code, and interpreted projections and predicates
INTERPRETED = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def interactions_per_day(spark: SparkSession, cfg: Config, dates: list[dt.date]) -> dict[dt.date, int]:
    """The bronze interactions of every day the dates' windows span, from one count per day."""
    source = Warehouse(spark, cfg)[tables.INTERACTIONS].try_read()
    if source is None or not dates:
        return {}
    first = first_day(min(dates), cfg.features)
    return {
        r["event_date"]: r["n"]
        for r in source.where(F.col("event_date").between(F.lit(first), F.lit(max(dates))))
        .groupBy("event_date")
        .agg(F.count(F.lit(1)).alias("n"))
        .collect()
    }  # a row per day of the span


def window_total(per_day: dict[dt.date, int], run_date: dt.date, cfg: Config) -> int:
    """The interactions in `run_date`'s window, from `interactions_per_day`."""
    return sum(n for day, n in per_day.items() if first_day(run_date, cfg.features) <= day <= run_date)


@contextmanager
def execution_for(spark: SparkSession, cfg: Config, interactions: int, what: str) -> Iterator[None]:
    """Run the block (`what`, for the log) interpreted when `interactions` (the rows it reads) is below
    `spark.interpreted_below`, compiled otherwise. Settings given in `spark.conf` win; the session's own are
    restored afterwards."""
    if interactions >= cfg.spark.interpreted_below or any(key in cfg.spark.conf for key in INTERPRETED):
        yield
        return
    log.info(
        "execution %s: interpreted, %d interactions (spark.interpreted_below=%d)",
        what,
        interactions,
        cfg.spark.interpreted_below,
    )
    with session_conf(spark, INTERPRETED):
        yield
