"""The score: quantile placement, the target distribution, smoothing, rank, the hierarchy and explanations.

Hand computations use conf/default.yaml: networks twitter 1.0, facebook 0.9; score.target anchors
0 -> 1, 0.1 -> 15, 0.3 -> 32, 0.5 -> 40, 0.8 -> 52, 0.95 -> 63, 0.99 -> 75, ..., 1 -> 100; smoothing 0.3.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from chispa.column_comparer import assert_approx_column_equality
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType
from pyspark.testing import assertDataFrameEqual

from klout import schemas
from klout.caching import Cache
from klout.score.formula import accounts_of_persons, network_share, persons
from klout.score.history import EARLIER, earlier, earlier_dates
from klout.score.run import score_tables
from klout.score.scale import percentile, percentile_sql, quantile_points, rank_and_percentile, smoothed, target_score

TOL = {"rtol": 0.0, "atol": 1e-9}


def _values(spark, xs):
    return spark.createDataFrame([(f"p{i}", float(x)) for i, x in enumerate(xs)], "person_id string, raw double")


@pytest.mark.fast
def test_quantile_points_give_each_distinct_value_the_share_below_it(spark, cfg):
    # 5 distinct values: share below rescaled like percent_rank: 0, 1/4, 2/4, 3/4, 1
    points = quantile_points(_values(spark, [5, 1, 4, 2, 3]), "raw", cfg.score)
    assert points == [
        (1.0, 0.0),
        (2.0, pytest.approx(0.25)),
        (3.0, pytest.approx(0.5)),
        (4.0, pytest.approx(0.75)),
        (5.0, pytest.approx(1.0)),
    ]
    # 7 values: the 1000-point grid cannot hit sevenths, but the share below is a multiple of 1/7: exact ranks
    assert quantile_points(_values(spark, range(7)), "raw", cfg.score) == [
        (float(i), pytest.approx(i / 6)) for i in range(7)
    ]
    # ties share the lowest place: three people at 1 have nobody below them; the one at 2 has all three
    assert quantile_points(_values(spark, [1, 1, 1, 2]), "raw", cfg.score) == [(1.0, 0.0), (2.0, pytest.approx(1.0))]


@pytest.mark.fast
def test_percentile_interpolates_between_quantile_points(spark, cfg):
    points = [(1.0, 0.0), (2.0, 0.25), (3.0, 0.5), (5.0, 1.0)]
    # below the lowest -> 0; 1.5 -> halfway 0..0.25; 4 -> halfway 0.5..1; at or above the highest -> 1
    df = spark.createDataFrame(
        [(0.5, 0.0), (1.0, 0.0), (1.5, 0.125), (2.0, 0.25), (4.0, 0.75), (5.0, 1.0), (9.0, 1.0)],
        "raw double, expected double",
    )
    out = df.withColumn("pct", percentile("raw", points))
    assert_approx_column_equality(out, "pct", "expected", 1e-9)
    # the same search inside an array, for every point and between every two of a long grid
    grid = [(float(i), i / 200) for i in range(201)]
    xs = [i / 4 for i in range(-4, 805)]
    arr = spark.createDataFrame([(xs,)], "xs array<double>").select(
        F.expr(f"transform(xs, x -> {percentile_sql('x', grid)})")
    )
    assert arr.first()[0] == pytest.approx([min(max(x, 0.0), 200.0) / 200 for x in xs], abs=1e-12)
    # one search whatever the grid: the SQL grows by the points' literals, not by a branch per point
    assert percentile_sql("x", grid).count("CASE") == percentile_sql("x", grid[:3]).count("CASE") == 2


@pytest.mark.fast
def test_target_score_follows_the_configured_anchors(spark, cfg):
    # 0.05: 1 + 0.5 x 14 = 8;  0.2: 15 + 0.5 x 17 = 23.5;  0.97: 63 + 0.5 x 12 = 69
    df = spark.createDataFrame(
        [(0.0, 1.0), (0.05, 8.0), (0.2, 23.5), (0.5, 40.0), (0.95, 63.0), (0.97, 69.0), (1.0, 100.0)],
        "pct double, expected double",
    )
    out = df.withColumn("score", target_score(F.col("pct"), cfg.score))
    assert_approx_column_equality(out, "score", "expected", 1e-9)


@pytest.mark.fast
def test_smoothing_moves_a_share_of_the_way_and_rank_counts_higher_scores(spark, cfg):
    # a: 50 + 0.3 x 10 = 53;  b: no previous -> 10;  c: 30 - 0.3 x 10 = 27;  d: unchanged 33
    df = spark.createDataFrame(
        [("a", 60.0, 50.0, 53.0), ("b", 10.0, None, 10.0), ("c", 20.0, 30.0, 27.0), ("d", 33.0, 33.0, 33.0)],
        "person_id string, target double, prev double, expected double",
    )
    out = df.withColumn("score", smoothed(F.col("target"), F.col("prev"), cfg.score))
    assert_approx_column_equality(out, "score", "expected", 1e-9)
    ranked = rank_and_percentile(
        spark.createDataFrame([("a", 90.0), ("b", 80.0), ("c", 80.0), ("d", 70.0)], "person_id string, score double")
    )
    assertDataFrameEqual(
        ranked.select("person_id", "score", "rank", "percentile"),
        [("a", 90.0, 1, 0.75), ("b", 80.0, 2, 0.25), ("c", 80.0, 2, 0.25), ("d", 70.0, 4, 0.0)],
        **TOL,
    )


@pytest.mark.fast
def test_networks_combine_by_the_configured_power(spark, cfg):
    accounts = spark.createDataFrame(
        [
            ("P", "twitter", "a", 1.0, 2.0, True),
            ("P", "facebook", "f", 0.0, 2.0, True),
            ("Q", "twitter", "b", 2.0, 0.0, False),
        ],
        "person_id string, network string, account_id string, from_profile double, from_reactions double, "
        "linked boolean",
    ).withColumns(
        {
            "reactors": F.lit(0).cast("long"),
            "engaged_weight": F.lit(0.0),
            "audience_influence": F.lit(None).cast("double"),
            "top_reactors": F.array().cast(schemas.ACCOUNT_INFLUENCE["top_reactors"].dataType),
        }
    )
    features = spark.createDataFrame(
        [], "network string, account_id string, weighted_reactions double, posts double"
    ).withColumns({f"weighted_{a}": F.lit(0.0) for a in cfg.actions})
    # values: P twitter 3.0, facebook 2.0 x 0.9 = 1.8; p = 2 (default): P = sqrt(3^2 + 1.8^2) = sqrt(12.24)
    people = persons(accounts, features, cfg)
    assertDataFrameEqual(people.select("person_id", "raw"), [("P", math.sqrt(12.24)), ("Q", 2.0)], **TOL)
    shares = people.select("person_id", F.explode("networks").alias("n")).select(
        "person_id", "n.network", network_share(F.col("n.value"), F.lit(math.sqrt(12.24)), cfg).alias("share")
    )
    expected = [("P", "twitter", 9 / 12.24), ("P", "facebook", 3.24 / 12.24), ("Q", "twitter", 4 / 12.24)]
    assertDataFrameEqual(shares, spark.createDataFrame(expected, shares.schema), **TOL)


@pytest.mark.fast
def test_a_person_of_one_account_is_its_row_as_the_aggregate_would_give_it(spark, cfg):
    # the same single-account persons through the aggregate (linked) and the shortcut (unlinked): bitwise equal,
    # nulls (no features, no posts, no engagement) and fractions that do not round-trip through the fixed point
    reactor = schemas.ACCOUNT_INFLUENCE["top_reactors"].dataType
    rows = [
        ("twitter", "a", 0.1, 1.0 / 3.0, 7, 2.5, 0.7, [("r1", 0.6), ("r2", 1e-9)]),
        ("facebook", "b", -2.0, 0.5, 0, 0.0, None, []),
        ("twitter", "c", 3.0, 1e-20, 1, 1.0 / 7.0, 1.3, [("r3", 2.0 / 3.0)]),
    ]
    accounts = spark.createDataFrame(
        [(f"{n}:{a}", n, a, fp, fr, k, w, ai, top) for n, a, fp, fr, k, w, ai, top in rows],
        StructType(
            [
                StructField("person_id", StringType()),
                *[schemas.ACCOUNT_INFLUENCE[c] for c in ("network", "account_id", "from_profile", "from_reactions")],
                *[schemas.ACCOUNT_INFLUENCE[c] for c in ("reactors", "engaged_weight", "audience_influence")],
                StructField("top_reactors", reactor, False),
            ]
        ),
    )
    actions = [f"weighted_{x}" for x in cfg.actions]
    features = spark.createDataFrame(
        [
            ("twitter", "a", 0.1, 3.0, *[0.1 * (i + 1) / 3.0 for i in range(len(actions))]),
            ("facebook", "b", 2.0 / 3.0, None, *[None] * len(actions)),
        ],
        "network string, account_id string, weighted_reactions double, posts double, "
        + ", ".join(f"{c} double" for c in actions),
    )
    aggregated = persons(accounts.withColumn("linked", F.lit(True)), features, cfg)
    alone = persons(accounts.withColumn("linked", F.lit(False)), features, cfg)
    assert alone.count() == 3
    assertDataFrameEqual(alone, aggregated, rtol=0.0, atol=0.0)  # no tolerance: the same doubles


# ---- the whole score step on hand-built account influence --------------------------------------------------

INFLUENCE = [  # network, account, influence, reactors, engaged_weight, audience_influence, top reactors
    ("twitter", "a", 3.0, 4, 2.0, 1.5, [("r1", 0.6), ("r2", 0.3)]),
    ("facebook", "fa", 2.0, 1, 1.0, 0.5, [("r3", 0.5)]),
    ("twitter", "b", 1.0, 0, 0.0, None, []),
    ("twitter", "c", 0.5, 0, 0.0, None, []),
]
FEATURES = [  # network, account, weighted_reactions, posts, weighted_retweet, weighted_like
    ("twitter", "a", 6.0, 3.0, 4.0, 2.0),
    ("facebook", "fa", 1.0, 1.0, 0.0, 1.0),
    ("twitter", "b", 0.0, None, 0.0, 0.0),
]


def _inputs(spark, cfg, links=(("twitter", "a", "P"), ("facebook", "fa", "P")), without=()):
    influence = spark.createDataFrame(
        [(n, a, i, i, 0.0, i, r, w, ai, top) for n, a, i, r, w, ai, top in INFLUENCE if a not in without],
        StructType(schemas.ACCOUNT_INFLUENCE.fields[1:]),
    )
    identities = spark.createDataFrame(
        [(n, u, p, "test", None) for n, u, p in links],
        "network string, user_id string, person_id string, source string, ingested_at timestamp",
    )
    actions = [a for a in cfg.actions]
    features = spark.createDataFrame(
        [
            (n, a, wr, posts, *[rt if x == "retweet" else lk if x == "like" else 0.0 for x in actions])
            for n, a, wr, posts, rt, lk in FEATURES
        ],
        "network string, account_id string, weighted_reactions double, posts double, "
        + ", ".join(f"weighted_{x} double" for x in actions),
    )
    return accounts_of_persons(influence, identities), features


@pytest.fixture
def grid_cfg(make_config, tmp_path):
    """Quantiles at k/12: exact for 3 people (CDF steps 1/3, 2/3, 1), so hand computations hold to the digit;
    networks added up (combine_power 1; the p-norm has its own test)."""
    return make_config(tmp_path, "score.quantile_grid=12", "score.combine_power=1")


D = dt.date(2024, 3, 10)


def _published(spark, rows):
    return spark.createDataFrame(rows, "date date, person_id string, score double, network_scores map<string, double>")


def _earlier(spark):
    """P and c published the day before D only: that day is the previous score and the score 1 day before."""
    day = D - dt.timedelta(days=1)
    published = _published(
        spark, [(day, "P", 90.0, {"twitter": 80.0, "linkedin": 20.0}), (day, "twitter:c", 10.0, {"twitter": 5.0})]
    )
    return earlier(published, earlier_dates(published, D))


@pytest.mark.fast
def test_earlier_scores_are_the_latest_before_and_those_1_and_7_days_before(spark):
    back = lambda n: D - dt.timedelta(days=n)  # noqa: E731
    published = _published(
        spark,
        [
            (back(7), "P", 50.0, {"twitter": 50.0}),
            (back(7), "Z", 5.0, {"twitter": 5.0}),
            (back(3), "P", 70.0, {"twitter": 70.0}),
            (back(2), "P", 80.0, {"twitter": 80.0}),
            (back(2), "Y", 8.0, {"facebook": 8.0}),
            (D, "P", 99.0, {"twitter": 99.0}),  # the run date itself (a rerun): never earlier
        ],
    )
    dates = earlier_dates(published, D)
    assert dates == {"previous": back(2), "1d": None, "7d": back(7)}
    expected = [("P", 80.0, {"twitter": 80.0}, None, 50.0), ("Y", 8.0, {"facebook": 8.0}, None, None)]
    expected += [("Z", None, None, None, 5.0)]
    assertDataFrameEqual(earlier(published, dates), spark.createDataFrame(expected, EARLIER))
    assert earlier(published, earlier_dates(published, back(7))) is None


@pytest.mark.fast
def test_scores_hierarchy_subscores_smoothing_and_rank(spark, grid_cfg):
    cfg = grid_cfg
    accounts, features = _inputs(spark, cfg)
    with Cache() as cache:
        scores, _, _ = score_tables(accounts, features, _earlier(spark), cfg, cache)
        rows = scores.collect()
    # raw: P = twitter 3.0 x 1.0 + facebook 2.0 x 0.9 = 4.8; twitter:b 1.0; twitter:c 0.5
    # quantile points (0.5, 0), (1.0, 0.5), (4.8, 1) -> targets c 1, b 40, P 100
    # network scores: P twitter 3.0 -> pct 0.5 + 2/3.8 x 0.5 = 0.763158 -> 40 + 0.263158/0.3 x 12 = 50.53
    #                 P facebook 1.8 -> pct 0.5 + 0.8/3.8 x 0.5 = 0.605263 -> 40 + 0.105263/0.3 x 12 = 44.21
    # smoothed: P 90 + 0.3 x 10 = 93; b (no previous) 40; c 10 + 0.3 x (1 - 10) = 7.3
    # true reach P 4 + 1; amplification P (6 + 1) / (3 + 1); network impact P (1.5 x 2 + 0.5 x 1) / 3
    expected = [
        ("P", 93.0, 100.0, 4.8, {"facebook": 44.21, "twitter": 50.53}, 5, 1.75, 3.5 / 3, 1, 2 / 3, 3.0, None),
        ("twitter:b", 40.0, 40.0, 1.0, {"twitter": 40.0}, 0, None, None, 2, 1 / 3, None, None),
        ("twitter:c", 7.3, 1.0, 0.5, {"twitter": 1.0}, 0, None, None, 3, 0.0, -2.7, None),
    ]
    assertDataFrameEqual(
        spark.createDataFrame(rows, scores.schema), spark.createDataFrame(expected, scores.schema), **TOL
    )


@pytest.mark.fast
def test_explanations_list_networks_actions_reactors_and_changes(spark, grid_cfg):
    cfg = grid_cfg
    accounts, features = _inputs(spark, cfg)
    with Cache() as cache:
        _, why, _ = score_tables(accounts, features, _earlier(spark), cfg, cache)
        rows = why.collect()
    expected = [
        (
            "P",
            93.0,
            90.0,
            [("twitter", 50.53, 3.0 / 4.8), ("facebook", 44.21, 1.8 / 4.8)],
            [("retweet", 4.0, 4 / 7), ("like", 3.0, 3 / 7)],
            [("twitter", "r1", 0.6), ("facebook", "r3", 0.45), ("twitter", "r2", 0.3)],  # r3: 0.5 x facebook 0.9
            [("facebook", None, 44.21, 44.21), ("twitter", 80.0, 50.53, -29.47), ("linkedin", 20.0, None, -20.0)],
            "score 93.00 (+3.00 since the previous score); strongest network twitter (63% of it); "
            "most weight from retweet (57%); top reactor twitter:r1",
        ),
        (
            "twitter:b",
            40.0,
            None,
            [("twitter", 40.0, 1.0)],
            [],
            [],
            [("twitter", None, 40.0, 40.0)],
            "score 40.00 (first score); strongest network twitter (100% of it)",
        ),
        (
            "twitter:c",
            7.3,
            10.0,
            [("twitter", 1.0, 1.0)],
            [],
            [],
            [("twitter", 5.0, 1.0, -4.0)],
            "score 7.30 (-2.70 since the previous score); strongest network twitter (100% of it)",
        ),
    ]
    schema = why.schema
    assertDataFrameEqual(spark.createDataFrame(rows, schema), spark.createDataFrame(expected, schema), **TOL)


def test_connecting_another_network_never_lowers_a_persons_score(spark, grid_cfg):
    cfg = grid_cfg

    def scores_with(links, without=()):
        accounts, features = _inputs(spark, cfg, links, without)
        with Cache() as cache:
            scores, _, _ = score_tables(accounts, features, None, cfg, cache)
            return {r["person_id"]: (r["raw"], r["score"]) for r in scores.collect()}

    # c alone among a (3.0), b (1.0), c (0.5): lowest, score 1. Then c connects a new facebook account fa (1.8):
    # raw 0.5 + 1.8 = 2.3, the middle of three (1.0, 2.3, 3.0): percentile 0.5 -> 40
    alone = scores_with([], without=("fa",))
    connected = scores_with([("twitter", "c", "Q"), ("facebook", "fa", "Q")])
    assert alone["twitter:c"] == (0.5, 1.0)
    assert connected["Q"] == (pytest.approx(2.3), 40.0)
    # the top person stays on top when it connects a network too
    assert scores_with([("twitter", "a", "P"), ("facebook", "fa", "P")])["P"] == (pytest.approx(4.8), 100.0)


@pytest.mark.fast
def test_rank_counts_higher_scores_within_a_point_band_and_across_bands(spark):
    ranked = rank_and_percentile(
        spark.createDataFrame(
            [("a", 90.5), ("b", 90.25), ("c", 90.25), ("d", 89.9), ("e", 12.0)], "person_id string, score double"
        )
    )
    # above a: none; above b and c: a; above d: a, b, c (band 90); above e: all four; percentile = share below
    assertDataFrameEqual(
        ranked.select("person_id", "rank", "percentile"),
        [("a", 1, 0.8), ("b", 2, 0.4), ("c", 2, 0.4), ("d", 4, 0.2), ("e", 5, 0.0)],
        **TOL,
    )
