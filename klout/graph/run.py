"""The graph step for one run date: window edges → influence fixed point → gold/account_influence.

Reads gold/features of the run date (the prior; exit 3 when missing), the window's edges (silver/window_edges of the
day before advanced by silver/edges_daily, `klout.graph.window`) and, for a warm start, the latest earlier
account_influence; replaces the run date's window_edges and account_influence partitions, each atomically.
Opted-out accounts (`klout.privacy`) are dropped from the window's edges and the features, as target and reactor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.checkpoints import run_folder
from klout.config import Config
from klout.exclusion import opted_out_accounts, without_accounts
from klout.graph.iterate import KEY, Convergence, converge, partitions_for, persist_edges, persist_vertices
from klout.graph.prior import vertices
from klout.graph.trust import with_trust
from klout.graph.window import advance_window_edges, window_edges, with_reactor_attention, with_shares
from klout.progress import log, step
from klout.warehouse import Warehouse
from klout.weights import exact_sum
from klout.window import leaving_day

TOP_REACTORS = tables.ACCOUNT_INFLUENCE.schema["top_reactors"].dataType


def account_influence(state: DataFrame, edges: DataFrame, cfg: Config) -> DataFrame:
    """The gold/account_influence rows (without date) from the converged state (with each account's prior) and the
    edges:
    influence on the mean-1 scale split into profile and reactions, reach, audience and top reactors."""
    d = cfg.graph.damping
    means = state.groupBy("network").agg((exact_sum("raw") / F.count(F.lit(1))).alias("_mean"))
    accounts = state.join(F.broadcast(means), "network").select(
        *KEY,
        "raw",
        (F.col("raw") / F.col("_mean")).alias("influence"),
        (F.lit(1.0 - d) / F.col("_mean")).alias("_bare"),
        (F.lit(1.0 - d) * (F.col("prior") - F.lit(1.0)) / F.col("_mean")).alias("from_profile"),
    )
    accounts = accounts.withColumn("from_reactions", F.col("influence") - F.col("_bare") - F.col("from_profile"))

    reactor = accounts.select("network", F.col("account_id").alias("actor_id"), F.col("influence").alias("_ri"))
    engaged = (
        edges.join(reactor, ["network", "actor_id"])
        .withColumn("contribution", F.lit(d) * F.col("_ri") * F.col("share"))
        .withColumnRenamed("target_id", "account_id")
    )
    k = cfg.graph.top_reactors
    # the top k reactors by contribution (ties: the smaller reactor id) in the same aggregation, which keeps at most
    # k per group and task before the shuffle: a hub's in-edges are never sorted whole in one task
    top = F.min_by(
        F.struct(F.col("actor_id").alias("reactor_id"), "contribution"),
        F.struct(-F.col("contribution"), F.col("actor_id")),
        k,
    )
    audience = engaged.groupBy(*KEY).agg(
        F.count(F.lit(1)).alias("reactors"),  # pairs are unique over the window: an exact distinct count
        exact_sum("weight").alias("engaged_weight"),
        F.try_divide(exact_sum(F.col("weight") * F.col("_ri")), exact_sum("weight")).alias("audience_influence"),
        (top if k > 0 else F.lit(None)).cast(TOP_REACTORS).alias("top_reactors"),
    )
    out = accounts.join(audience, KEY, "left")
    return out.select(
        *KEY,
        "influence",
        "raw",
        "from_profile",
        "from_reactions",
        F.coalesce("reactors", F.lit(0)).cast("long").alias("reactors"),
        F.coalesce("engaged_weight", F.lit(0.0)).alias("engaged_weight"),
        "audience_influence",
        F.coalesce("top_reactors", F.array().cast(TOP_REACTORS)).alias("top_reactors"),
    )


def _window_edges(wh: Warehouse, run_date: dt.date, cfg: Config) -> DataFrame:
    """The window's edges on `run_date` by the recurrence from the day before's, or rebuilt from the daily edges in
    the window when the day before's are absent (first run, a gap, or stale states dropped)."""
    daily = wh[tables.EDGES_DAILY].read()
    yesterday = run_date - dt.timedelta(days=1)
    previous = wh[tables.WINDOW_EDGES].partition(yesterday)
    if previous is None:
        log.info("graph.window: no window edges for %s; rebuilding from the daily edges in the window", yesterday)
        return window_edges(daily, run_date, cfg)
    today = daily.where(F.col("date") == F.lit(run_date))
    leaving = daily.where(F.col("date") == F.lit(leaving_day(run_date, cfg.features)))
    return advance_window_edges(previous.drop("date"), today, leaving, cfg)


def run_graph(
    spark: SparkSession, cfg: Config, run_date: dt.date, on_converged: Callable[[Convergence], None] | None = None
) -> dict[str, object]:
    """Compute and write gold/account_influence for `run_date`; returns counts and how the pass converged.
    `on_converged` (benchmarks) receives the pass's Convergence, per-iteration seconds included."""
    wh = Warehouse(spark, cfg)
    with step("graph", date=run_date.isoformat()) as progress:
        excluded = opted_out_accounts(spark, cfg)  # None: nobody opted out
        features = without_accounts(
            wh[tables.FEATURES].required_partition(run_date, "features"), excluded, "network", "account_id"
        )
        # the window's pairs, the running state: written first, then read back, since a write to the table drops
        # every cached frame that read it (the state is computed from the day before's partition)
        table = wh[tables.WINDOW_EDGES]
        state = table.replace_partition(_window_edges(wh, run_date, cfg).withColumn("date", F.lit(run_date)), run_date)
        window = table.read().where(F.col("date") == F.lit(run_date)).drop("date")
        # the state keeps history from before an opt-out: drop the accounts as target and as reactor
        kept = without_accounts(window, excluded, "network", "actor_id", "target_id")
        partitions = partitions_for(state, cfg.spark.shuffle_partitions)
        by_reactor = persist_edges(
            kept, partitions, per_reactor=lambda e: with_trust(with_reactor_attention(e), features, cfg)
        )
        edges = with_shares(by_reactor, cfg)
        start = wh[tables.ACCOUNT_INFLUENCE].latest_before(run_date) if cfg.graph.warm_start else None
        verts = persist_vertices(vertices(features, edges, cfg), partitions)
        try:
            pairs = edges.count()
            with run_folder(spark, cfg, f"graph-{run_date.isoformat()}") as checkpoints:
                result = converge(verts, edges, start, cfg.graph, partitions, checkpoints)
                if on_converged is not None:
                    on_converged(result)
                rows = account_influence(result.state, edges, cfg).withColumn("date", F.lit(run_date))
                accounts = wh[tables.ACCOUNT_INFLUENCE].replace_partition(rows, run_date)
        finally:
            by_reactor.unpersist()
            verts.unpersist()
        progress.update(
            accounts=accounts,
            edges=pairs,
            window_edges=state,
            iterations=result.iterations,
            converged=result.converged,
            max_change=float(f"{result.max_change:.3g}"),
            start="warm" if start is not None else "cold",
        )
        return dict(progress)
