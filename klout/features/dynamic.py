"""Dynamic features: reactions → per-day edges and per-account metrics (any set of days at once, grouped by date)
→ a running, decayed window state. A day's aggregates depend on that day's reactions alone (Who is the graph
pass's, `klout.weights`), so a history is aggregated in one job; the state of a run date reads only yesterday's
state and the day leaving the window:

    state(D) = state(D-1) × decay(1) + metrics(D) − metrics(D − window) × decay(window)

(counts are not decayed: for them decay is 1). When state(D-1) is absent (first run, a gap, or a window day
aggregated since) it is rebuilt from the per-day metrics still in the window, so results do not depend on which
days were run before.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from klout.config import Config
from klout.weights import PAIR, anti_gaming, anti_gaming_factors, counted, daily_decay, exact_sum, pair_actions
from klout.window import age_days, in_window

# Plain window counts; every other metric (weighted_*) is a decayed sum.
COUNT_METRICS = ("reactions", "reactor_days", "reacted_posts", "reactions_made", "reacting_days")
_EPSILON = 1e-9  # a decayed metric below this has left the window (what remains is rounding)


def metric_names(cfg: Config) -> list[str]:
    """Every metric the state holds, in a fixed order: weighted totals, per-action weights, counts."""
    return (
        ["weighted_reactions", "outside_circle_weight"] + [f"weighted_{a}" for a in cfg.actions] + list(COUNT_METRICS)
    )


def is_decayed(metric: F.Column) -> F.Column:
    return ~metric.isin(*COUNT_METRICS)


def daily_edges_and_metrics(events: DataFrame, cfg: Config) -> tuple[DataFrame, DataFrame]:
    """Reactions (bronze rows, any days) → (edges, metrics in long form), both per `date`."""
    reactions = by_day(events)
    factored = factored_pair_actions(reactions, cfg)
    edges = daily_edges(factored)
    return edges, daily_metrics(factored, edges, reactions, cfg)


def by_day(events: DataFrame) -> DataFrame:
    """Bronze interactions with their day as `date`, the key of every per-day aggregate."""
    return events.withColumnRenamed("event_date", "date")


def factored_pair_actions(reactions: DataFrame, cfg: Config) -> DataFrame:
    """The `pair_actions` of each day, each with its pair's anti-gaming factors: what both outputs are built from."""
    return anti_gaming_factors(pair_actions(reactions, cfg), cfg)


def daily_edges(factored: DataFrame) -> DataFrame:
    """Per (date, network, actor, target): raw reactions, anti-gaming factors and the weight without When and Who.
    (The factors are the pair's own that day, the same on each of its actions.)"""
    pairs = factored.groupBy("date", "network", "actor_id", "target_id").agg(
        F.sum("n").alias("reactions"),
        exact_sum("base").alias("base"),
        *[F.max(c).alias(c) for c in ("pair_factor", "selectivity", "ring", "reciprocal")],
    )
    return pairs.select(
        "date",
        "network",
        "actor_id",
        "target_id",
        "reactions",
        (F.col("base") * anti_gaming()).alias("weight"),
        "pair_factor",
        "selectivity",
        "ring",
        "reciprocal",
    )


