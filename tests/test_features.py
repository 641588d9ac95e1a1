"""The features step: every weight factor, the decayed window, long-lasting profile facts, reruns and rebuilds.

Expected values are computed by hand in the comments, from conf/default.yaml:
  Where: twitter 1.0, facebook 0.9, linkedin 1.1      What: photo 1.0, video 1.2, text 1.0
  How:   retweet 1.0, share 1.0, like 0.3, comment 0.6, reply 0.6
Single-day factor tests call the pure transforms (`daily_edges_and_metrics`, `rebuild`, `assemble`) on in-memory
frames; one small multi-day world goes through `run_features` and its Delta tables end to end.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from klout import schemas, tables
from klout.features import dynamic
from klout.features.assemble import assemble
from klout.features.profile import LONG_LASTING, long_lasting
from klout.features.run import run_features
from klout.ingest.run import ingest
from klout.warehouse import Warehouse

NOW = dt.datetime(2030, 1, 1)
D1, D2, D3, D4 = (dt.date(2026, 1, d) for d in (1, 2, 3, 4))
TOL = {"rtol": 0.0, "atol": 1e-9}
HALF = 0.5**0.5  # one day of decay with half_life_days = 2: 0.5 ** (1/2) = 0.70710678...
P_HEADER = [
    "network",
    "user_id",
    "snapshot_date",
    "followers",
    "following",
    "lists",
    "posts",
    "verified",
    "created_at",
    "title_seniority",
    "external_authority",
    "spam_follower_share",
    "inactive_follower_share",
]


def _bronze(spark, rows, start=0):
    """INTERACTIONS rows from (day, network, actor, target, action, content_id, content_type) tuples."""
    out = [
        (
            f"e{start + i}",
            net,
            actor,
            target,
            action,
            dt.datetime.combine(day, dt.time(12, 0, i % 60)),
            cid,
            ctype,
            "test",
            NOW,
            day,
        )
        for i, (day, net, actor, target, action, cid, ctype) in enumerate(rows)
    ]
    return spark.createDataFrame(out, schemas.INTERACTIONS)


def _day(spark, cfg, rows):
    """One day's (edges, metrics) from the pure transform, all reactions on D1 (without the date column)."""
    edges, metrics = dynamic.daily_edges_and_metrics(_bronze(spark, [(D1, *r) for r in rows]), cfg)
    return edges.drop("date"), metrics.drop("date")


def _edges(spark, rows):
    """Expected edges: (network, actor, target, reactions, weight, pair_factor, selectivity, ring, reciprocal)."""
    return spark.createDataFrame(rows, schemas.EDGES_DAILY.fieldNames()[1:])


