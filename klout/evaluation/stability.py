"""Stability: how far the published scores move from one day to the next. A score that follows real changes must
still not wander with noise; `klout evaluate` reports both the published and the unsmoothed score's moves."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def daily_change(scores: DataFrame, run_date: dt.date) -> dict[str, float]:
    """Over the persons of gold/scores published on `run_date` and on the day before: how many (`persons_day_before`),
    and the median absolute change of the published score (`median_score_change`) and of the unsmoothed one
    (`median_target_change`), in points (NaN without such persons)."""
    today = scores.where(F.col("date") == F.lit(run_date)).select("person_id", "score", "target_score")
    before = scores.where(F.col("date") == F.lit(run_date - dt.timedelta(days=1))).select(
        "person_id", F.col("score").alias("_score"), F.col("target_score").alias("_target")
    )
    moved = today.join(before, "person_id", "inner")
    row = moved.agg(
        F.count(F.lit(1)).alias("persons_day_before"),
        F.percentile_approx(F.abs(F.col("score") - F.col("_score")), 0.5, 10_000).alias("median_score_change"),
        F.percentile_approx(F.abs(F.col("target_score") - F.col("_target")), 0.5, 10_000).alias("median_target_change"),
    ).first()
    assert row is not None  # a global aggregate: always exactly one row
    return {k: float("nan") if v is None else float(v) for k, v in row.asDict().items()}
