"""The influence graph pass on small graphs with known answers.

Hand computations use damping d and priors of 1 (no profiles: every account gets the base prior, which the
network mean turns into exactly 1), so influence(a) = (1 - d) + d * sum_r influence(r) * share(r, a).
"""

from __future__ import annotations

import datetime as dt
import math
import uuid

import pytest
from chispa import assert_approx_df_equality
from chispa.column_comparer import assert_approx_column_equality
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from klout import schemas
from klout.checkpoints import directory
from klout.graph.iterate import converge, persist_edges, persist_vertices
from klout.graph.prior import vertices
from klout.graph.run import account_influence
from klout.graph.trust import with_trust
from klout.graph.window import advance_window_edges, window_edges, with_reactor_attention, with_shares
from klout.paths import joined

D = dt.date(2026, 3, 10)
F_LOG = math.log(1000.0)  # ln(1 + 999 followers)
# attention_quantile 0: the floor is graph.attention_floor = 1 (a fixed number, for hand computation); trust floor 1:
# every reactor passes on all of its share (test_trust_* test trust)
TIGHT = [
    "graph.tolerance=1.0e-11",
    "graph.max_iterations=200",
    "graph.attention_quantile=0",
    "graph.trust.floor=1",
]
TOL = {"rtol": 0.0, "atol": 1e-9}


def _edges_daily(spark, rows, ring=1.0):
    """silver/edges_daily rows from (date, actor, target, weight) on twitter; the reactors' ring factor `ring`
    (already in the weight), other factors neutral."""
    return _graphs_daily(spark, {"twitter": rows}, ring)


def _graphs_daily(spark, graphs, ring=1.0):
    """`_edges_daily` of several graphs at once, {network: rows}, each on a network of its own: the pass never mixes
    networks (shares, priors and the fixed point are per network), so one pass computes them all."""
    rows = [(d, n, a, t, 1, float(w), 1.0, 1.0, ring, False) for n, g in graphs.items() for d, a, t, w in g]
    return spark.createDataFrame(rows, schemas.EDGES_DAILY)


def _no_features(spark, cfg):
    cols = [
        "network",
        "account_id",
        "log_followers",
        "spam_follower_share",
        "inactive_follower_share",
        "log_lists",
        "verified",
        "external_authority",
        "title_seniority",
        "account_age_days",
        "reacting_days",
        "weighted_reactions",
    ]
    return spark.createDataFrame([], ", ".join(f"{c} {'string' if c in cols[:2] else 'double'}" for c in cols))


def _pass(spark, cfg, rows, start=None, features=None):
    """(converged state, edges) of the graph of `rows` ending on D."""
    return _graphs_pass(spark, cfg, {"twitter": rows}, start, features)


def _graphs_pass(spark, cfg, graphs, start=None, features=None):
    """(converged state, edges) of the graphs of `_graphs_daily(graphs)` ending on D, in one pass."""
    n = cfg.spark.shuffle_partitions
    window = window_edges(_graphs_daily(spark, graphs), D, cfg)
    features = features if features is not None else _no_features(spark, cfg)
    per_reactor = lambda e: with_trust(with_reactor_attention(e), features, cfg)  # noqa: E731
    edges = with_shares(persist_edges(window, n, per_reactor=per_reactor), cfg)
    verts = persist_vertices(vertices(features, edges, cfg), n)
    checkpoints = joined(directory(cfg), f"test-graph-{uuid.uuid4().hex}")  # kept: the state is read after
    return converge(verts, edges, start, cfg.graph, n, checkpoints), edges


def _influence(spark, cfg, rows, **kw):
    result, _ = _pass(spark, cfg, rows, **kw)
    return {r["account_id"]: r["raw"] for r in result.state.collect()}


