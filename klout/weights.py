"""The weight of a reaction: the five factors and the anti-gaming factors, all in this one module.

    weight = When × Where × What × How × pair_cap × selectivity × ring      (Who: the graph pass, below)

- Where, What, How: per-network, per-content-type and per-action weights from config (`base_weight`).
- When: 0.5 ** (age_days / half_life_days), age in whole days before the run date (`decay`).
- Who: the reactor's influence, applied where the window is combined: by the graph pass, whose fixed point weighs
  each reaction by its reactor's influence (`klout.graph.iterate`), never to the per-day aggregates, so any set of
  days can be aggregated at once, in any order.
- pair_cap: a reactor's reactions to one account on one day count at most `max_reactions_per_day` times.
- selectivity: a reactor's reactions on a day weigh min(1, (free / volume) ** exponent).
- ring: a reactor whose reactions that day mostly went to accounts that reacted back to it is down-weighted
  linearly from 1 at `min_reciprocal_share` to `floor` at a share of 1.
Every factor is a pure column expression or a pure DataFrame transform of reactions, per `date` (one day or many).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.window import WindowSpec

from klout.config import Config, FeaturesConfig

# Exact sums are fixed-point: a double v is split into two longs, hi = floor(v * 2^24) and lo, the next 32 bits of
# its fraction, each summed as an integer (exact, so identical however rows are partitioned or ordered), and put back
# together as hi_sum / 2^24 + lo_sum / 2^56. Bits of v below 2^-56 (1.4e-17) are dropped; a sum of |v| up to 2^39
# (5.5e11) fits, and a group of up to 2^31 rows; beyond those, Spark's ANSI arithmetic fails the query, never silently.
_HI = float(2**24)
_LO = float(2**32)


def _parts(v: Column) -> tuple[Column, Column]:
    """The two longs of `v`'s fixed point: hi = floor(v * 2^24) and lo, the next 32 bits of its fraction."""
    hi = F.floor(v * F.lit(_HI))
    return hi, F.floor((v * F.lit(_HI) - hi) * F.lit(_LO))


def _joined(hi: Column, lo: Column) -> Column:
    return hi.cast("double") / F.lit(_HI) + lo.cast("double") / F.lit(_HI * _LO)


def exact_sum(c: Column | str, over: WindowSpec | None = None) -> Column:
    """Sum of doubles, computed exactly in fixed point (and so identically however rows are partitioned), back as
    a double; null when every value is. An aggregate, or with `over` a window function."""
    sums = [F.sum(p) for p in _parts(F.col(c) if isinstance(c, str) else c)]
    return _joined(*sums) if over is None else _joined(*[s.over(over) for s in sums])


def exact_value(c: Column | str) -> Column:
    """What `exact_sum` gives over one row: the double rounded to the same fixed point (bitwise equal), for a group
    that is known to hold a single row and so needs no aggregate."""
    return _joined(*_parts(F.col(c) if isinstance(c, str) else c))


def exact_total(items: Column, value: Callable[[Column], Column]) -> Column:
    """Σ value(item) over the array `items`, computed exactly like `exact_sum` (so whatever the array's order), as a
    double."""

    def add(acc: Column, x: Column) -> Column:
        hi, lo = _parts(value(x))
        return F.struct((acc["hi"] + hi).alias("hi"), (acc["lo"] + lo).alias("lo"))

    zero = F.struct(F.lit(0).cast("bigint").alias("hi"), F.lit(0).cast("bigint").alias("lo"))
    return F.aggregate(items, zero, add, lambda acc: _joined(acc["hi"], acc["lo"]))


def _lookup(weights: dict[str, float], key: Column, default: float) -> Column:
    m = F.create_map(*[x for k, v in weights.items() for x in (F.lit(k), F.lit(float(v)))])
    return F.coalesce(F.try_element_at(m, key), F.lit(float(default)))


def where_weight(cfg: Config, network: Column | None = None) -> Column:
    """Where: the configured `networks.<name>` weight of `network` (default: the row's) (0 for an unknown one)."""
    return _lookup(dict(cfg.networks), F.col("network") if network is None else network, 0.0)


def base_weight(cfg: Config) -> Column:
    """Where × What × How of each reaction row (columns network, content_type, action)."""
    where = where_weight(cfg)
    what = _lookup(dict(cfg.content_types), F.col("content_type"), cfg.features.unknown_content_weight)
    how = _lookup(dict(cfg.actions), F.col("action"), 0.0)
    return where * what * how


