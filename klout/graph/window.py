"""The window's reactor -> account graph: per-day edges decayed by age and summed per pair, with each edge's share of
its reactor's attention. Pairs, not events, so the graph is far smaller than the raw interactions.

The window's edges are a running state (silver/window_edges), like the features' (`klout.features.dynamic`):

    edges(D) = edges(D-1) × decay(1) + edges_daily(D) − edges_daily(D − window) × decay(window)

so a day reads the day before's pairs and two days of daily edges, not the window's every day; a pair whose window
reactions fall to 0 has left. Without edges(D-1), they are rebuilt from the daily edges in the window."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from klout.config import Config
from klout.weights import daily_decay, decay, exact_sum
from klout.window import age_days, in_window


def window_edges(edges_daily: DataFrame, run_date: dt.date, cfg: Config) -> DataFrame:
    """(network, actor_id, target_id, reactions, weight, attention) over the window ending on `run_date`.

    `weight` is Σ over the pair's days of the day's weight (Where × What × How × pair cap × selectivity × ring)
    × When(age); `attention` the same without the reactor's selectivity and ring factors: what the reactor gave
    before anti-gaming discounted it."""
    when = decay(age_days(run_date), cfg.features)
    return (
        in_window(edges_daily, run_date, cfg.features)
        .groupBy("network", "actor_id", "target_id")
        .agg(
            F.sum("reactions").alias("reactions"),
            exact_sum(F.col("weight") * when).alias("weight"),
            exact_sum(_undiscounted() * when).alias("attention"),
        )
    )


def advance_window_edges(previous: DataFrame, today: DataFrame, leaving: DataFrame, cfg: Config) -> DataFrame:
    """The `window_edges` of D from those of D-1 (`previous`), the daily edges of D (`today`) and of the day leaving
    the window ending on D (`leaving`), the last two as silver/edges_daily rows."""
    f = cfg.features
    kept = _terms(previous, 1, daily_decay(f), F.col("attention"))
    added = _terms(today, 1, 1.0, _undiscounted())
    removed = _terms(leaving, -1, daily_decay(f) ** f.window_days, _undiscounted())
    return (
        kept.unionByName(added)
        .unionByName(removed)
        .groupBy("network", "actor_id", "target_id")
        .agg(
            F.sum("reactions").alias("reactions"),
            exact_sum("weight").alias("weight"),
            exact_sum("attention").alias("attention"),
        )
        .where(F.col("reactions") > 0)
    )


def _terms(edges: DataFrame, sign: int, when: float, attention: Column) -> DataFrame:
    """Edges as terms of the window's sums: reactions × `sign`, weight and `attention` × `sign` × `when`."""
    factor = F.lit(sign * when)
    return edges.select(
        "network",
        "actor_id",
        "target_id",
        (F.col("reactions") * F.lit(sign)).alias("reactions"),
        (F.col("weight") * factor).alias("weight"),
        (attention * factor).alias("attention"),
    )


def _undiscounted() -> Column:
    """A daily edge's weight before the reactor's selectivity and ring discounted it (0 when they zeroed it)."""
    reactor_factor = F.col("selectivity") * F.col("ring")
    return F.when(reactor_factor > 0, F.col("weight") / reactor_factor).otherwise(F.lit(0.0))


def with_reactor_attention(edges: DataFrame) -> DataFrame:
    """`edges` plus `reactor_attention`, the total attention of each edge's reactor: a window over the reactor, so
    edges already partitioned by reactor (`klout.graph.iterate.persist_edges`) are neither shuffled nor joined."""
    return edges.withColumn("reactor_attention", exact_sum("attention", over=Window.partitionBy("network", "actor_id")))


def with_shares(edges: DataFrame, cfg: Config) -> DataFrame:
    """`edges` (with `reactor_attention` and the reactor's `trust`, `klout.graph.trust`) plus `share` = trust ×
    weight / max(reactor's total attention, attention floor).

    A reactor hands out at most all of its influence (Σ share ≤ 1, as weight ≤ attention), which keeps the graph
    pass a contraction. Dividing the discounted weight by the undiscounted total means a reactor that anti-gaming
    discounts (a ring member, a bulk reactor) passes on only that fraction of its influence. Below the floor, a
    reactor's reactions are not shared out but each counts weight / floor: a selective reactor's reaction is worth
    as much as a busy one's. The floor is the `graph.attention_quantile` of the reactors' attention (one
    approximate quantile, so it follows the window's length and volume), at least `graph.attention_floor`. A
    reactor with little evidence of being a real account passes on only its trust's fraction of all that."""
    floor = attention_floor(edges, cfg)
    share = F.col("trust") * F.col("weight") / F.greatest(F.col("reactor_attention"), F.lit(floor))
    return edges.withColumn("share", share).drop("reactor_attention", "trust")


def attention_floor(edges: DataFrame, cfg: Config) -> float:
    """The floor of the share's denominator: the configured quantile of reactors' attention (from the edges'
    `reactor_attention`, one value per reactor), at least the minimum."""
    g = cfg.graph
    q = None
    if g.attention_quantile:
        reactors = edges.groupBy("network", "actor_id").agg(F.max("reactor_attention").alias("_out"))
        row = reactors.agg(F.percentile_approx("_out", g.attention_quantile, 10_000)).first()
        assert row is not None  # a global aggregate: always exactly one row
        q = row[0]
    return max(float(g.attention_floor), float(q or 0.0))