@pytest.mark.fast
def test_fixed_point_of_a_small_graph_by_hand(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "graph.damping=0.5", *TIGHT)
    # b -> a and c -> a (each their reactor's only edge, weight 2 >= floor 1: share 1); x <-> y (a cycle);
    # r -> s weight 0.5 below the floor 1: share 0.5 / 1 = 0.5
    rows = [(D, "b", "a", 2), (D, "c", "a", 2), (D, "x", "y", 1), (D, "y", "x", 1), (D, "r", "s", 0.5)]
    result, edges = _pass(spark, cfg, rows)
    # b, c, r: nothing received -> 0.5.  a = 0.5 + 0.5 * (0.5 + 0.5) = 1.0.  x = 0.5 + 0.5 * y, y likewise -> 1.0.
    # s = 0.5 + 0.5 * 0.5 * 0.5 = 0.625.  Mean = (0.5 * 3 + 1 + 1 + 1 + 0.625) / 7 = 5.125 / 7.
    assert result.converged
    raw = {"a": 1.0, "b": 0.5, "c": 0.5, "r": 0.5, "s": 0.625, "x": 1.0, "y": 1.0}
    mean = 5.125 / 7
    out = account_influence(result.state, edges, cfg).select(
        "account_id",
        "influence",
        "raw",
        "from_profile",
        "from_reactions",
        "reactors",
        "engaged_weight",
        "audience_influence",
        "top_reactors",
    )
    rr = lambda *pairs: [(r, c) for r, c in pairs]  # noqa: E731
    expected = [
        # no profiles: from_profile 0; a bare account has 0.5 / mean; contributions 0.5 * influence(reactor) * share
        ("a", 1.0 / mean, 1.0, 0.0, 0.5 / mean, 2, 4.0, 0.5 / mean, rr(("b", 0.25 / mean), ("c", 0.25 / mean))),
        ("b", 0.5 / mean, 0.5, 0.0, 0.0, 0, 0.0, None, []),
        ("c", 0.5 / mean, 0.5, 0.0, 0.0, 0, 0.0, None, []),
        ("r", 0.5 / mean, 0.5, 0.0, 0.0, 0, 0.0, None, []),
        ("s", 0.625 / mean, 0.625, 0.0, 0.125 / mean, 1, 0.5, 0.5 / mean, rr(("r", 0.125 / mean))),
        ("x", 1.0 / mean, 1.0, 0.0, 0.5 / mean, 1, 1.0, 1.0 / mean, rr(("y", 0.5 / mean))),
        ("y", 1.0 / mean, 1.0, 0.0, 0.5 / mean, 1, 1.0, 1.0 / mean, rr(("x", 0.5 / mean))),
    ]
    assert {k: round(v, 9) for k, v in _influence(spark, cfg, rows).items()} == raw
    assertDataFrameEqual(out, spark.createDataFrame(expected, out.schema), **TOL)


@pytest.mark.fast
def test_top_reactors_keep_the_largest_contributions_and_break_ties_by_reactor_id(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "graph.damping=0.5", "graph.top_reactors=2", *TIGHT)
    # every edge its reactor's only one (share 1). f: 0.5; b = 0.5 + 0.5 * 0.5 = 0.75; c, e: 0.5;
    # a = 0.5 + 0.5 * (0.75 + 0.5 + 0.5) = 1.375; mean = (0.5 + 0.75 + 0.5 + 0.5 + 1.375) / 5 = 0.725
    rows = [(D, "f", "b", 2), (D, "b", "a", 2), (D, "c", "a", 2), (D, "e", "a", 2)]
    result, edges = _pass(spark, cfg, rows)
    mean = 0.725
    out = account_influence(result.state, edges, cfg).where(F.col("account_id") == "a")
    # contributions to a: 0.5 * influence(r): b 0.375 / mean, then c and e tied at 0.25 / mean: c, the smaller id
    expected = [("a", 3, [("b", 0.375 / mean), ("c", 0.25 / mean)])]
    assertDataFrameEqual(
        out.select("account_id", "reactors", "top_reactors"),
        spark.createDataFrame(expected, out.select("account_id", "reactors", "top_reactors").schema),
        **TOL,
    )


