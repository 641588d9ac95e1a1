"""The per-day aggregates of any set of days in one job: bronze interactions → silver/edges_daily and
silver/account_daily, grouped by date, each table replaced for all those days in one commit.

A run date's window is complete before it is used: `complete_windows` computes the run dates themselves and every
window day that has bronze interactions but no aggregates yet, in the same pass, and says how many it filled. A
feature state built before such a day was aggregated is stale, so those states are dropped and the next run date
rebuilds its window from the per-day metrics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from contextvars import ContextVar

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.errors import InputError
from klout.exclusion import without_accounts
from klout.features import dynamic
from klout.progress import log, step
from klout.warehouse import Warehouse
from klout.window import first_day, span

# Run dates whose aggregates this run already computed (the pipeline's pass over a range): their features step
# uses them as they are instead of computing them again.
AGGREGATED: ContextVar[frozenset[dt.date]] = ContextVar("klout_aggregated", default=frozenset())


def aggregate_days(spark: SparkSession, cfg: Config, days: Collection[dt.date], excluded: DataFrame | None) -> dict:
    """Compute and write the edges and metrics of `days` from bronze, without the `excluded` accounts
    (`klout.privacy`), in one pass grouped by date; returns the rows written per table. A day of `days` with no
    interactions gets empty partitions (opt-out and erasure recompute days that may have lost all their rows)."""
    days = sorted(set(days))
    if not days:
        return {"days": 0, "edges": 0, "metrics": 0}
    wh = Warehouse(spark, cfg)
    events = wh[tables.INTERACTIONS].read().where(F.col("event_date").isin(days))
    events = without_accounts(events, excluded, "network", "actor_id", "target_id")
    reactions = dynamic.by_day(events)
    with step("features.days", days=span(days)) as c:
        factored = dynamic.factored_pair_actions(reactions, cfg).persist(StorageLevel.MEMORY_AND_DISK)  # both outputs
        try:
            edges = dynamic.daily_edges(factored).persist(StorageLevel.MEMORY_AND_DISK)  # written, and metrics read it
            try:
                c["edges"] = wh[tables.EDGES_DAILY].replace_dates(edges, days)
                metrics = dynamic.daily_metrics(factored, edges, reactions, cfg)
                c["metrics"] = wh[tables.ACCOUNT_DAILY].replace_dates(metrics, days)
            finally:
                edges.unpersist()
        finally:
            factored.unpersist()
        c["days"] = len(days)
    return dict(c)


def complete_windows(
    spark: SparkSession,
    cfg: Config,
    run_dates: Collection[dt.date],
    excluded: DataFrame | None,
    *,
    strict: bool = True,
    recompute: bool = False,
) -> tuple[dict[str, int], frozenset[dt.date]]:
    """Aggregate the run dates (except those this run already did: `AGGREGATED`) and every day of their windows that
    has bronze interactions but no aggregates (with `recompute`, every window day with interactions), in one pass.
    The window states (`tables.WINDOW_STATES`) from a day aggregated here that is not a run date on are stale, and
    dropped. Returns the counts (days aggregated, window days filled, rows written) and the run dates aggregated. A
    run date without interactions is InputError (exit 3) when `strict`, else left out."""
    runs = set(run_dates) - AGGREGATED.get()
    if not runs:
        return {"days": 0, "filled": 0}, frozenset()
    wh = Warehouse(spark, cfg)
    first, last = first_day(min(runs), cfg.features), max(runs)
    window = {d for d in _dates(wh, tables.INTERACTIONS, "event_date", first, last) if _in_a_window(d, runs, cfg)}
    if missing := runs - window:
        if strict:
            raise no_interactions(missing)
        runs -= missing
    filled = window - _dates(wh, tables.ACCOUNT_DAILY, "date", first, last) - runs
    if filled:
        log.info(
            "features: filling %d window day(s) with interactions but no aggregates: %s",
            len(filled),
            span(filled),
        )
    days = window if recompute else runs | filled
    counts = aggregate_days(spark, cfg, days, excluded)
    if stale := days - runs:
        for state in tables.WINDOW_STATES:
            dropped = wh[state].delete(F.col("date") >= F.lit(min(stale)))
            log.info(
                "features: dropped %d %s row(s) from %s on, built before those days", dropped, state.name, min(stale)
            )
    return {**counts, "filled": len(filled)}, frozenset(runs)


def no_interactions(days: Collection[dt.date]) -> InputError:
    """The error (exit 3) of run dates without bronze interactions, naming them."""
    return InputError(
        f"{tables.INTERACTIONS.name} has no partition for {span(days)}: ingest that day's interactions first "
        "(`klout ingest --source ...`)"
    )


def _in_a_window(day: dt.date, run_dates: Collection[dt.date], cfg: Config) -> bool:
    return any(first_day(d, cfg.features) <= day <= d for d in run_dates)


def _dates(wh: Warehouse, table: tables.Table, column: str, first: dt.date, last: dt.date) -> set[dt.date]:
    """The dates between `first` and `last` with rows in `table` (its partition column only: a few file footers)."""
    df = wh[table].try_read()
    if df is None:
        return set()
    rows = df.where(F.col(column).between(first, last)).select(column).distinct().collect()  # at most a window of days
    return {r[0] for r in rows}
