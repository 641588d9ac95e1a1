"""A range in one pass, and complete windows: the pipeline's bulk path (every day of a range aggregated in one job,
then each date's window state, graph pass and score) gives the tables of the day-by-day path, and a last-date-only
run on an ingested history fills the window's missing days and gets the backfill's features, fixed point and
target scores.

"Equal tables": the same keys, the same number of rows, every numeric column's sum to 1e-9 relative, and the
published scores equal after rounding.
"""

from __future__ import annotations

import math
import shutil

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import NumericType

from klout import tables
from klout.pipeline import run_dates
from klout.warehouse import Warehouse

DAY_OUTPUTS = tables.RUN_DATE_OUTPUTS
DERIVED = ("silver", "gold", "ops")


@pytest.fixture(scope="module")
def history(scored_world, scored_copy):
    """The scored world (run day by day) and a copy of its warehouse holding only what was ingested."""

    def ingested():
        world = scored_copy()
        for name in DERIVED:
            shutil.rmtree(world.warehouse / name, ignore_errors=True)
        return world

    return scored_world, ingested


def assert_equal_tables(got: DataFrame, want: DataFrame, key: list[str]) -> None:
    """Keys and row counts exactly, every numeric column's sum to 1e-9 relative, scores equal after rounding."""
    assert got.count() == want.count()
    assert got.select(*key).exceptAll(want.select(*key)).isEmpty()
    assert want.select(*key).exceptAll(got.select(*key)).isEmpty()
    numeric = [f.name for f in want.schema.fields if isinstance(f.dataType, NumericType)]
    if numeric:
        sums = lambda df: df.agg(*[F.sum(c).alias(c) for c in numeric]).first().asDict()  # noqa: E731
        g, w = sums(got), sums(want)
        for c in numeric:
            assert (g[c] is None) == (w[c] is None), c
            if w[c] is not None:
                assert math.isclose(g[c], w[c], rel_tol=1e-9, abs_tol=1e-9), (c, g[c], w[c])
    if "score" in numeric:
        rounded = lambda df: df.select(*key, F.round("score", 0).alias("score"))  # noqa: E731
        assert rounded(got).exceptAll(rounded(want)).isEmpty()


@pytest.mark.slow
def test_a_range_in_one_pass_gives_the_day_by_day_tables(spark, history):
    world, ingested = history
    bulk = ingested()
    outcomes = list(run_dates(spark, bulk.cfg, "daily", world.days, "bulk", resumable=True))
    assert [o.status for o in outcomes] == ["succeeded"] * len(world.days)
    for table in DAY_OUTPUTS:
        got, want = (Warehouse(spark, w.cfg)[table].read() for w in (bulk, world))
        assert_equal_tables(got, want, list(table.key))


def test_the_last_date_alone_fills_its_window_and_matches_the_backfill(spark, history):
    world, ingested = history
    last = world.days[-1]
    alone = ingested()
    list(run_dates(spark, alone.cfg, "daily", [last], "alone", resumable=True))

    part = lambda w, t: Warehouse(spark, w.cfg)[t].partition(last)  # noqa: E731
    for table in (tables.EDGES_DAILY, tables.ACCOUNT_DAILY):  # every window day, the same as the backfill's
        got, want = (Warehouse(spark, w.cfg)[table].read() for w in (alone, world))
        assert_equal_tables(got, want, list(table.key))
    # the window's state rebuilt from its days against the backfill's, advanced day by day
    for table in (tables.FEATURE_STATE, tables.FEATURES, tables.WINDOW_EDGES):
        assert_equal_tables(part(alone, table), part(world, table), list(table.key))

    # the fixed point from a cold start against the backfill's warm one: each is within d / (1 - d) x tolerance of
    # the true one (a contraction of factor d, stopped when no account moved more than the tolerance)
    g = world.cfg.graph
    key = ["network", "account_id"]
    influence = part(alone, tables.ACCOUNT_INFLUENCE).select(*key, F.col("raw").alias("got"))
    pairs = influence.join(part(world, tables.ACCOUNT_INFLUENCE).select(*key, F.col("raw").alias("want")), key, "full")
    assert pairs.where(F.col("got").isNull() | F.col("want").isNull()).isEmpty()
    moved = F.abs(F.col("got") - F.col("want")) / F.greatest(F.col("want"), F.lit(1.0))
    assert pairs.agg(F.max(moved)).first()[0] <= 2 * g.tolerance * g.damping / (1 - g.damping)

    # the unsmoothed target score within 0.1 points (the published score is smoothed from the days before)
    targets = part(alone, tables.SCORES).select("person_id", F.col("target_score").alias("got"))
    both = targets.join(part(world, tables.SCORES).select("person_id", "target_score"), "person_id", "full")
    assert both.where(F.col("got").isNull() | F.col("target_score").isNull()).isEmpty()
    assert both.agg(F.max(F.abs(F.col("got") - F.col("target_score")))).first()[0] <= 0.1


def test_only_the_last_date_scored_over_a_range(spark, history):
    world, ingested = history
    last = world.days[-1]
    history_run = ingested()
    outcomes = list(run_dates(spark, history_run.cfg, "daily", world.days, "last", score_days="last"))
    assert [(o.date, o.status) for o in outcomes] == [(last, "succeeded")]
    scores = Warehouse(spark, history_run.cfg)[tables.SCORES].read()
    assert [r.date for r in scores.select("date").distinct().collect()] == [last]
    daily = Warehouse(spark, history_run.cfg)[tables.ACCOUNT_DAILY].read()
    assert sorted(r.date for r in daily.select("date").distinct().collect()) == world.days
