"""klout evaluate: the metrics, the outcome and the PageRank baseline against hand-computed values; the job on a
tiny hand-made warehouse (the table's rows by hand, the report, a rerun); then the job on a copy of the shared
synthetic world: ours beats all three baselines on the hidden influence."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from pyspark.testing import assertDataFrameEqual

from klout import cli, tables
from klout.errors import InputError
from klout.evaluation.metrics import agreement
from klout.evaluation.outcomes import future_reactions
from klout.evaluation.predictors import unweighted_pagerank
from klout.evaluation.run import run_evaluate
from klout.warehouse import Warehouse


@pytest.mark.fast
def test_agreement_hand_computed(spark):
    # outcome 10, 0, 5, 1, 0 for a..e: its ranks (ties averaged) are 5, 1.5, 4, 3, 1.5 (mean 3)
    people = spark.createDataFrame(
        [
            ("a", 5.0, -5.0, 2.0, 1.0, 10.0),
            ("b", 1.0, -1.0, 0.0, 1.0, 0.0),
            ("c", 4.0, -4.0, 1.0, 1.0, 5.0),
            ("d", 3.0, -3.0, 3.0, 1.0, 1.0),
            ("e", 2.0, -2.0, 0.0, 1.0, 0.0),
        ],
        "person_id string, same double, reversed double, other double, constant double, outcome double",
    )
    got = agreement(people, "person_id", ("same", "reversed", "other", "constant"), "outcome", k=2)
    # same: ranks 5,1,4,3,2: cov 9.5, variances 9.5 and 10, so rho = sqrt(0.95); its top 2 (a, c) is the ideal
    # top 2, IDCG = 10/log2(2) + 5/log2(3) = 13.154649. reversed: rho = -sqrt(0.95); top 2 b, e have outcome 0.
    # other: ranks 4,1.5,3,5,1.5: cov 6.5, variances 9.5 and 9.5, rho = 6.5/9.5; top 2 d (1), a (10):
    # DCG = 1 + 10/log2(3) = 7.309298, NDCG 7.309298 / 13.154649 = 0.555644; one of the ideal two (a): precision 0.5
    # constant: no Spearman; its top 2 by id, a (10) and b (0): NDCG 10 / 13.154649 = 0.760188, precision 0.5
    expected = spark.createDataFrame(
        [
            ("same", 5, 0.9746794, 1.0, 1.0, 2),
            ("reversed", 5, -0.9746794, 0.0, 0.0, 2),
            ("other", 5, 0.6842105, 0.5556437, 0.5, 2),
            ("constant", 5, None, 0.7601875, 0.5, 2),
        ],
        "predictor string, persons long, spearman double, ndcg_at_k double, precision_at_k double, k long",
    )
    actual = spark.createDataFrame(
        [(q.predictor, q.persons, q.spearman, q.ndcg_at_k, q.precision_at_k, q.k) for q in got], expected.schema
    )
    assertDataFrameEqual(actual, expected, rtol=1e-6)


@pytest.mark.fast
def test_future_reactions_count_the_horizon_days_per_person(spark, cfg):
    d = dt.date(2026, 3, 1)
    rows = [
        ("twitter", "x", "a", d),  # the evaluated day itself: not in the horizon
        ("twitter", "x", "a", d + dt.timedelta(days=1)),
        ("twitter", "y", "a", d + dt.timedelta(days=2)),
        ("facebook", "x", "a2", d + dt.timedelta(days=2)),  # a2 is linked to a: the same person P
        ("twitter", "a", "a", d + dt.timedelta(days=1)),  # a self-reaction never counts
        ("twitter", "a", "b", d + dt.timedelta(days=2)),
        ("twitter", "x", "b", d + dt.timedelta(days=3)),
    ]  # after the horizon
    interactions = spark.createDataFrame(rows, "network string, actor_id string, target_id string, event_date date")
    identities = spark.createDataFrame(
        [("P", "twitter", "a"), ("P", "facebook", "a2")], "person_id string, network string, user_id string"
    )
    got = future_reactions(interactions, identities, d, 2, cfg)
    expected = spark.createDataFrame([("P", 3.0), ("twitter:b", 1.0)], "person_id string, future_reactions double")
    assertDataFrameEqual(got, expected)

    with pytest.raises(InputError, match="no rows for 2026-03-05, 2026-03-06: the 5-day horizon"):
        future_reactions(interactions, identities, d, 5, cfg)


@pytest.mark.fast
def test_unweighted_pagerank_hand_computed(spark, cfg):
    # x -> a, x -> b, y -> a: x splits its vote in two. With damping 0.85 and teleport 0.15 for everyone:
    # x, y = 0.15; a = 0.15 + 0.85 * (0.15/2 + 0.15) = 0.34125; b = 0.15 + 0.85 * 0.15/2 = 0.21375
    pairs = spark.createDataFrame(
        [("t", "x", "a"), ("t", "x", "b"), ("t", "y", "a")], "network string, actor_id string, target_id string"
    )
    accounts = spark.createDataFrame([("t", n) for n in "abxy"], "network string, account_id string")
    got = unweighted_pagerank(pairs, accounts, spark, cfg, "test-pagerank")
    expected = spark.createDataFrame(
        [("t", "a", 0.34125), ("t", "b", 0.21375), ("t", "x", 0.15), ("t", "y", 0.15)],
        "network string, account_id string, pagerank double",
    )
    assertDataFrameEqual(got, expected, rtol=1e-9)


# ---- the job on a tiny hand-made warehouse ---------------------------------------------------------------------------

D = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 5)


def _hand_made(spark, cfg, truth):
    """Four twitter accounts a..d scored on D (no identities: persons twitter:a..twitter:d), and one true person
    each (ta..td) in a truth directory `truth`:

      account  score  target_score  followers  window reactions  reactions on D+1  pagerank        hidden influence
      a        90     10            99         5                 3 (from x)        0.15            0.4
      b        60     30            999        5                 2 (from y)        0.15            0.1
      c        30     60            unknown    5                 1 (from z)        0.15            0.3
      d        10     90            9          5                 0                 0.5325          0.2

    The window's pairs are a -> d, b -> d, c -> d: a, b, c receive nothing, PageRank (1 - 0.85) = 0.15; d gets
    0.15 + 0.85 x 3 x 0.15 = 0.5325. Not counted on D+1: a's self-reaction; nor x -> d on D and on D+2."""
    wh = Warehouse(spark, cfg)
    scores = [
        (D, f"twitter:{a}", s, t, 1.0, {"twitter": s}, 0, None, None, 1, 0.0, None, None)
        for a, s, t in (("a", 90.0, 10.0), ("b", 60.0, 30.0), ("c", 30.0, 60.0), ("d", 10.0, 90.0))
    ]
    wh[tables.SCORES].replace_partition(spark.createDataFrame(scores, tables.SCORES.schema), D)
    # the day before: a, b and c published (score, target); d not yet
    before = [
        (D - dt.timedelta(days=1), f"twitter:{a}", s, t, 1.0, {"twitter": s}, 0, None, None, 1, 0.0, None, None)
        for a, s, t in (("a", 80.0, 20.0), ("b", 58.0, 29.0), ("c", 25.0, 57.0))
    ]
    wh[tables.SCORES].replace_partition(spark.createDataFrame(before, tables.SCORES.schema), D - dt.timedelta(days=1))
    log_followers = {"a": math.log(100.0), "b": math.log(1000.0), "c": None, "d": math.log(10.0)}
    features = [
        (D, "twitter", a, None, lf, *[None] * 8, [], 5.0, 5.0, 5.0, 5.0, None, None, None, 0.0, 0.0)
        for a, lf in log_followers.items()
    ]
    wh[tables.FEATURES].replace_partition(spark.createDataFrame(features, tables.FEATURES.schema), D)
    edges = [(D, "twitter", a, "d", 1, 1.0, 1.0, 1.0, 1.0, False) for a in "abc"]
    wh[tables.EDGES_DAILY].replace_partition(spark.createDataFrame(edges, tables.EDGES_DAILY.schema), D)
    after = D + dt.timedelta(days=1)
    events = (
        [("x", "a", after)] * 3
        + [("y", "b", after)] * 2
        + [("z", "c", after), ("a", "a", after)]
        + [("x", "d", D), ("x", "d", D + dt.timedelta(days=2))]
    )
    rows = [
        (f"e{i}", "twitter", actor, target, "like", dt.datetime.combine(day, dt.time(12)), None, None, "test", NOW, day)
        for i, (actor, target, day) in enumerate(events)
    ]
    wh[tables.INTERACTIONS].merge(spark.createDataFrame(rows, tables.INTERACTIONS.schema))
    spark.createDataFrame(
        [("ta", 0.4, False), ("tb", 0.1, False), ("tc", 0.3, False), ("td", 0.2, False)],
        "person_id string, influence double, is_bot boolean",
    ).write.parquet(str(truth / "people"))
    spark.createDataFrame(
        [("twitter", a, f"t{a}") for a in "abcd"], "network string, user_id string, person_id string"
    ).write.parquet(str(truth / "accounts"))


