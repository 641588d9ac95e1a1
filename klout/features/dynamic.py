"""Dynamic features, incrementally: one day's reactions → that day's edges and per-account metrics → a running,
decayed window state. A day reads only its own reactions, yesterday's state and the day leaving the window:

    state(D) = state(D-1) × decay(1) + metrics(D) − metrics(D − window) × decay(window)

(counts are not decayed: for them decay is 1). When state(D-1) is absent (first run, or a gap) it is rebuilt from
the per-day metrics still in the window, so results do not depend on which days were run before.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.weights import anti_gaming, anti_gaming_factors, counted, daily_decay, exact_sum, pair_actions
from klout.window import age_days, in_window

# Plain window counts; every other metric (weighted_*) is a decayed sum.
COUNT_METRICS = ("reactions", "reactor_days", "reacted_posts", "reactions_made")
_EPSILON = 1e-9  # a decayed metric below this has left the window (what remains is rounding)


def metric_names(cfg: Config) -> list[str]:
    """Every metric the state holds, in a fixed order: weighted totals, per-action weights, counts."""
    return (
        ["weighted_reactions", "outside_circle_weight"] + [f"weighted_{a}" for a in cfg.actions] + list(COUNT_METRICS)
    )


def is_decayed(metric: F.Column) -> F.Column:
    return ~metric.isin(*COUNT_METRICS)


def day_edges_and_metrics(events: DataFrame, cfg: Config, who: DataFrame | None) -> tuple[DataFrame, DataFrame]:
    """One day's reactions (bronze rows) → (edges, metrics in long form, both without the date column).

    `who` is the previous graph pass's influence (network, account_id, influence), or None for the default.
    """
    factored = factored_pair_actions(events, cfg)
    edges = day_edges(factored)
    return edges, day_metrics(factored, edges, events, cfg, who)


def factored_pair_actions(events: DataFrame, cfg: Config) -> DataFrame:
    """The day's `pair_actions`, each with its pair's anti-gaming factors: what both outputs are built from."""
    return anti_gaming_factors(pair_actions(events, cfg), cfg)


def day_edges(factored: DataFrame) -> DataFrame:
    """Per (network, actor, target) of a day: raw reactions, anti-gaming factors and the weight without When/Who.
    (The factors are the pair's own, the same on each of its actions.)"""
    pairs = factored.groupBy("network", "actor_id", "target_id").agg(
        F.sum("n").alias("reactions"),
        exact_sum("base").alias("base"),
        *[F.max(c).alias(c) for c in ("pair_factor", "selectivity", "ring", "reciprocal")],
    )
    return pairs.select(
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


def day_metrics(
    factored: DataFrame, edges: DataFrame, events: DataFrame, cfg: Config, who: DataFrame | None
) -> DataFrame:
    """A day's per-account metrics (long form) from its factored pair-actions, its edges and its events."""
    default = F.lit(float(cfg.features.default_reactor_influence))
    weighted = factored
    if who is not None:
        weighted = weighted.join(
            who.select("network", F.col("account_id").alias("actor_id"), F.col("influence").alias("_who")),
            ["network", "actor_id"],
            "left",
        )
        who_col = F.coalesce("_who", default)
    else:
        who_col = default
    weighted = weighted.withColumn("w", F.col("base") * anti_gaming() * who_col)

    # one exact sum per (account, action, reciprocal) cell; every weighted metric is a sum of these few cells, all
    # taken in one pass over them (a metric absent for an account sums to 0 and is dropped below)
    cells = weighted.groupBy("network", F.col("target_id").alias("account_id"), "action", "reciprocal").agg(
        exact_sum("w").alias("w"), F.sum("n").alias("n")
    )
    w, n = F.col("w"), F.col("n")
    sums = {f"weighted_{a}": exact_sum(F.when(F.col("action") == a, w).otherwise(0.0)) for a in cfg.actions}
    sums.update(
        weighted_reactions=exact_sum(w),
        outside_circle_weight=exact_sum(F.when(~F.col("reciprocal"), w).otherwise(0.0)),
        reactions=F.sum(n).cast("double"),
    )
    per_account = cells.groupBy("network", "account_id").agg(*[v.alias(k) for k, v in sums.items()])
    longs = [
        per_account.unpivot(["network", "account_id"], list(sums), "metric", "value"),
        _long(
            edges.groupBy("network", F.col("target_id").alias("account_id")).agg(F.count(F.lit(1)).alias("value")),
            "reactor_days",
        ),
        _long(
            edges.groupBy("network", F.col("actor_id").alias("account_id")).agg(F.sum("reactions").alias("value")),
            "reactions_made",
        ),
        _long(
            counted(events, cfg)
            .where(F.col("content_id").isNotNull())
            .groupBy("network", F.col("target_id").alias("account_id"))
            .agg(F.countDistinct("content_id").alias("value")),
            "reacted_posts",
        ),
    ]
    out = longs[0]
    for part in longs[1:]:
        out = out.unionByName(part)
    return out.where(F.col("value") != 0)


def _long(df: DataFrame, metric: str) -> DataFrame:
    """(network, account_id, value) → long rows of `metric`, value as double."""
    return df.select("network", "account_id", F.lit(metric).alias("metric"), F.col("value").cast("double"))


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
