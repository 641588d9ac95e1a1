"""The window's reactor -> account graph: per-day edges decayed by age and summed per pair, with each edge's share of
its reactor's attention. Pairs, not events, so the graph is far smaller than the raw interactions."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.weights import decay, exact_sum
from klout.window import age_days, in_window


def window_edges(edges_daily: DataFrame, run_date: dt.date, cfg: Config) -> DataFrame:
    """(network, actor_id, target_id, reactions, weight, attention) over the window ending on `run_date`.

    `weight` is Σ over the pair's days of the day's weight (Where × What × How × pair cap × selectivity × ring)
    × When(age); `attention` the same without the reactor's selectivity and ring factors: what the reactor gave
    before anti-gaming discounted it."""
    when = decay(age_days(run_date), cfg.features)
    reactor_factor = F.col("selectivity") * F.col("ring")
    undiscounted = F.when(reactor_factor > 0, F.col("weight") / reactor_factor).otherwise(F.lit(0.0))
    return (
        in_window(edges_daily, run_date, cfg.features)
        .groupBy("network", "actor_id", "target_id")
        .agg(
            F.sum("reactions").alias("reactions"),
            exact_sum(F.col("weight") * when).alias("weight"),
            exact_sum(undiscounted * when).alias("attention"),
        )
    )


def with_shares(edges: DataFrame, cfg: Config) -> DataFrame:
    """`edges` plus `share` = weight / max(reactor's total attention, attention floor).

    A reactor hands out at most all of its influence (Σ share ≤ 1, as weight ≤ attention), which keeps the graph
    pass a contraction. Dividing the discounted weight by the undiscounted total means a reactor that anti-gaming
    discounts (a ring member, a bulk reactor) passes on only that fraction of its influence. Below the floor, a
    reactor's reactions are not shared out but each counts weight / floor: a selective reactor's reaction is worth
    as much as a busy one's. The floor is the `graph.attention_quantile` of the reactors' attention (one
    approximate quantile, so it follows the window's length and volume), at least `graph.attention_floor`."""
    out = edges.groupBy("network", "actor_id").agg(exact_sum("attention").alias("_out"))
    floor = attention_floor(out, cfg)
    return (
        edges.join(out, ["network", "actor_id"])
        .withColumn("share", F.col("weight") / F.greatest(F.col("_out"), F.lit(floor)))
        .drop("_out")
    )


def attention_floor(out: DataFrame, cfg: Config) -> float:
    """The floor of the share's denominator: the configured quantile of reactors' attention, at least the minimum."""
    g = cfg.graph
    q = None
    if g.attention_quantile:
        row = out.agg(F.percentile_approx("_out", g.attention_quantile, 10_000)).first()
        assert row is not None  # a global aggregate: always exactly one row
        q = row[0]
    return max(float(g.attention_floor), float(q or 0.0))
