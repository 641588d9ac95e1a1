"""The window's reactor -> account graph: per-day edges decayed by age and summed per pair, with each edge's share of
its reactor's attention. Pairs, not events, so the graph is far smaller than the raw interactions."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.features.weights import decay, exact_sum


def window_edges(edges_daily: DataFrame, run_date: dt.date, cfg: Config) -> DataFrame:
    """(network, actor_id, target_id, reactions, weight) over the window ending on `run_date`.

    `weight` is Σ over the pair's days of the day's weight (Where × What × How × anti-gaming) × When(age)."""
    age = F.datediff(F.lit(run_date), F.col("date"))
    in_window = edges_daily.where((age >= 0) & (age < cfg.features.window_days))
    return (in_window.groupBy("network", "actor_id", "target_id")
            .agg(F.sum("reactions").alias("reactions"),
                 exact_sum(F.col("weight") * decay(age, cfg.features)).alias("weight")))


def with_shares(edges: DataFrame, cfg: Config) -> DataFrame:
    """`edges` plus `share` = weight / max(reactor's total window weight, graph.attention_floor).

    A reactor hands out at most all of its influence (Σ share ≤ 1), which keeps the graph pass a contraction; the
    floor keeps a reactor with little activity (or one down-weighted by anti-gaming) from passing all of it."""
    out = edges.groupBy("network", "actor_id").agg(exact_sum("weight").alias("_out"))
    floor = F.lit(float(cfg.graph.attention_floor))
    return (edges.join(out, ["network", "actor_id"])
            .withColumn("share", F.col("weight") / F.greatest(F.col("_out"), floor)).drop("_out"))
