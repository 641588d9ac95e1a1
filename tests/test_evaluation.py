"""klout evaluate: the metrics, the outcome and the PageRank baseline against hand-computed values; then the job on
the shared synthetic world: ours beats all three baselines on the hidden influence, the table, the report."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from conftest import WORLD_DAYS
from klout import cli, tables
from klout.errors import InputError
from klout.evaluation.metrics import agreement
from klout.evaluation.outcomes import future_reactions
from klout.evaluation.predictors import unweighted_pagerank
from klout.evaluation.run import run_evaluate


def test_agreement_hand_computed(spark):
    # outcome 10, 0, 5, 1, 0 for a..e: its ranks (ties averaged) are 5, 1.5, 4, 3, 1.5 (mean 3)
    people = spark.createDataFrame(
        [("a", 5.0, -5.0, 2.0, 1.0, 10.0), ("b", 1.0, -1.0, 0.0, 1.0, 0.0), ("c", 4.0, -4.0, 1.0, 1.0, 5.0),
         ("d", 3.0, -3.0, 3.0, 1.0, 1.0), ("e", 2.0, -2.0, 0.0, 1.0, 0.0)],
        "person_id string, same double, reversed double, other double, constant double, outcome double")
    got = agreement(people, "person_id", ("same", "reversed", "other", "constant"), "outcome", k=2)
    # same: ranks 5,1,4,3,2: cov 9.5, variances 9.5 and 10, so rho = sqrt(0.95); its top 2 (a, c) is the ideal
    # top 2, IDCG = 10/log2(2) + 5/log2(3) = 13.154649. reversed: rho = -sqrt(0.95); top 2 b, e have outcome 0.
    # other: ranks 4,1.5,3,5,1.5: cov 6.5, variances 9.5 and 9.5, rho = 6.5/9.5; top 2 d (1), a (10):
    # DCG = 1 + 10/log2(3) = 7.309298, NDCG 7.309298 / 13.154649 = 0.555644; one of the ideal two (a): precision 0.5
    # constant: no Spearman; its top 2 by id, a (10) and b (0): NDCG 10 / 13.154649 = 0.760188, precision 0.5
    expected = spark.createDataFrame(
        [("same", 5, 0.9746794, 1.0, 1.0, 2), ("reversed", 5, -0.9746794, 0.0, 0.0, 2),
         ("other", 5, 0.6842105, 0.5556437, 0.5, 2), ("constant", 5, None, 0.7601875, 0.5, 2)],
        "predictor string, persons long, spearman double, ndcg_at_k double, precision_at_k double, k long")
    actual = spark.createDataFrame([(q.predictor, q.persons, q.spearman, q.ndcg_at_k, q.precision_at_k, q.k)
                                    for q in got], expected.schema)
    assertDataFrameEqual(actual, expected, rtol=1e-6)


def test_future_reactions_count_the_horizon_days_per_person(spark, cfg):
    d = dt.date(2026, 3, 1)
    rows = [("twitter", "x", "a", d),                          # the evaluated day itself: not in the horizon
            ("twitter", "x", "a", d + dt.timedelta(days=1)),
            ("twitter", "y", "a", d + dt.timedelta(days=2)),
            ("facebook", "x", "a2", d + dt.timedelta(days=2)),  # a2 is linked to a: the same person P
            ("twitter", "a", "a", d + dt.timedelta(days=1)),    # a self-reaction never counts
            ("twitter", "a", "b", d + dt.timedelta(days=2)),
            ("twitter", "x", "b", d + dt.timedelta(days=3))]    # after the horizon
    interactions = spark.createDataFrame(rows, "network string, actor_id string, target_id string, event_date date")
    identities = spark.createDataFrame([("P", "twitter", "a"), ("P", "facebook", "a2")],
                                       "person_id string, network string, user_id string")
    got = future_reactions(interactions, identities, d, 2, cfg)
    expected = spark.createDataFrame([("P", 3.0), ("twitter:b", 1.0)], "person_id string, future_reactions double")
    assertDataFrameEqual(got, expected)

    with pytest.raises(InputError, match="no rows for 2026-03-05, 2026-03-06: the 5-day horizon"):
        future_reactions(interactions, identities, d, 5, cfg)


def test_unweighted_pagerank_hand_computed(spark, cfg):
    # x -> a, x -> b, y -> a: x splits its vote in two. With damping 0.85 and teleport 0.15 for everyone:
    # x, y = 0.15; a = 0.15 + 0.85 * (0.15/2 + 0.15) = 0.34125; b = 0.15 + 0.85 * 0.15/2 = 0.21375
    pairs = spark.createDataFrame([("t", "x", "a"), ("t", "x", "b"), ("t", "y", "a")],
                                  "network string, actor_id string, target_id string")
    accounts = spark.createDataFrame([("t", n) for n in "abxy"], "network string, account_id string")
    got = unweighted_pagerank(pairs, accounts, spark, cfg, "test-pagerank")
    expected = spark.createDataFrame([("t", "a", 0.34125), ("t", "b", 0.21375), ("t", "x", 0.15), ("t", "y", 0.15)],
                                     "network string, account_id string, pagerank double")
    assertDataFrameEqual(got, expected, rtol=1e-9)


@pytest.fixture(scope="module")
def evaluated(spark, scored_world, tmp_path_factory):
    """`klout evaluate` of the world's second day against its third, with the truth."""
    out = tmp_path_factory.mktemp("report")
    ev, where = run_evaluate(spark, scored_world.cfg, WORLD_DAYS[1], 1, 100, str(scored_world.truth_dir), str(out))
    return ev, where


