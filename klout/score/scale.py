"""From raw scores to the published 1–100 score: approximate quantiles, a target distribution, smoothing, rank.

1. `quantile_points`: percentile_approx at `score.quantile_grid` probabilities (more towards the top), one
   distributed aggregate; the driver receives those few numbers only, never the people. Each distinct quantile
   value gets the share of people strictly below it, rescaled like percent_rank (the lowest 0, the highest 1).
2. `percentile`: each raw score placed between the two quantile values around it (a binary search per row on the
   executors, written as one SQL expression) and interpolated linearly.
3. `target_score`: the percentile mapped through the `score.target` anchors (piecewise linear and increasing), so
   the scores follow Klout's published shape whatever the raw scale.
4. `smoothed`: score = previous + smoothing × (target − previous), so steady people move well under a point a day.
5. `rank_and_percentile`: rank and share below of the published scores, from a count per distinct score.
"""

from __future__ import annotations

import itertools
import math

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from klout.config import ScoreConfig

SCORE_DECIMALS = 2


TAIL_DECADES = 4  # the tail grid reaches 1 - 10^-4 / grid: one person in ten million with the default grid


def quantile_probabilities(cfg: ScoreConfig) -> list[float]:
    """The probabilities the raw scores are sampled at: k/G for k = 0..G (G = score.quantile_grid), plus G/10 more,
    log-spaced between 1 − 1/G and 1 − 10^-4/G, where the target distribution is steep and a few people per
    million must be told apart."""
    g = cfg.quantile_grid
    tail = [1.0 - 10.0 ** (-TAIL_DECADES * j / (g // 10)) / g for j in range(1, g // 10 + 1)]
    return sorted({k / g for k in range(g + 1)} | set(tail))


def quantile_points(df: DataFrame, column: str, cfg: ScoreConfig) -> list[tuple[float, float]]:
    """[(value, percentile)] for the distinct approximate quantiles of `column`, by value."""
    # SQL text, as in `percentile_sql`: the grid's thousand literals as Columns cost a Py4J call each
    probs = quantile_probabilities(cfg)
    grid = ", ".join(f"{p!r}D" for p in probs)
    quantiles = F.expr(f"percentile_approx(`{column}`, array({grid}), {int(cfg.quantile_accuracy)})")
    row = df.agg(quantiles.alias("q"), F.count(F.lit(1)).alias("n")).first()
    assert row is not None  # a global aggregate: always exactly one row
    if not row["n"]:
        return []
    n, qs = row["n"], [float(v) for v in row["q"]]
    points: list[tuple[float, float]] = []
    previous = 0.0  # the last probability whose quantile was the previous distinct value
    for prob, v in zip(probs, qs, strict=True):  # percentile_approx: one value per probability
        if not points or v > points[-1][0]:
            points.append((v, _share_below(previous, prob, n) if points else 0.0))
        previous = prob
    scale = n / (n - 1) if n > 1 else 0.0  # share below -> percent_rank
    return [(v, min(1.0, p * scale)) for v, p in points]


def _share_below(lo: float, hi: float, n: int) -> float:
    """The share of the n values below a quantile value first seen at probability `hi` (and not at `lo`): a multiple
    of 1/n in [lo, hi). Exact when one multiple fits (few values, fine grid); the middle of the range otherwise."""
    eps = 1e-9
    first = math.ceil(lo * n - eps) / n
    last = (math.ceil(hi * n - eps) - 1) / n
    return first if last <= first else (first + last) / 2


def percentile(x: str, points: list[tuple[float, float]]) -> Column:
    """The percentile of the SQL expression `x` (a column name, or a field of a lambda variable inside a SQL
    higher-order function: see `percentile_sql`), interpolated between the quantile points."""
    return F.expr(percentile_sql(x, points))


def percentile_sql(x: str, points: list[tuple[float, float]]) -> str:
    """The percentile of `x` as SQL: linear between the two quantile points around it (the lowest point's below
    them, the highest's above). The points are two array literals, bound once, and the pair around `x` is found by
    a binary search of about log2(points) steps (`aggregate` over the step sizes), so the expression's size does
    not grow with the grid: a tree of nested CASEs, one per point, cost the planner seconds per query that used
    it. SQL text, parsed once: the same expression built from Column objects costs a Py4J call per literal."""
    lit = lambda v: f"{float(v)!r}D"  # noqa: E731 (a double literal, exactly the Python float)
    if len(points) < 2:
        return f"CASE WHEN {x} IS NOT NULL THEN {lit(points[0][1] if points else 0.0)} END"
    n = len(points)
    values = ", ".join(lit(v) for v, _ in points)
    shares = ", ".join(lit(p) for _, p in points)
    steps = ", ".join(str(1 << k) for k in reversed(range(n.bit_length())))
    v = lambda i: f"element_at(_q.v, {i})"  # noqa: E731 (1-based)
    p = lambda i: f"element_at(_q.p, {i})"  # noqa: E731
    # _lo: how many of the points' values are at most x (a binary search: steps halving from the largest power of 2)
    below = f"IF(_lo + _s > {n}, _lo, IF({x} >= {v('_lo + _s')}, _lo + _s, _lo))"
    between = f"({p('_lo')} + ((({x} - {v('_lo')}) / ({v('_lo + 1')} - {v('_lo')})) * ({p('_lo + 1')} - {p('_lo')})))"
    placed = f"CASE WHEN _lo = 0 THEN {p(1)} WHEN _lo = {n} THEN {p(n)} ELSE {between} END"
    search = f"aggregate(array({steps}), 0, (_lo, _s) -> {below}, _lo -> {placed})"
    bound = f"named_struct('v', array({values}), 'p', array({shares}))"
    return f"CASE WHEN {x} IS NOT NULL THEN transform(array({bound}), _q -> {search})[0] END"


def target_score(pct: Column, cfg: ScoreConfig) -> Column:
    """The percentile mapped through the `score.target` anchors: piecewise linear, 1–100."""
    anchors = cfg.anchors()
    expr = F.lit(anchors[-1][1])
    for (p0, s0), (p1, s1) in reversed(list(itertools.pairwise(anchors))):
        expr = F.when(pct <= F.lit(p1), F.lit(s0) + (pct - F.lit(p0)) / F.lit(p1 - p0) * F.lit(s1 - s0)).otherwise(expr)
    return F.least(F.greatest(expr, F.lit(anchors[0][1])), F.lit(anchors[-1][1]))


def smoothed(target: Column, previous: Column, cfg: ScoreConfig) -> Column:
    """previous + smoothing × (target − previous), or the target for a person without a previous score; rounded."""
    moved = previous + F.lit(cfg.smoothing) * (target - previous)
    return F.round(F.when(previous.isNull(), target).otherwise(moved), SCORE_DECIMALS)


def rank_and_percentile(scores: DataFrame) -> DataFrame:
    """`scores` (person_id, score, ...) plus `rank` (1 = highest, ties share it) and `percentile` (share below).

    Works on the counts per distinct score (at most 99 × 10^SCORE_DECIMALS rows, whatever the population), never
    on the people: the persons above a score are those above it in its whole-point band (a window per band) plus
    those in every higher band (a join of the at most 100 band totals), so no window spans the whole table."""
    band = F.floor("score").cast("int")
    counts = scores.groupBy("score").agg(F.count(F.lit(1)).alias("_n")).withColumn("_band", band)
    above_in_band = F.coalesce(
        F.sum("_n").over(
            Window.partitionBy("_band").orderBy(F.desc("score")).rowsBetween(Window.unboundedPreceding, -1)
        ),
        F.lit(0),
    )
    bands = counts.groupBy("_band").agg(F.sum("_n").alias("_band_n"))
    higher_bands = (
        bands.alias("b")
        .join(bands.alias("h"), F.col("h._band") > F.col("b._band"), "left")
        .groupBy(F.col("b._band").alias("_band"))
        .agg(F.coalesce(F.sum("h._band_n"), F.lit(0)).alias("_above_bands"))
    )
    total = bands.agg(F.sum("_band_n").alias("_total"))
    higher = F.col("_above_in_band") + F.col("_above_bands")
    table = (
        counts.withColumn("_above_in_band", above_in_band)
        .join(higher_bands, "_band", "inner")
        .crossJoin(total)
        .select(
            "score",
            (higher + 1).cast("long").alias("rank"),
            ((F.col("_total") - higher - F.col("_n")) / F.col("_total")).alias("percentile"),
        )
    )
    return scores.join(F.broadcast(table), "score", "inner")