def daily_decay(f: FeaturesConfig) -> float:
    """The When factor of one day of age."""
    return 0.5 ** (1.0 / f.half_life_days)


def decay(age_days: Column | int, f: FeaturesConfig) -> Column:
    """When: 0.5 ** (age_days / half_life_days)."""
    age = age_days if isinstance(age_days, Column) else F.lit(age_days)
    return F.pow(F.lit(0.5), age.cast("double") / F.lit(f.half_life_days))


def counted(events: DataFrame, cfg: Config) -> DataFrame:
    """The reactions that can count: self-reactions never do (when the switch is on)."""
    if cfg.features.anti_gaming.exclude_self_reactions:
        return events.where(F.col("actor_id") != F.col("target_id"))
    return events


REACTOR = ("date", "network", "actor_id")  # the key of every per-reactor factor, and the pair-actions' partitioning
PAIR = (*REACTOR, "target_id")  # the key of every per-pair factor (within the reactor's partitioning)


def pair_actions(events: DataFrame, cfg: Config) -> DataFrame:
    """Reactions (with `date`) per (date, network, actor, target, action): count `n`, summed base weight `base`,
    `reciprocal` (the reverse pair reacted that day too; a self pair is its own reverse) and `_pair_reactions` (the
    pair's reactions that day, every action).

    Aggregated first, partially in each task before the shuffle, so a bot's millions of reactions of a day move as
    a row per target and action, never whole into one task. The reverse pair and the pair's total are windows over
    the unordered pair (a partition holds a row per action and direction). The result is hash-partitioned by
    `REACTOR`: the reactor windows of `anti_gaming_factors` and the per-pair edges need no further shuffle."""
    actions = (
        counted(events, cfg)
        .select(*PAIR, "action", base_weight(cfg).alias("_w"))
        .groupBy(*PAIR, "action")
        .agg(F.count(F.lit(1)).alias("n"), exact_sum("_w").alias("base"))
    )
    unordered = ("date", "network", F.least("actor_id", "target_id"), F.greatest("actor_id", "target_id"))
    both_ways = Window.partitionBy(*unordered)
    one_way = Window.partitionBy(*unordered, "actor_id")  # the pair, within the unordered pair's partitioning
    reciprocal = (F.min("actor_id").over(both_ways) != F.max("actor_id").over(both_ways)) | (
        F.col("actor_id") == F.col("target_id")
    )
    return actions.select(
        *PAIR, "action", "n", "base", reciprocal.alias("reciprocal"), F.sum("n").over(one_way).alias("_pair_reactions")
    ).repartition(*REACTOR)


def anti_gaming_factors(rows: DataFrame, cfg: Config) -> DataFrame:
    """`pair_actions` rows plus the factors of their pair on their day: pair_factor, selectivity, ring.

    The reactor's factors by window functions over the rows themselves (no self-join, no join back), so a
    pair-action keeps its action and the caller needs no join to weigh it.
    """
    ag = cfg.features.anti_gaming
    cap = ag.pair_cap
    reactor = Window.partitionBy(*REACTOR)
    pair_factor = (
        F.least(F.lit(1.0), F.lit(float(cap.max_reactions_per_day)) / F.col("_pair_reactions"))
        if cap.enabled
        else F.lit(1.0)
    )
    rows = (
        rows.withColumn("pair_factor", pair_factor)
        .withColumn("_volume", F.sum("n").over(reactor))
        .withColumn("_reciprocated", F.sum(F.when(F.col("reciprocal"), F.col("n")).otherwise(0)).over(reactor))
    )
    sel = ag.selectivity
    selectivity = (
        F.least(F.lit(1.0), F.pow(F.lit(float(sel.free_reactions_per_day)) / F.col("_volume"), F.lit(sel.exponent)))
        if sel.enabled
        else F.lit(1.0)
    )
    ring = ag.rings
    share = F.col("_reciprocated") / F.col("_volume")
    ring_factor = (
        F.when(share <= ring.min_reciprocal_share, F.lit(1.0)).otherwise(
            F.lit(1.0)
            - (share - ring.min_reciprocal_share) / F.lit(1.0 - ring.min_reciprocal_share) * F.lit(1.0 - ring.floor)
        )
        if ring.enabled
        else F.lit(1.0)
    )
    return rows.select(
        *[c for c in rows.columns if not c.startswith("_")], selectivity.alias("selectivity"), ring_factor.alias("ring")
    )


def anti_gaming() -> Column:
    """The anti-gaming multiplier of a row carrying pair_factor, selectivity and ring."""
    return F.col("pair_factor") * F.col("selectivity") * F.col("ring")