def _assert_edges(edges, rows):
    """`edges` hold exactly the expected `_edges` rows, in any order, each number to 1e-9 (chispa: a failure shows
    the two frames' rows side by side, the differing ones marked)."""
    expected = _edges(edges.sparkSession, rows)
    assert_approx_df_equality(edges, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def _features_of_day(spark, cfg, metrics):
    """gold/features of D1 from one day's metrics, through the same rebuild and assemble the step uses."""
    state = dynamic.rebuild(metrics.withColumn("date", F.lit(D1)), D1, cfg)
    profiles = long_lasting(spark.createDataFrame([], schemas.PROFILES), D1, cfg)
    return assemble(state, profiles, D1, cfg)


# ---- single-day factors (pure transforms) ---------------------------------------------------------------------


@pytest.mark.fast
def test_pair_cap_scales_a_pairs_repeated_reactions_and_can_be_switched_off(spark, make_config, tmp_path):
    rows = [("twitter", "r", "t", "retweet", f"p{i}", "photo") for i in range(5)] + [
        ("twitter", "r", "u", "retweet", f"q{i}", "photo") for i in range(3)
    ]
    edges, metrics = _day(spark, make_config(tmp_path), rows)
    # r->t: 5 retweets x 1.0 = 5.0 base; pair_factor min(1, 3/5) = 0.6 -> weight 3.0
    # r->u: exactly the cap (3) -> pair_factor 1.0, weight 3.0. r's volume 8 <= 50 free: selectivity 1.
    _assert_edges(
        edges,
        [("twitter", "r", "t", 5, 3.0, 0.6, 1.0, 1.0, False), ("twitter", "r", "u", 3, 3.0, 1.0, 1.0, 1.0, False)],
    )
    received = metrics.where("metric = 'weighted_reactions'").select("account_id", "value")
    assertDataFrameEqual(received, [Row(account_id="t", value=3.0), Row(account_id="u", value=3.0)], **TOL)

    edges, _ = _day(spark, make_config(tmp_path, "features.anti_gaming.pair_cap.enabled=false"), rows)
    # switched off: r->t weighs its full 5 x 1.0 = 5.0
    _assert_edges(
        edges,
        [("twitter", "r", "t", 5, 5.0, 1.0, 1.0, 1.0, False), ("twitter", "r", "u", 3, 3.0, 1.0, 1.0, 1.0, False)],
    )


@pytest.mark.fast
@pytest.mark.parametrize("exponent, factor", [(1.0, 0.5), (2.0, 0.25)])
def test_selectivity_divides_a_busy_reactors_weight_per_network(spark, make_config, tmp_path, exponent, factor):
    cfg = make_config(
        tmp_path,
        "features.anti_gaming.selectivity.free_reactions_per_day=4",
        f"features.anti_gaming.selectivity.exponent={exponent}",
    )
    rows = (
        [("twitter", "r", f"t{i}", "retweet", f"p{i}", "photo") for i in range(1, 9)]  # r: 8 on twitter
        + [("twitter", "s", f"t{i}", "retweet", f"s{i}", "photo") for i in range(1, 5)]  # s: exactly 4
        + [("facebook", "r", "t9", "like", "f1", "photo")]
    )  # r: 1 on facebook
    edges, metrics = _day(spark, cfg, rows)
    # r on twitter: (4 / 8) ** exponent = 0.5 (exp 1) or 0.25 (exp 2); each weight 1.0 x that factor.
    # s: (4 / 4) ** e = 1 (the free volume counts fully). r on facebook: volume 1 there -> 1;
    # its weight 0.9 x 1.0 x 0.3 = 0.27.
    expected = (
        [("twitter", "r", f"t{i}", 1, factor, 1.0, factor, 1.0, False) for i in range(1, 9)]
        + [("twitter", "s", f"t{i}", 1, 1.0, 1.0, 1.0, 1.0, False) for i in range(1, 5)]
        + [("facebook", "r", "t9", 1, 0.27, 1.0, 1.0, 1.0, False)]
    )
    _assert_edges(edges, expected)
    # t1..t4 receive factor (from r) + 1.0 (from s); t5..t8 only factor.
    received = metrics.where("metric = 'weighted_reactions'").select("account_id", "value")
    assertDataFrameEqual(
        received,
        [Row(account_id=f"t{i}", value=factor + (1.0 if i <= 4 else 0.0)) for i in range(1, 9)]
        + [Row(account_id="t9", value=0.27)],
        **TOL,
    )


@pytest.mark.fast
def test_rings_down_weight_reciprocated_reactors_and_shape_outside_circle_share(spark, cfg):
    rt = lambda a, t: ("twitter", a, t, "retweet", f"{a}-{t}", "photo")  # noqa: E731  base weight 1.0
    rows = (
        [
            rt("a", "b"),
            rt("b", "a"),
            rt("a", "c"),
            rt("c", "a"),
            rt("b", "c"),
            rt("c", "b"),  # pure ring
            rt("w", "a"),
        ]  # outsider
        + [rt("r", f"t{i}") for i in range(1, 5)]
        + [rt("t1", "r")]  # r: 1 of 4
        + [rt("s", f"u{i}") for i in range(1, 5)]
        + [rt(f"u{i}", "s") for i in range(1, 4)]  # s: 3 of 4
        + [rt("v", "k1"), rt("v", "k2"), rt("k1", "v")]
    )  # v: 2 of 4
    edges, metrics = _day(spark, cfg, rows)
    floor = 0.05
    # share = reciprocated / volume; ring = 1 if share <= 0.5 else 1 - (share - 0.5) / 0.5 * (1 - 0.05)
    #   a, b, c, t1, u1..u3, k1: share 1 -> floor 0.05;  w: 0/1 -> 1;  r: 1/4 = 0.25 -> 1;  v: 1/2 = 0.5 -> 1
    #   s: 3/4 = 0.75 -> 1 - (0.25 / 0.5) x 0.95 = 0.525
    e = lambda a, t, ring, rec: ("twitter", a, t, 1, ring, 1.0, 1.0, ring, rec)  # noqa: E731
    expected = (
        [e(x, y, floor, True) for x, y in ("ab", "ba", "ac", "ca", "bc", "cb")]
        + [e("w", "a", 1.0, False)]
        + [e("r", "t1", 1.0, True)]
        + [e("r", f"t{i}", 1.0, False) for i in range(2, 5)]
        + [e("t1", "r", floor, True)]
        + [e("s", f"u{i}", 0.525, True) for i in range(1, 4)]
        + [e("s", "u4", 0.525, False)]
        + [e(f"u{i}", "s", floor, True) for i in range(1, 4)]
        + [e("v", "k1", 1.0, True), e("v", "k2", 1.0, False), e("k1", "v", floor, True)]
    )
    _assert_edges(edges, expected)

    features = _features_of_day(spark, cfg, metrics).select("account_id", "weighted_reactions", "outside_circle_share")
    # outside_circle_share = weight from non-reciprocated reactions / all weight received:
    #   a: b 0.05 + c 0.05 (reciprocated) + w 1.0 (not) = 1.1 -> 1.0 / 1.1;  b, c: 0.1 all reciprocated -> 0
    #   t1: r 1.0 reciprocated -> 0;  t2..t4: 1.0 -> 1;  r: t1 0.05 reciprocated -> 0
    #   u1..u3: s 0.525 reciprocated -> 0;  u4: 0.525 -> 1;  s: 3 x 0.05 = 0.15 -> 0
    #   k1: 1.0 reciprocated -> 0;  k2: 1.0 -> 1;  v: 0.05 -> 0;  w: nothing received -> null
    expected = (
        [("a", 1.1, 1.0 / 1.1), ("b", 0.1, 0.0), ("c", 0.1, 0.0), ("w", 0.0, None), ("r", 0.05, 0.0), ("t1", 1.0, 0.0)]
        + [(f"t{i}", 1.0, 1.0) for i in range(2, 5)]
        + [(f"u{i}", 0.525, 0.0) for i in range(1, 4)]
        + [("u4", 0.525, 1.0), ("s", 0.15, 0.0)]
        + [("k1", 1.0, 0.0), ("k2", 1.0, 1.0), ("v", 0.05, 0.0)]
    )
    assertDataFrameEqual(features, spark.createDataFrame(expected, features.schema), **TOL)


@pytest.mark.fast
def test_self_reactions_never_count(spark, cfg):
    rows = [
        ("twitter", "a", "a", "retweet", "p1", "photo"),
        ("twitter", "a", "a", "like", "p1", "photo"),
        ("twitter", "a", "b", "like", "p2", "photo"),
    ]
    edges, metrics = _day(spark, cfg, rows)
    # only a->b remains: like 0.3; a's volume is 1 (not 3), so nothing else changes.
    _assert_edges(edges, [("twitter", "a", "b", 1, 0.3, 1.0, 1.0, 1.0, False)])
    assertDataFrameEqual(
        metrics,
        spark.createDataFrame(
            [
                ("twitter", "b", m, v)
                for m, v in [
                    ("weighted_reactions", 0.3),
                    ("outside_circle_weight", 0.3),
                    ("weighted_like", 0.3),
                    ("reactions", 1.0),
                    ("reactor_days", 1.0),
                    ("reacted_posts", 1.0),
                ]
            ]
            + [("twitter", "a", "reactions_made", 1.0), ("twitter", "a", "reacting_days", 1.0)],
            metrics.schema,
        ),
        **TOL,
    )


# ---- a small world through run_features (window 3 days, half-life 2 days) ------------------------------------

# (day, network, actor, target, action, content_id, content_type)      base = Where x What x How
WORLD = [
    (D1, "twitter", "a", "b", "retweet", "p1", "photo"),  # 1.0 x 1.0 x 1.0 = 1.0
    (D1, "twitter", "a", "n", "retweet", "p9", "photo"),  # 1.0
    (D1, "twitter", "a", "a", "retweet", "p1", "photo"),  # self: never counts
    (D1, "facebook", "c", "d", "like", "p2", "video"),  # 0.9 x 1.2 x 0.3 = 0.324
    (D1, "linkedin", "e", "f", "comment", "p3", None),  # 1.1 x 0.5 (unknown) x 0.6 = 0.33
    (D1, "twitter", "g", "h", "share", "p4", "hologram"),  # 1.0 x 0.5 (unknown) x 1.0 = 0.5 (g's influence: no part)
    (D2, "twitter", "x", "y", "like", "p6", "text"),  # 0.3, x<->y reciprocal: ring 0.05 -> 0.015
    (D2, "twitter", "y", "x", "like", "p8", "text"),  # 0.3 x 0.05 = 0.015
    (D2, "twitter", "q", "y", "like", "p6", "text"),  # 0.3 (same post p6 as x->y)
    (D3, "facebook", "c", "d", "like", "p5", "video"),  # 0.324
    (D3, "facebook", "z", "d", "like", "p5", "video"),  # 0.324 (same post p5)
    (D4, "twitter", "q", "a", "reply", "p7", "text"),  # 1.0 x 1.0 x 0.6 = 0.6
]
PROFILE_LINES = [
    # b: the snapshot at the D3 window's start (D3 - 3 = 2025-12-31), one on D3, and one after every run date
    "twitter,b,2025-12-31,99,297,0,100,true,2025-01-01T00:00:00Z,DIRECTOR,2.5,0.1,0.2",
    "twitter,b,2026-01-03,999,1998,6,110,false,2025-01-01T00:00:00Z,Director,2.5,0.1,0.2",
    "twitter,b,2026-01-05,5,5,5,500,true,2024-01-01T00:00:00Z,intern,,,",
    # n: 0 posts at the window's start, 1000 by D2 (everything else unknown in that latest snapshot)
    "twitter,n,2025-12-31,0,10,,0,,,,,,",
    "twitter,n,2026-01-02,,,,1000,,,,,,",
    # h: followers only; a title the config does not know
    "twitter,h,2026-01-01,10,,,,,,janitor,,,",
]
SNAPSHOT_TABLES = (tables.EDGES_DAILY, tables.ACCOUNT_DAILY, tables.FEATURE_STATE, tables.FEATURES)
WORLD_SETS = ("features.window_days=3", "features.half_life_days=2", "features.unknown_content_weight=0.5")


@pytest.fixture(scope="module")
def world(spark, make_config, tmp_path_factory):
    """The WORLD run through run_features for D1..D4 in order; yields (cfg, tables as first written)."""
    tmp = tmp_path_factory.mktemp("world")
    cfg = make_config(tmp, *WORLD_SETS)
    Warehouse(spark, cfg)[tables.INTERACTIONS].merge(_bronze(spark, WORLD))
    # earlier graph passes, which the features must not read: Who is the graph pass's own (klout.weights)
    influence = [
        (dt.date(2025, 12, 30), "twitter", "g", 7.0),
        (dt.date(2025, 12, 30), "twitter", "a", 9.0),
        (dt.date(2025, 12, 31), "twitter", "g", 3.0),
        (D1, "twitter", "g", 100.0),
        (D1, "twitter", "a", 100.0),
    ]
    # the graph pass's other columns are filled with neutral values
    rows = [(d, net, acc, inf, inf, 0.0, inf, 0, 0.0, None, []) for d, net, acc, inf in influence]
    Warehouse(spark, cfg)[tables.ACCOUNT_INFLUENCE].merge(spark.createDataFrame(rows, schemas.ACCOUNT_INFLUENCE))
    path = tmp / "profiles.csv"
    path.write_text(",".join(P_HEADER) + "\n" + "\n".join(PROFILE_LINES) + "\n")
    assert ingest(spark, cfg, str(path), "csv", kind="profiles", now=NOW).accepted == len(PROFILE_LINES)
    for day in (D1, D2, D3, D4):
        run_features(spark, cfg, day)
    first = {t.name: Warehouse(spark, cfg)[t].read().collect() for t in SNAPSHOT_TABLES}
    return cfg, first


def _part(spark, cfg, table, day):
    return Warehouse(spark, cfg)[table].read().where(F.col("date") == F.lit(day)).drop("date")


def test_edges_daily_carry_where_what_how_and_anti_gaming_but_no_who_or_self(spark, world):
    cfg, _ = world
    # D1: base weights as in WORLD; Who (g = 3) is not in edges; the self-reaction a->a is absent.
    _assert_edges(
        _part(spark, cfg, tables.EDGES_DAILY, D1),
        [
            ("twitter", "a", "b", 1, 1.0, 1.0, 1.0, 1.0, False),
            ("twitter", "a", "n", 1, 1.0, 1.0, 1.0, 1.0, False),
            ("facebook", "c", "d", 1, 0.324, 1.0, 1.0, 1.0, False),
            ("linkedin", "e", "f", 1, 0.33, 1.0, 1.0, 1.0, False),
            ("twitter", "g", "h", 1, 0.5, 1.0, 1.0, 1.0, False),
        ],
    )
    # D2: x and y react to each other: share 1 -> ring 0.05, weight 0.3 x 0.05 = 0.015; q is not reciprocated.
    _assert_edges(
        _part(spark, cfg, tables.EDGES_DAILY, D2),
        [
            ("twitter", "x", "y", 1, 0.015, 1.0, 1.0, 0.05, True),
            ("twitter", "y", "x", 1, 0.015, 1.0, 1.0, 0.05, True),
            ("twitter", "q", "y", 1, 0.3, 1.0, 1.0, 1.0, False),
        ],
    )


def test_features_carry_no_who_whatever_the_earlier_graph_passes_say(spark, world):
    cfg, _ = world
    got = _part(spark, cfg, tables.FEATURES, D1).select("network", "account_id", "weighted_reactions", "weighted_share")
    # h: 0.5, its edge's weight (g's influence 3.0 before D1 changes nothing);  b, n: 1.0;  d 0.324, f 0.33;
    # reactors a, c, e, g received nothing.
    assertDataFrameEqual(
        got,
        spark.createDataFrame(
            [
                ("twitter", "h", 0.5, 0.5),
                ("twitter", "b", 1.0, 0.0),
                ("twitter", "n", 1.0, 0.0),
                ("facebook", "d", 0.324, 0.0),
                ("linkedin", "f", 0.33, 0.0),
                ("twitter", "a", 0.0, 0.0),
                ("facebook", "c", 0.0, 0.0),
                ("linkedin", "e", 0.0, 0.0),
                ("twitter", "g", 0.0, 0.0),
            ],
            got.schema,
        ),
        **TOL,
    )


def test_when_decays_by_half_life_and_the_window_drops_old_days(spark, world):
    cfg, _ = world
    b = (
        Warehouse(spark, cfg)[tables.FEATURES]
        .read()
        .where("account_id = 'b'")
        .select("date", "weighted_reactions", "weighted_retweet", "reactions")
    )
    # b's one retweet of weight 1 on D1, window 3 days, half-life 2 days:
    #   D1 age 0: 1.0;  D2 age 1: 0.5 ** (1/2) = 0.7071;  D3 age 2 (= half-life): 0.5;  D4: out of the window -> 0
    #   the plain count `reactions` is 1 on D1..D3 and 0 on D4 (b's row stays: it has a profile)
    assertDataFrameEqual(
        b,
        spark.createDataFrame(
            [(D1, 1.0, 1.0, 1.0), (D2, HALF, HALF, 1.0), (D3, 0.5, 0.5, 1.0), (D4, 0.0, 0.0, 0.0)], b.schema
        ),
        **TOL,
    )

    # The whole D4 state: every D1 metric has left (no rows for b, n, f, h, e, g; a's reactions_made of D1 gone).
    #   a: q's reply today 0.6;  d: D3's 2 x 0.324 = 0.648 at age 1 -> 0.648 x 0.7071;  c, z: D3's reactions
    #   x, y: D2's metrics at age 2 -> x 0.5;  y 0.315 x 0.5 = 0.1575, of which 0.3 x 0.5 = 0.15 outside
    #   q: reactions_made 1 (D2) + 1 (D4) = 2, on 2 reacting days; c, z, x, y: 1 reaction made, on 1 day
    d4 = 0.648 * HALF
    rows = [
        ("twitter", "a", m, v)
        for m, v in [
            ("weighted_reactions", 0.6),
            ("outside_circle_weight", 0.6),
            ("weighted_reply", 0.6),
            ("reactions", 1.0),
            ("reactor_days", 1.0),
            ("reacted_posts", 1.0),
        ]
    ]
    rows += [
        ("facebook", "d", m, v)
        for m, v in [
            ("weighted_reactions", d4),
            ("outside_circle_weight", d4),
            ("weighted_like", d4),
            ("reactions", 2.0),
            ("reactor_days", 2.0),
            ("reacted_posts", 1.0),
        ]
    ]
    rows += [
        (network, account, metric, value)
        for network, account, value in [("facebook", "c", 1.0), ("facebook", "z", 1.0), ("twitter", "q", 2.0)]
        for metric in ("reactions_made", "reacting_days")
    ]
    rows += [
        ("twitter", "x", m, v)
        for m, v in [
            ("weighted_reactions", 0.0075),
            ("weighted_like", 0.0075),
            ("reactions", 1.0),
            ("reactor_days", 1.0),
            ("reacted_posts", 1.0),
            ("reactions_made", 1.0),
            ("reacting_days", 1.0),
        ]
    ]
    rows += [
        ("twitter", "y", m, v)
        for m, v in [
            ("weighted_reactions", 0.1575),
            ("outside_circle_weight", 0.15),
            ("weighted_like", 0.1575),
            ("reactions", 2.0),
            ("reactor_days", 2.0),
            ("reacted_posts", 1.0),
            ("reactions_made", 1.0),
            ("reacting_days", 1.0),
        ]
    ]
    state = _part(spark, cfg, tables.FEATURE_STATE, D4)
    assertDataFrameEqual(state, spark.createDataFrame(rows, state.schema), **TOL)


def test_dynamic_features_of_the_window(spark, world):
    cfg, _ = world
    cols = [
        "network",
        "account_id",
        "weighted_reactions",
        "reactions",
        "reactor_days",
        "reacted_posts",
        "posts",
        "reactions_per_post",
        "outside_circle_share",
        "reactions_made",
        "weighted_retweet",
        "weighted_share",
        "weighted_like",
        "weighted_comment",
    ]
    got = _part(spark, cfg, tables.FEATURES, D3).select(*cols)
    # D3, decay by age: D1 x 0.5, D2 x 0.7071, D3 x 1.  posts = max(profile posts delta in the window,
    # reacted_posts); null when 0.  reactions_per_post = weighted_reactions / posts.
    y = 0.315 * HALF  # y on D2: x 0.015 + q 0.3 = 0.315, of which 0.3 from outside the circle
    x = 0.015 * HALF
    expected = [
        # b: 1.0 x 0.5; profile posts 110 (D3) - 100 (window start 2025-12-31) = 10 -> 0.5 / 10 = 0.05
        ("twitter", "b", 0.5, 1.0, 1.0, 1.0, 10.0, 0.05, 1.0, 0.0, 0.5, 0.0, 0.0, 0.0),
        # n: same reactions as b but 1000 - 0 = 1000 posts -> 0.5 / 1000: b's 10 posts make b score higher
        ("twitter", "n", 0.5, 1.0, 1.0, 1.0, 1000.0, 0.0005, 1.0, 0.0, 0.5, 0.0, 0.0, 0.0),
        # a gave 2 reactions (the self-reaction not counted); received none
        ("twitter", "a", 0.0, 0.0, 0.0, 0.0, None, None, None, 2.0, 0.0, 0.0, 0.0, 0.0),
        # d: 0.324 x 0.5 (D1) + 2 x 0.324 (D3) = 0.81; reactor-days 1 (D1: c) + 2 (D3: c, z) = 3;
        #    posts 1 (D1: p2) + 1 (D3: p5 twice) = 2 = posts (no profile) -> 0.81 / 2 = 0.405
        ("facebook", "d", 0.81, 3.0, 3.0, 2.0, 2.0, 0.405, 1.0, 0.0, 0.0, 0.0, 0.81, 0.0),
        ("facebook", "c", 0.0, 0.0, 0.0, 0.0, None, None, None, 2.0, 0.0, 0.0, 0.0, 0.0),
        ("facebook", "z", 0.0, 0.0, 0.0, 0.0, None, None, None, 1.0, 0.0, 0.0, 0.0, 0.0),
        # f: 0.33 x 0.5 = 0.165
        ("linkedin", "f", 0.165, 1.0, 1.0, 1.0, 1.0, 0.165, 1.0, 0.0, 0.0, 0.0, 0.0, 0.165),
        ("linkedin", "e", 0.0, 0.0, 0.0, 0.0, None, None, None, 1.0, 0.0, 0.0, 0.0, 0.0),
        # h: 0.5 x 0.5 = 0.25; its profile has no posts -> posts = reacted_posts 1
        ("twitter", "h", 0.25, 1.0, 1.0, 1.0, 1.0, 0.25, 1.0, 0.0, 0.0, 0.25, 0.0, 0.0),
        ("twitter", "g", 0.0, 0.0, 0.0, 0.0, None, None, None, 1.0, 0.0, 0.0, 0.0, 0.0),
        # y: 2 reactions from 2 reactors on one post p6; outside share 0.3 / 0.315
        ("twitter", "y", y, 2.0, 2.0, 1.0, 1.0, y, 0.3 / 0.315, 1.0, 0.0, 0.0, y, 0.0),
        # x: only y's reciprocated like -> outside share 0
        ("twitter", "x", x, 1.0, 1.0, 1.0, 1.0, x, 0.0, 1.0, 0.0, 0.0, x, 0.0),
        ("twitter", "q", 0.0, 0.0, 0.0, 0.0, None, None, None, 1.0, 0.0, 0.0, 0.0, 0.0),
    ]
    assertDataFrameEqual(got, spark.createDataFrame(expected, got.schema), **TOL)
    # every other per-action column is 0 on D3
    others = [f"weighted_{a}" for a in cfg.actions if a not in ("retweet", "share", "like", "comment")]
    assert _part(spark, cfg, tables.FEATURES, D3).where(" OR ".join(f"{c} != 0" for c in others)).isEmpty()


def test_long_lasting_features_from_the_latest_snapshot_on_or_before_the_run_date(spark, world):
    cfg, _ = world
    cols = ["account_id", "snapshot_date", *LONG_LASTING, "missing_features"]
    got = _part(spark, cfg, tables.FEATURES, D3).where("account_id IN ('b', 'n', 'h', 'd')").select(*cols)
    everything = list(LONG_LASTING)
    expected = [
        # b on D3: the 2026-01-03 snapshot (the 2026-01-05 one is later: ignored). ln(1 + 999), 1998 / 999,
        # ln(1 + 6), 2026-01-03 - 2025-01-01 = 367 days, not verified, "Director" -> director 4
        ("b", dt.date(2026, 1, 3), math.log(1000), 2.0, math.log(7), 367.0, 0.0, 4.0, 2.5, 0.1, 0.2, []),
        # n: its latest snapshot (2026-01-02) knows only posts: every feature is missing
        ("n", dt.date(2026, 1, 2), *[None] * 9, everything),
        # h: ln(1 + 10); "janitor" is not in the title map -> null
        ("h", D1, math.log(11), *[None] * 8, everything[1:]),
        # d: no profile at all
        ("d", None, *[None] * 9, everything),
    ]
    assertDataFrameEqual(got, spark.createDataFrame(expected, got.schema), **TOL)

    # b on D2: the 2025-12-31 snapshot: ln(1 + 99), 297 / 99 = 3, ln(1 + 0) = 0, 366 days, verified,
    # "DIRECTOR" -> 4 (case-insensitive). No snapshot at D2's window start (2025-12-30): posts = reacted_posts 1.
    b2 = _part(spark, cfg, tables.FEATURES, D2).where("account_id = 'b'").select(*cols, "posts", "reactions_per_post")
    assertDataFrameEqual(
        b2,
        spark.createDataFrame(
            [("b", dt.date(2025, 12, 31), math.log(100), 3.0, 0.0, 366.0, 1.0, 4.0, 2.5, 0.1, 0.2, [], 1.0, HALF)],
            b2.schema,
        ),
        **TOL,
    )


def test_reruns_and_a_rebuild_without_state_give_exactly_the_tables_first_written(
    spark, world, copy_warehouse, tmp_path
):
    cfg, first = world
    cfg = copy_warehouse(Path(cfg.warehouse), tmp_path, *WORLD_SETS)  # the other tests read the world's tables

    def same_as_first():
        for t in SNAPSHOT_TABLES:
            got = Warehouse(spark, cfg)[t].read()
            assertDataFrameEqual(got, spark.createDataFrame(first[t.name], got.schema), rtol=0.0, atol=0.0)

    run_features(spark, cfg, D1)  # rerun one date (D2..D4 already exist): every table is unchanged
    same_as_first()
    for day in (D2, D3):  # ... and so are the others rerun in order: exactly, not approximately
        run_features(spark, cfg, day)
    same_as_first()

    # Rebuild path: without any state, D3 is rebuilt from account_daily D1..D3 (sum of metrics(d) x decay(D3 - d)),
    # where the recurrence decayed the day before's state: the sums are exact (fixed point), so to the last bit.
    shutil.rmtree(Warehouse(spark, cfg)[tables.FEATURE_STATE].path)
    run_features(spark, cfg, D3)
    state = Warehouse(spark, cfg)[tables.FEATURE_STATE].read()
    assert [r.date for r in state.select("date").distinct().collect()] == [D3]
    expected_state = [r for r in first[tables.FEATURE_STATE.name] if r.date == D3]
    assertDataFrameEqual(state, spark.createDataFrame(expected_state, state.schema), rtol=0.0, atol=0.0)
    features = Warehouse(spark, cfg)[tables.FEATURES].read()
    assertDataFrameEqual(
        features, spark.createDataFrame(first[tables.FEATURES.name], features.schema), rtol=0.0, atol=0.0
    )
