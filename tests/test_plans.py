"""Physical plans: one graph iteration moves only its partially aggregated intake across the cluster, and the
features day aggregates the reactions before they move (no account's day whole in one task).

The session runs with AQE on, as in production; the loop pins its own settings (`loop_settings`), and the plan read
here is the one the loop executes.
"""

from __future__ import annotations

import datetime as dt

import pytest

from klout import schemas
from klout.features import dynamic
from klout.graph.iterate import converge, loop_settings, persist_edges, persist_vertices, step
from klout.graph.trust import with_trust
from klout.graph.window import with_reactor_attention, with_shares
from klout.session import session_conf

PARTITIONS = 3  # not the session's shuffle partitions (2): the pass's own count must hold through the loop


def _nodes(plan):
    """Every operator of an executed plan (py4j), parents first, through adaptive plans and their query stages; a
    cached relation's own plan is not a child."""
    yield plan
    name = plan.nodeName()
    if name == "AdaptiveSparkPlan" or name.endswith("QueryStage"):
        inner = plan.executedPlan() if name == "AdaptiveSparkPlan" else plan.plan()
        yield from _nodes(inner)
        return
    children = plan.children()
    for k in range(children.size()):
        yield from _nodes(children.apply(k))


@pytest.mark.fast
def test_an_iteration_shuffles_only_its_intake_and_keeps_the_state_partitioned(spark, make_config, tmp_path):
    assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
    cfg = make_config(tmp_path, "graph.max_iterations=1", "graph.tolerance=0")
    # the window's edges as the graph step keeps them: by reactor, each reactor's attention a window over it
    links = spark.createDataFrame(
        [("t", "a", "b", 0.5, 0.5), ("t", "a", "c", 0.5, 1.0), ("t", "b", "a", 1.0, 1.0), ("t", "c", "a", 0.5, 0.5)],
        "network string, actor_id string, target_id string, weight double, attention double",
    )
    accounts = spark.createDataFrame([("t", x, 1.0) for x in "abc"], "network string, account_id string, prior double")
    # each reactor's trust from its features (a's only: b and c get the floor)
    profile = ["log_followers", "log_lists", "verified", "external_authority", "title_seniority", "account_age_days"]
    profile += ["spam_follower_share", "inactive_follower_share"]  # all unknown: a bare prior
    features = spark.createDataFrame(
        [("t", "a", 2.0, 0.0, *[None] * len(profile))],
        "network string, account_id string, reacting_days double, weighted_reactions double, "
        + ", ".join(f"{c} double" for c in profile),
    )
    kept = persist_edges(links, PARTITIONS, per_reactor=lambda e: with_trust(with_reactor_attention(e), features, cfg))
    # the trust join kept the edges where the repartition put them: their one exchange is the repartition's
    kept.write.format("noop").mode("overwrite").save()  # cached, so its plan is final
    scan = next(n for n in _nodes(kept._jdf.queryExecution().executedPlan()) if n.nodeName() == "InMemoryTableScan")
    cached = list(_nodes(scan.relation().cachedPlan()))
    names = [n.nodeName() for n in cached]
    assert names.count("Exchange") == 2 and "ShuffledHashJoin" in names, names  # the other: the trust's
    edges = with_shares(kept, cfg)
    verts = persist_vertices(accounts, PARTITIONS)
    result = converge(verts, edges, None, cfg.graph, PARTITIONS, str(tmp_path / "checkpoints"))
    with session_conf(spark, loop_settings(PARTITIONS)):
        nxt = step(result.state, edges, cfg.graph.damping)
        nxt.write.format("noop").mode("overwrite").save()  # executed, so an adaptive plan would be final
        plan = nxt._jdf.queryExecution().executedPlan()
    nodes = list(_nodes(plan))
    names = [n.nodeName() for n in nodes]
    exchanges = [n.outputPartitioning().toString() for n in nodes if "Exchange" in n.nodeName()]
    # one exchange: the contributions, partially aggregated, hashed by target into the pass's partitions
    assert len(exchanges) == 1, names
    assert exchanges[0].startswith("hashpartitioning(network#") and "target_id#" in exchanges[0]
    assert exchanges[0].endswith(f", {PARTITIONS})")
    assert names.count("HashAggregate") == 2  # partial before the exchange, final after
    assert "Sort" not in names  # hash joins: neither the edges nor the state is sorted
    # the new state is partitioned like the old one, so the next iteration needs no exchange for it either
    out = plan.outputPartitioning().toString()
    assert out.startswith("hashpartitioning(network#") and "account_id#" in out and out.endswith(f", {PARTITIONS})")
    kept.unpersist()
    verts.unpersist()


@pytest.mark.fast
def test_the_features_day_aggregates_the_reactions_in_each_task_before_any_shuffle(spark, make_config, tmp_path):
    """A bot's (or a celebrity's) reactions cross the network only as partial aggregates per pair and action:
    every exchange over the raw reactions has a partial aggregate beneath it, never a window's sort of them whole."""
    cfg = make_config(tmp_path)
    day, at = dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 12)
    rows = [("bot", "star"), ("bot", "star"), ("bot", "b"), ("a", "star"), ("star", "a"), ("c", "star")]
    events = spark.createDataFrame(
        [(f"e{i}", "twitter", a, t, "like", at, f"p{t}", "text", "test", at, day) for i, (a, t) in enumerate(rows)],
        schemas.INTERACTIONS,
    )
    edges, _ = dynamic.daily_edges_and_metrics(events, cfg)
    edges.write.format("noop").mode("overwrite").save()  # executed, so an adaptive plan would be final
    nodes = list(_nodes(edges._jdf.queryExecution().executedPlan()))
    first = [n for n in nodes if "Exchange" in n.nodeName() and not _exchanges_below(n)]
    assert first, [n.nodeName() for n in nodes]
    for exchange in first:  # the exchanges fed by the reactions themselves
        below = [n.nodeName() for n in list(_nodes(exchange))[1:]]
        assert "HashAggregate" in below and "Window" not in below, below


def _exchanges_below(node) -> bool:
    return any("Exchange" in n.nodeName() for n in list(_nodes(node))[1:])
