"""The features step for one run date: bronze day → edges_daily, account_daily → feature_state → gold/features.

Reads only the run date's bronze partition, yesterday's state (or, when absent, the per-day metrics still in the
window) and the per-day metrics of the day leaving the window; every output is the run date's partition, replaced
atomically, so rerunning a date or backfilling a range in order gives the same tables. Opted-out accounts
(`klout.privacy`) are dropped from the day's events and from the features rows.
"""

from __future__ import annotations

import datetime as dt

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.errors import InputError
from klout.exclusion import opted_out_accounts, without_accounts
from klout.features import dynamic
from klout.features.assemble import assemble
from klout.features.profile import long_lasting
from klout.progress import log, step
from klout.warehouse import Warehouse
from klout.window import first_day, leaving_day


def day_events(spark: SparkSession, cfg: Config, run_date: dt.date) -> DataFrame:
    """The run date's bronze interactions; InputError (exit 3) naming the partition when the day has none."""
    wh = Warehouse(spark, cfg)
    events = wh[tables.INTERACTIONS].read().where(F.col("event_date") == F.lit(run_date))
    if events.isEmpty():
        raise InputError(
            f"{tables.INTERACTIONS.name} has no partition for {run_date}: ingest that day's "
            f"interactions first (`klout ingest --source ...`)"
        )
    return events


def run_features(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, int]:
    """Compute and write every features output for `run_date`; returns row counts per output."""
    wh = Warehouse(spark, cfg)
    counts: dict[str, int] = {}
    with step("features", date=run_date.isoformat()) as progress:
        excluded = opted_out_accounts(spark, cfg)  # None: nobody opted out
        counts["edges"] = run_day(spark, cfg, run_date, excluded, day_events(spark, cfg, run_date))["edges"]
        dated = lambda df: df.withColumn("date", F.lit(run_date))  # noqa: E731
        today = wh[tables.ACCOUNT_DAILY].read().where(F.col("date") == F.lit(run_date)).drop("date")
        with step("features.state", date=run_date.isoformat()) as c:
            state = _window_state(spark, cfg, run_date, today)
            c["rows"] = wh[tables.FEATURE_STATE].replace_partition(dated(state), run_date)
        state = wh[tables.FEATURE_STATE].read().where(F.col("date") == F.lit(run_date)).drop("date")
        history = wh[tables.PROFILES_HISTORY].read_or_empty()
        with step("features.assemble", date=run_date.isoformat()) as c:
            # the state may still hold an opted-out account's earlier metrics, and its profile is still in bronze
            features = without_accounts(
                assemble(state, long_lasting(history, run_date, cfg), run_date, cfg), excluded, "network", "account_id"
            )
            c["accounts"] = counts["features"] = wh[tables.FEATURES].replace_partition(features, run_date)
        progress.update(counts)
    return counts


def run_day(
    spark: SparkSession, cfg: Config, day: dt.date, excluded: DataFrame | None, events: DataFrame | None = None
) -> dict[str, int]:
    """The day part of the features step: `day`'s bronze interactions (`events`, default the whole partition, which
    may be empty) without the `excluded` accounts (`klout.privacy`) → its silver/edges_daily and
    silver/account_daily partitions, each replaced atomically. Opt-out and erasure call it to recompute past days."""
    wh = Warehouse(spark, cfg)
    if events is None:
        events = wh[tables.INTERACTIONS].read().where(F.col("event_date") == F.lit(day))
    events = without_accounts(events, excluded, "network", "actor_id", "target_id")
    who = wh[tables.ACCOUNT_INFLUENCE].latest_before(day)  # None: Who defaults
    dated = lambda df: df.withColumn("date", F.lit(day))  # noqa: E731
    with step("features.day", date=day.isoformat(), who="previous graph" if who else "default") as c:
        factored = dynamic.factored_pair_actions(events, cfg).persist(StorageLevel.MEMORY_AND_DISK)  # both outputs
        try:
            c["edges"] = wh[tables.EDGES_DAILY].replace_partition(dated(dynamic.day_edges(factored)), day)
            edges = wh[tables.EDGES_DAILY].read().where(F.col("date") == F.lit(day))
            metrics = dynamic.day_metrics(factored, edges, events, cfg, who)
            c["metrics"] = wh[tables.ACCOUNT_DAILY].replace_partition(dated(metrics), day)
        finally:
            factored.unpersist()
    return {"edges": c["edges"], "metrics": c["metrics"]}


def _window_state(spark: SparkSession, cfg: Config, run_date: dt.date, today: DataFrame) -> DataFrame:
    """state(D) by the recurrence from state(D-1), or rebuilt from the per-day metrics when state(D-1) is absent."""
    wh = Warehouse(spark, cfg)
    yesterday = run_date - dt.timedelta(days=1)
    previous = wh[tables.FEATURE_STATE].partition(yesterday)
    if previous is None:
        log.info("features.state: no state for %s; rebuilding from the per-day metrics in the window", yesterday)
        first = first_day(run_date, cfg.features)
        dailies = (
            wh[tables.ACCOUNT_DAILY].read().where((F.col("date") >= F.lit(first)) & (F.col("date") < F.lit(run_date)))
        )
        return dynamic.rebuild(dailies.unionByName(today.withColumn("date", F.lit(run_date))), run_date, cfg)
    leaving_date = leaving_day(run_date, cfg.features)
    leaving = wh[tables.ACCOUNT_DAILY].read().where(F.col("date") == F.lit(leaving_date)).drop("date")
    return dynamic.advance(previous.drop("date"), today, leaving, cfg)