def test_ours_beats_every_baseline_on_the_hidden_influence(evaluated):
    ev, _ = evaluated
    rho = {q.predictor: q.spearman for q in ev.results["hidden_influence"]}
    assert set(rho) == {"score", "target_score", "log_followers", "reactions", "pagerank"}
    assert rho["score"] > max(rho["log_followers"], rho["reactions"], rho["pagerank"]), rho


def test_evaluations_table_and_report(spark, scored_world, evaluated):
    ev, where = evaluated
    cfg = scored_world.cfg
    rows = tables.read(spark, cfg, tables.EVALUATIONS).where(F.col("date") == F.lit(WORLD_DAYS[1]))
    expected = spark.createDataFrame(
        [(WORLD_DAYS[1], 1, t, q.predictor, q.persons, q.spearman, q.ndcg_at_k, q.precision_at_k, q.k)
         for t, qs in ev.results.items() for q in qs],
        "date date, horizon_days int, target string, predictor string, persons long, spearman double, "
        "ndcg_at_k double, precision_at_k double, k int")
    assertDataFrameEqual(rows.select(*expected.columns), expected)
    assert ev.counts["persons"] == ev.results["future_reactions"][0].persons > 300
    report = (where / "report.md").read_text()
    assert report.startswith(f"# Evaluation of the scores of {WORLD_DAYS[1]} (horizon 1 day)")
    assert "| unweighted PageRank |" in report and "![future reactions by score]" in report
    assert (where / "score_vs_future_reactions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a rerun with the same results leaves the table as it was, down to when each row was evaluated
    before = tables.read(spark, cfg, tables.EVALUATIONS).localCheckpoint()
    run_evaluate(spark, cfg, WORLD_DAYS[1], 1, 100, str(scored_world.truth_dir), str(where))
    assertDataFrameEqual(tables.read(spark, cfg, tables.EVALUATIONS), before)


def test_evaluate_needs_every_horizon_day(scored_world, capsys):
    code = cli.main(["evaluate", "--date", str(WORLD_DAYS[-1]), "--horizon", "1",
                     "--set", f"warehouse={scored_world.cfg.warehouse}", "-q"])
    assert code == 3
    assert f"no rows for {WORLD_DAYS[-1] + dt.timedelta(days=1)}" in capsys.readouterr().err
