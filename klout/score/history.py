"""The published scores a run date is compared with: the latest before it (smoothing, the gates, what changed) and
those of exactly 1 and 7 days before (the changes), as one row per person."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, MapType, StringType, StructField, StructType

# the per-person frame `earlier` returns, and what `score_tables` reads from it
EARLIER = StructType(
    [
        StructField("person_id", StringType()),
        StructField("previous_score", DoubleType()),
        StructField("previous_networks", MapType(StringType(), DoubleType())),
        StructField("score_1d", DoubleType()),
        StructField("score_7d", DoubleType()),
    ]
)


def earlier_dates(published: DataFrame, run_date: dt.date) -> dict[str, dt.date | None]:
    """{"previous", "1d", "7d"}: the latest published date before `run_date`, and `run_date` minus 1 and 7 days
    where published (None where not), found by one aggregate over the dates' partitions."""
    back = {"1d": run_date - dt.timedelta(days=1), "7d": run_date - dt.timedelta(days=7)}
    found = (
        published.where(F.col("date") < F.lit(run_date))
        .agg(F.max("date").alias("previous"), *[F.max(F.col("date") == F.lit(d)).alias(n) for n, d in back.items()])
        .first()
    )
    assert found is not None  # a global aggregate: always exactly one row
    return {"previous": found["previous"], **{n: d if found[n] else None for n, d in back.items()}}


def earlier(published: DataFrame, dates: dict[str, dt.date | None]) -> DataFrame | None:
    """One row per person published on any of `dates` (`earlier_dates`): the previous score and network scores, and
    the scores 1 and 7 days before (null where the person was not published then). None without a previous date."""
    if dates["previous"] is None:
        return None
    on = lambda name, column: F.first(  # noqa: E731 (one row per person and date: `first` is the only one)
        F.when(F.col("date") == F.lit(dates[name]), F.col(column)), ignorenulls=True
    )
    return (
        published.where(F.col("date").isin(*{d for d in dates.values() if d is not None}))
        .groupBy("person_id")
        .agg(
            on("previous", "score").alias("previous_score"),
            on("previous", "network_scores").alias("previous_networks"),
            *[(on(n, "score") if dates[n] else F.lit(None).cast("double")).alias(f"score_{n}") for n in ("1d", "7d")],
        )
    )