def daily_metrics(factored: DataFrame, edges: DataFrame, reactions: DataFrame, cfg: Config) -> DataFrame:
    """Per-account metrics of each day (long form, with `date`) from its factored pair-actions, edges and reactions.
    A reaction weighs base × anti-gaming (When is the window's, Who the graph pass's)."""
    # one pair-action row of each pair counts it among its target's reactors (a window over the reactor's
    # partitioning of `factored`: no shuffle)
    first = F.col("action") == F.min("action").over(Window.partitionBy(*PAIR))
    weighted = factored.select(
        "date",
        "network",
        "target_id",
        "action",
        "reciprocal",
        "n",
        (F.col("base") * anti_gaming()).alias("w"),
        first.cast("long").alias("pairs"),
    )

    # one exact sum per (date, account, action, reciprocal) cell; every weighted metric is a sum of these few cells,
    # all taken in one pass over them (a metric absent for an account sums to 0 and is dropped below)
    key: list[Column | str] = ["date", "network", F.col("target_id").alias("account_id")]
    cells = weighted.groupBy(*key, "action", "reciprocal").agg(
        exact_sum("w").alias("w"), F.sum("n").alias("n"), F.sum("pairs").alias("pairs")
    )
    w, n = F.col("w"), F.col("n")
    sums = {f"weighted_{a}": exact_sum(F.when(F.col("action") == a, w).otherwise(0.0)) for a in cfg.actions}
    sums.update(
        weighted_reactions=exact_sum(w),
        outside_circle_weight=exact_sum(F.when(~F.col("reciprocal"), w).otherwise(0.0)),
        reactions=F.sum(n).cast("double"),
        reactor_days=F.sum("pairs").cast("double"),
    )
    per_account = cells.groupBy("date", "network", "account_id").agg(*[v.alias(k) for k, v in sums.items()])
    longs = [
        per_account.unpivot(["date", "network", "account_id"], list(sums), "metric", "value"),
        # the account's own activity: reactions it gave that day, and that day as one of its reacting days
        edges.groupBy("date", "network", F.col("actor_id").alias("account_id"))
        .agg(F.sum("reactions").cast("double").alias("reactions_made"), F.lit(1.0).alias("reacting_days"))
        .unpivot(["date", "network", "account_id"], ["reactions_made", "reacting_days"], "metric", "value"),
        _long(
            counted(reactions, cfg)
            .where(F.col("content_id").isNotNull())
            .groupBy(*key)
            .agg(F.countDistinct("content_id").alias("value")),
            "reacted_posts",
        ),
    ]
    out = longs[0]
    for part in longs[1:]:
        out = out.unionByName(part)
    return out.where(F.col("value") != 0)


def _long(df: DataFrame, metric: str) -> DataFrame:
    """(date, network, account_id, value) → long rows of `metric`, value as double."""
    return df.select("date", "network", "account_id", F.lit(metric).alias("metric"), F.col("value").cast("double"))


def advance(previous: DataFrame, today: DataFrame, leaving: DataFrame, cfg: Config) -> DataFrame:
    """state(D) from state(D-1), metrics(D) and metrics(D - window), all long-form without the date column."""
    f = cfg.features
    step = daily_decay(f)
    out = daily_decay(f) ** f.window_days
    parts = [
        previous.withColumn("value", F.col("value") * F.when(is_decayed(F.col("metric")), step).otherwise(1.0)),
        today,
        leaving.withColumn("value", -F.col("value") * F.when(is_decayed(F.col("metric")), out).otherwise(1.0)),
    ]
    return _total(parts)


def rebuild(dailies: DataFrame, run_date, cfg: Config) -> DataFrame:
    """state(D) from the per-day metrics (with `date`) of the window ending on D: Σ metrics(d) × decay(D - d)."""
    f = cfg.features
    age = age_days(run_date)
    weight = F.when(is_decayed(F.col("metric")), F.pow(F.lit(daily_decay(f)), age.cast("double"))).otherwise(1.0)
    return _total([in_window(dailies, run_date, f).withColumn("value", F.col("value") * weight).drop("date")])


def _total(parts: list[DataFrame]) -> DataFrame:
    union = parts[0].select("network", "account_id", "metric", "value")
    for p in parts[1:]:
        union = union.unionByName(p.select("network", "account_id", "metric", "value"))
    return (
        union.groupBy("network", "account_id", "metric")
        .agg(exact_sum("value").alias("value"))
        .where(F.abs("value") > _EPSILON)
    )


def wide(state: DataFrame, cfg: Config) -> DataFrame:
    """The long state pivoted to one row per (network, account_id) with a column per metric (0 when absent)."""
    names = metric_names(cfg)
    values: list[bool | float | int | str] = list(names)  # pivot takes a List[LiteralType]; list is invariant
    pivoted = state.groupBy("network", "account_id").pivot("metric", values).agg(F.first("value"))
    return pivoted.fillna(0.0, subset=names)
