"""The features step for one run date: complete window of per-day aggregates → feature_state → gold/features.

Aggregates the run date (unless this run's pass over a range already did) and any window day with interactions
but none yet (`klout.features.aggregates`), then advances yesterday's state by the run date and the day leaving the
window (or, when absent, rebuilds it from the per-day metrics in the window), and writes it and the features
assembled from it at once; every output is the run date's partition, replaced atomically, so rerunning a date or
backfilling a range gives the same tables. Opted-out accounts (`klout.privacy`) are dropped from the events and from
the features rows.
"""

from __future__ import annotations

import datetime as dt

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.exclusion import opted_out_accounts, without_accounts
from klout.features import dynamic
from klout.features.aggregates import complete_windows
from klout.features.assemble import assemble
from klout.features.profile import long_lasting
from klout.progress import log, step
from klout.warehouse import BoundTable, Warehouse
from klout.window import first_day, leaving_day


def run_features(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, int]:
    """Compute and write every features output for `run_date`; returns row counts per output."""
    wh = Warehouse(spark, cfg)
    counts: dict[str, int] = {}
    with step("features", date=run_date.isoformat()) as progress:
        excluded = opted_out_accounts(spark, cfg)  # None: nobody opted out
        aggregated, _ = complete_windows(spark, cfg, [run_date], excluded)
        counts |= {k: aggregated[k] for k in ("edges", "filled") if k in aggregated}
        dated = lambda df: df.withColumn("date", F.lit(run_date))  # noqa: E731
        with step("features.state", date=run_date.isoformat()) as c:
            # written and assembled from at once: the state is not read back from the table just written
            state = _window_state(spark, cfg, run_date).persist(StorageLevel.MEMORY_AND_DISK)
            history = wh[tables.PROFILES_HISTORY].read_or_empty()
            # the state may still hold an opted-out account's earlier metrics, and its profile is still in bronze
            features = without_accounts(
                assemble(state, long_lasting(history, run_date, cfg), run_date, cfg), excluded, "network", "account_id"
            )
            try:
                c["rows"], c["accounts"] = BoundTable.replace_together(
                    [(wh[tables.FEATURE_STATE], dated(state), run_date), (wh[tables.FEATURES], features, run_date)]
                )
            finally:
                state.unpersist()
            counts["features"] = c["accounts"]
        progress.update(counts)
    return counts


def _window_state(spark: SparkSession, cfg: Config, run_date: dt.date) -> DataFrame:
    """state(D) by the recurrence from state(D-1), or rebuilt from the per-day metrics when state(D-1) is absent."""
    wh = Warehouse(spark, cfg)
    daily = wh[tables.ACCOUNT_DAILY].read()
    today = daily.where(F.col("date") == F.lit(run_date)).drop("date")
    yesterday = run_date - dt.timedelta(days=1)
    previous = wh[tables.FEATURE_STATE].partition(yesterday)
    if previous is None:
        log.info("features.state: no state for %s; rebuilding from the per-day metrics in the window", yesterday)
        window = daily.where(F.col("date").between(first_day(run_date, cfg.features), run_date))
        return dynamic.rebuild(window, run_date, cfg)
    leaving = daily.where(F.col("date") == F.lit(leaving_day(run_date, cfg.features))).drop("date")
    return dynamic.advance(previous.drop("date"), today, leaving, cfg)