def test_evaluate_merges_hand_computed_rows_writes_the_report_and_a_rerun_changes_nothing(spark, cfg, tmp_path):
    _hand_made(spark, cfg, tmp_path / "truth")
    ev, where = run_evaluate(spark, cfg, D, 1, 2, str(tmp_path / "truth"), str(tmp_path / "report"))
    # k = 2, log2(3) = 1.5849625. Spearman on ranks (ties averaged), ascending: a..d are 4 3 2 1 by the future
    # reactions and 4 1 3 2 by the hidden influence. pagerank's ranks are 2 2 2 4 (a, b, c tied); reactions are the
    # same for everyone: no Spearman, and its top 2 are the first ids, a and b (ta and tb). Top 2 by pagerank: d, a.
    # future reactions: ideal top 2 a (3), b (2): IDCG = 3 + 2 / log2(3) = 4.2618595
    #   score        ranks 4 3 2 1: rho 1; top a, b: NDCG 1, precision 1
    #   target_score ranks 1 2 3 4: rho -1; top d (0), c (1): DCG 1 / log2(3) = 0.6309298, NDCG 0.1480410, prec. 0
    #   log_followers c's unknown count is 0: ranks a 3, b 4, c 1, d 2: sum of d^2 = 4, rho 1 - 6 x 4 / 60 = 0.6;
    #                top b (2), a (3): DCG 2 + 3 / log2(3) = 3.8927893, NDCG 0.9134016, precision 1
    #   pagerank     deviations from 2.5: -0.5 -0.5 -0.5 1.5 and 1.5 0.5 -0.5 -1.5: cov -3, variances 3 and 5:
    #                rho -3 / sqrt(15) = -0.7745967; top d (0), a (3): DCG 1.8927893, NDCG 0.4441229, precision 0.5
    # hidden influence: ideal top 2 ta (0.4), tc (0.3): IDCG = 0.4 + 0.3 / log2(3) = 0.5892789
    #   score        d^2 0 4 1 1 = 6: rho 1 - 36 / 60 = 0.4; top ta, tb: 0.4 + 0.1 / log2(3), NDCG 0.7858638, 0.5
    #   target_score d^2 9 1 0 4 = 14: rho -0.4; top td (0.2), tc (0.3): 0.3892789, NDCG 0.6606022, precision 0.5
    #   log_followers d^2 1 9 4 0 = 14: rho -0.4; top tb (0.1), ta (0.4): 0.3523719, NDCG 0.5979713, 0.5
    #   reactions    top ta, tb as for the score: NDCG 0.7858638, precision 0.5
    #   pagerank     deviations -0.5 -0.5 -0.5 1.5 and 1.5 -1.5 0.5 -0.5: cov -1: rho -1 / sqrt(15) = -0.2581989;
    #                top td (0.2), ta (0.4): 0.4523719, NDCG 0.7676703, precision 0.5
    expected = spark.createDataFrame(
        [
            (D, 1, "future_reactions", p, 4, rho, ndcg, prec, 2)
            for p, rho, ndcg, prec in [
                ("score", 1.0, 1.0, 1.0),
                ("target_score", -1.0, 0.1480410, 0.0),
                ("log_followers", 0.6, 0.9134016, 1.0),
                ("reactions", None, 1.0, 1.0),
                ("pagerank", -0.7745967, 0.4441229, 0.5),
            ]
        ]
        + [
            (D, 1, "hidden_influence", p, 4, rho, ndcg, 0.5, 2)
            for p, rho, ndcg in [
                ("score", 0.4, 0.7858638),
                ("target_score", -0.4, 0.6606022),
                ("log_followers", -0.4, 0.5979713),
                ("reactions", None, 0.7858638),
                ("pagerank", -0.2581989, 0.7676703),
            ]
        ],
        "date date, horizon_days int, target string, predictor string, persons long, spearman double, "
        "ndcg_at_k double, precision_at_k double, k int",
    )
    rows = Warehouse(spark, cfg)[tables.EVALUATIONS].read()
    assertDataFrameEqual(rows.select(*expected.columns), expected, rtol=1e-6)
    # stability over a, b, c (d is new): score moves 10, 2, 5 -> median 5; target moves 10, 1, 3 -> median 3
    assert ev.counts == {
        "persons": 4,
        "reacted_to": 3,
        "future_reactions": 6.0,
        "persons_day_before": 3.0,
        "median_score_change": 5.0,
        "median_target_change": 3.0,
    }
    assert where == str(tmp_path / "report")
    report = (tmp_path / "report" / "report.md").read_text()
    assert report.startswith(f"# Evaluation of the scores of {D} (horizon 1 day)")
    assert (
        "Stability: of the 3 people scored on the day before too, the published score moved a median 5.00 points "
        "since then, the unsmoothed one 3.00." in report
    )
    assert "| unweighted PageRank |" in report and "![future reactions by score]" in report
    assert (tmp_path / "report" / "score_vs_future_reactions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a rerun with the same results leaves the table as it was, down to when each row was evaluated
    before = Warehouse(spark, cfg)[tables.EVALUATIONS].read().localCheckpoint()
    run_evaluate(spark, cfg, D, 1, 2, str(tmp_path / "truth"), where)
    assertDataFrameEqual(Warehouse(spark, cfg)[tables.EVALUATIONS].read(), before)


# ---- the job on a copy of the shared synthetic world -------------------------------------------------------------


@pytest.fixture(scope="module")
def world(scored_copy):
    """The scored world on a copy of its warehouse: `evaluate` writes eval/evaluations."""
    return scored_copy()


@pytest.fixture(scope="module")
def evaluated(spark, world, tmp_path_factory):
    """`klout evaluate` of the world's second day against its third, with the truth."""
    out = tmp_path_factory.mktemp("report")
    return run_evaluate(spark, world.cfg, world.days[1], 1, 100, str(world.truth_dir), str(out))


def test_ours_beats_every_baseline_on_the_hidden_influence(evaluated):
    ev, _ = evaluated
    rho = {q.predictor: q.spearman for q in ev.results["hidden_influence"]}
    assert set(rho) == {"score", "target_score", "log_followers", "reactions", "pagerank"}
    assert ev.counts["persons"] == ev.results["future_reactions"][0].persons > 300
    assert rho["score"] > max(rho["log_followers"], rho["reactions"], rho["pagerank"]), rho


def test_evaluate_needs_every_horizon_day(world, capsys):
    last = world.days[-1]
    code = cli.main(
        ["evaluate", "--date", str(last), "--horizon", "1", "--set", f"warehouse={world.cfg.warehouse}", "-q"]
    )
    assert code == 3
    assert f"no rows for {last + dt.timedelta(days=1)}" in capsys.readouterr().err