@pytest.mark.fast
def test_when_decays_window_edges_and_old_days_leave(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "features.window_days=3", "features.half_life_days=1", "graph.attention_quantile=0")
    rows = [
        (D, "b", "a", 1),
        (D - dt.timedelta(days=1), "b", "a", 2),
        (D - dt.timedelta(days=2), "c", "a", 4),
        (D - dt.timedelta(days=3), "c", "a", 100),
        (D + dt.timedelta(days=1), "b", "a", 100),
    ]
    out = window_edges(_edges_daily(spark, rows), D, cfg)
    # b->a: 1 + 2 * 0.5 = 2; c->a: 4 * 0.25 = 1 (the day 3 days back and the day after D are outside)
    expected = spark.createDataFrame(
        [("twitter", "b", "a", 2, 2.0, 2.0), ("twitter", "c", "a", 1, 1.0, 1.0)],
        "network string, actor_id string, target_id string, reactions long, weight double, attention double",
    )
    assert_approx_df_equality(out, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.fast
def test_the_window_edges_advance_by_a_day_as_a_rebuild_would(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "features.window_days=3", "features.half_life_days=1", "graph.attention_quantile=0")
    day = lambda n: D + dt.timedelta(days=n)  # noqa: E731
    # the window of D-1 holds D-3..D-1, that of D holds D-2..D: c->a leaves with D-3, d->a comes in on D
    daily = _edges_daily(
        spark, [(day(-3), "c", "a", 8), (day(-2), "b", "a", 4), (day(-1), "b", "a", 2), (day(0), "d", "a", 1)]
    )
    previous = window_edges(daily, day(-1), cfg)
    advanced = advance_window_edges(
        previous, daily.where(F.col("date") == day(0)), daily.where(F.col("date") == day(-3)), cfg
    )
    # b->a: (4 * 0.5 + 2) * 0.5 = 2 (two reactions); c->a: 8 * 0.25 * 0.5 - 8 * 0.125 = 0 with 0 reactions: gone
    expected = spark.createDataFrame(
        [("twitter", "b", "a", 2, 2.0, 2.0), ("twitter", "d", "a", 1, 1.0, 1.0)],
        "network string, actor_id string, target_id string, reactions long, weight double, attention double",
    )
    assert_approx_df_equality(advanced, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)
    assert_approx_df_equality(
        window_edges(daily, day(0), cfg), expected, 1e-12, ignore_row_order=True, ignore_nullable=True
    )


@pytest.mark.fast
def test_a_discounted_reactor_passes_on_only_its_discount(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, *TIGHT)
    # r's reactions carry ring 0.25 (weights 1 and 0.5 after it): attention 4 + 2 = 6 -> shares 1/6 and 0.5/6,
    # together 0.25 of r's influence. q has one undiscounted reaction of weight 0.5 < floor 1: share 0.5.
    edges = _edges_daily(spark, [(D, "r", "a", 1), (D, "r", "b", 0.5)], ring=0.25).unionByName(
        _edges_daily(spark, [(D, "q", "a", 0.5)])
    )
    window = with_reactor_attention(window_edges(edges, D, cfg)).withColumn("trust", F.lit(1.0))
    out = with_shares(window, cfg).select("actor_id", "target_id", "attention", "share")
    expected = spark.createDataFrame(
        [("r", "a", 4.0, 1 / 6), ("r", "b", 2.0, 0.5 / 6), ("q", "a", 0.5, 0.5)],
        "actor_id string, target_id string, attention double, share double",
    )
    assert_approx_df_equality(out, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.fast
def test_the_attention_floor_follows_the_configured_quantile(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "graph.attention_quantile=0.5")
    # reactors' attention 1, 2, 3, 4, 10: median 3 -> floor 3 (above attention_floor 1)
    rows = [(D, f"r{w}", "t", w) for w in (1, 2, 3, 4, 10)]
    expected = spark.createDataFrame(
        [("r1", 1 / 3), ("r2", 2 / 3), ("r3", 1.0), ("r4", 1.0), ("r10", 1.0)], "actor_id string, expected double"
    )
    edges = window_edges(_edges_daily(spark, rows), D, cfg).join(expected, "actor_id")
    trusted = with_reactor_attention(edges).withColumn("trust", F.lit(1.0))
    assert_approx_column_equality(with_shares(trusted, cfg), "share", "expected", 1e-9)


def test_cold_and_warm_starts_reach_the_same_fixed_point(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "graph.damping=0.6", *TIGHT)
    hub = [(D, f"f{i}", "h", 1) for i in range(6)]
    rows = hub + [(D, "h", "a", 1), (D, "a", "b", 1), (D, "b", "h", 1), (D, "b", "c", 3), (D, "c", "c2", 1)]
    # the same graph twice: on `cold` every account starts at its prior, on `warm` from far-off values
    start = spark.createDataFrame(
        [("warm", a, 50.0 if a == "h" else 0.01) for a in ("h", "a", "b", "c", "f0")],
        "network string, account_id string, raw double",
    )
    result, _ = _graphs_pass(spark, cfg, {"cold": rows, "warm": rows}, start=start)
    assert result.converged
    raw = lambda n: result.state.where(F.col("network") == n).select("account_id", "raw")  # noqa: E731
    assert raw("cold").count() == len({a for _, x, y, _ in rows for a in (x, y)})
    assert_approx_df_equality(raw("cold"), raw("warm"), 1e-9, ignore_row_order=True)


@pytest.mark.fast
def test_a_reaction_from_an_influential_reactor_counts_more(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "graph.damping=0.6", *TIGHT)
    # h is reacted to by ten accounts, p by none; each reacts once to its own target with the same weight
    rows = [(D, f"f{i}", "h", 1) for i in range(10)] + [(D, "h", "t_high", 1), (D, "p", "t_low", 1)]
    inf = _influence(spark, cfg, rows)
    assert inf["h"] > inf["p"]
    assert inf["t_high"] > inf["t_low"]


def test_an_extra_reaction_never_lowers_the_target(spark, make_config, tmp_path):
    # fixed points within d / (1 - d) x 1e-8 = 1.5e-8 of the true ones, far inside the smallest gain below: e's
    # reaction of weight 0.2 (share 0.2 under the floor 1) adds at least d x raw(e) x 0.2 = 0.6 x 0.4 x 0.2 = 0.048
    cfg = make_config(tmp_path, "graph.damping=0.6", *TIGHT, "graph.tolerance=1.0e-8")
    base = [(D, "a", "b", 2), (D, "b", "a", 2), (D, "c", "a", 1), (D, "c", "b", 3), (D, "b", "d", 1), (D, "d", "c", 1)]
    extras = [(D, "c", "a", 1), (D, "d", "a", 1), (D, "b", "a", 5), (D, "e", "a", 0.2)]
    graphs = {"base": base, **{f"extra{i}": base + [e] for i, e in enumerate(extras)}}  # one pass, five networks
    result, _ = _graphs_pass(spark, cfg, graphs)
    a = {r["network"]: r["raw"] for r in result.state.where(F.col("account_id") == "a").collect()}
    assert result.converged and sorted(a) == sorted(graphs)
    for i, extra in enumerate(extras):
        assert a[f"extra{i}"] > a["base"], extra


@pytest.mark.fast
def test_profile_prior_lifts_an_account_and_discounts_spam_followers(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "graph.damping=0.5", *TIGHT)
    cols = _no_features(spark, cfg).columns
    row = lambda acc, lf, spam: ("twitter", acc, lf, spam) + (None,) * (len(cols) - 4)  # noqa: E731
    features = spark.createDataFrame(
        [row("a", float(F_LOG), 0.0), row("b", float(F_LOG), 0.9), row("c", None, None)],
        _no_features(spark, cfg).schema,
    )
    verts = {
        r["account_id"]: r["prior"]
        for r in vertices(
            features, spark.createDataFrame([], "network string, actor_id string, target_id string"), cfg
        ).collect()
    }
    # prior = (base 1 + 0.3 * ln(1 + followers * (1 - spam))) / base, followers = e^F_LOG - 1 = 999;
    # c knows nothing (its unknown age adds nothing either): a bare account, prior 1
    assert {k: round(v, 9) for k, v in verts.items()} == {
        "a": round(1 + 0.3 * math.log(1000), 9),
        "b": round(1 + 0.3 * math.log(1 + 999 * 0.1), 9),
        "c": 1.0,
    }


@pytest.mark.fast
def test_forced_iterations_stop_at_the_maximum_and_report_it(spark, make_config, tmp_path):
    cfg = make_config(
        tmp_path,
        "graph.tolerance=0",
        "graph.max_iterations=7",
        "graph.attention_quantile=0",
    )
    result, _ = _pass(spark, cfg, [(D, "a", "b", 1), (D, "b", "a", 1), (D, "c", "a", 1)])
    assert (result.iterations, result.converged, len(result.seconds)) == (7, False, 7)
    assert result.state.where(F.col("raw") > 0).count() == 3


def _activity(spark, cfg, rows):
    """gold/features rows (twitter) from (account, reacting_days, weighted_reactions, log_followers)."""
    return spark.createDataFrame(
        [("twitter", a, lf, None, None, None, None, None, None, None, float(d), float(w)) for a, d, w, lf in rows],
        _no_features(spark, cfg).schema,
    )


@pytest.mark.fast
def test_trust_grows_with_history_received_reactions_and_profile(spark, make_config, tmp_path):
    cfg = make_config(tmp_path)  # trust: floor 0.1, history_days 3, received_weight 5, profile 1
    features = _activity(
        spark,
        cfg,
        [
            ("new", 1, 0.0, None),  # first day reacting, nothing received, no profile: the floor
            ("days2", 2, 0.0, None),  # history (2 - 1) / 3: 0.1 + 0.9 / 3
            ("got", 1, 2.5, None),  # received 2.5 / 5: 0.1 + 0.9 * 0.5
            ("profiled", 1, 0.0, F_LOG),  # prior - 1 = 0.3 * ln(1000) = 2.07 >= 1: fully trusted
            ("both", 3, 2.5, None),  # 2 / 3 + 0.5 > 1: capped, fully trusted
        ],
    )
    edges = spark.createDataFrame(
        [("twitter", a, "t") for a in ("new", "days2", "got", "profiled", "both", "ghost")],
        "network string, actor_id string, target_id string",
    )
    expected = spark.createDataFrame(
        # ghost has no features row: no evidence, the floor
        [("new", 0.1), ("days2", 0.4), ("got", 0.55), ("profiled", 1.0), ("both", 1.0), ("ghost", 0.1)],
        "actor_id string, trust double",
    )
    out = with_trust(edges, features, cfg).select("actor_id", "trust")
    assert_approx_df_equality(out, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.fast
def test_fresh_reactors_pass_on_only_the_trust_floor(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "graph.damping=0.5", *TIGHT, "graph.trust.floor=0.1")
    # three fresh accounts (their first reacting day) retweet t1, three that reacted on 4 days retweet t2; each is its
    # reactor's only edge, weight 1 = the floor: share = trust. Reactors: 0.5 each (nothing received).
    # t1 = 0.5 + 0.5 * 3 * 0.5 * 0.1 = 0.575; t2 = 0.5 + 0.5 * 3 * 0.5 * 1 = 1.25
    fresh, old = [f"s{i}" for i in range(3)], [f"e{i}" for i in range(3)]
    features = _activity(spark, cfg, [(a, 1, 0.0, None) for a in fresh] + [(a, 4, 0.0, None) for a in old])
    rows = [(D, a, "t1", 1) for a in fresh] + [(D, a, "t2", 1) for a in old]
    raw = _influence(spark, cfg, rows, features=features)
    assert {k: round(v, 9) for k, v in raw.items() if k.startswith("t")} == {"t1": 0.575, "t2": 1.25}
