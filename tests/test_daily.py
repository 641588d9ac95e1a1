"""The daily step end to end on a small synthetic world: every account scored, reruns identical, planted bots
kept down, hidden influence recovered better than the baselines, and the commands that read the scores."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from conftest import make_config
from klout import cli, tables
from klout.daily import run_daily
from klout.ingest.run import ingest
from klout.persons import with_person_id
from klout.synth import generate_world, write_world
from klout.validation import per_true_person, truth_correlations

WORLD = [
    "synth.people=400",
    "synth.days=3",
    "synth.interactions_per_day=4000",
    "synth.bot_share=0.05",
    "synth.ring_size=5",
    "synth.ring_reactions_per_bot_per_day=20",
    "synth.celebrities=3",
    "synth.partitions=2",
]
DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
LAST = DAYS[-1]
OUTPUTS = (tables.ACCOUNT_INFLUENCE, tables.SCORES, tables.SCORE_EXPLANATIONS)


@pytest.fixture(scope="module")
def world(spark, tmp_path_factory):
    """The world generated, ingested and run through run_daily day by day; the outputs of the last day as first
    written."""
    tmp = tmp_path_factory.mktemp("daily")
    cfg = make_config(tmp, *WORLD)
    write_world(generate_world(spark, cfg), str(tmp / "world"))
    for kind in ("identities", "profiles", "interactions"):
        ingest(spark, cfg, str(tmp / "world" / kind), "parquet", kind)
    for day in DAYS:
        run_daily(spark, cfg, day)
    first = {t.name: tables.partition(spark, cfg, t, LAST).localCheckpoint() for t in OUTPUTS}
    truth = {name: spark.read.parquet(str(tmp / "world" / "truth" / name)) for name in ("people", "accounts")}
    return cfg, first, truth


def test_every_account_of_the_window_gets_a_score_also_one_that_only_reacted(spark, world):
    cfg, first, _ = world
    features = tables.partition(spark, cfg, tables.FEATURES, LAST)
    persons = with_person_id(features.select("network", "account_id"), tables.read(spark, cfg, tables.IDENTITIES),
                             user_id="account_id").select("person_id").distinct()
    scores = first[tables.SCORES.name]
    assert persons.count() == scores.count() > 300
    assert persons.join(scores, "person_id", "left_anti").count() == 0
    only_reacted = features.where((F.col("reactions") == 0) & (F.col("reactions_made") > 0))
    assert only_reacted.count() > 0
    # today's targets span the whole scale; the published scores are smoothed towards them from the day before
    assert scores.agg(F.min("target_score"), F.max("target_score")).first() == (1.0, 100.0)
    assert scores.where((F.col("score") < 1) | (F.col("score") > 100)).count() == 0


def test_rerunning_a_day_gives_identical_tables(spark, world):
    cfg, first, _ = world
    run_daily(spark, cfg, LAST)
    for t in OUTPUTS:
        assertDataFrameEqual(tables.partition(spark, cfg, t, LAST), first[t.name], rtol=0.0, atol=0.0)


def test_scores_recover_hidden_influence_better_than_both_baselines(spark, world):
    cfg, first, truth = world
    people = per_true_person(first[tables.SCORES.name], tables.partition(spark, cfg, tables.FEATURES, LAST),
                             tables.read(spark, cfg, tables.IDENTITIES), truth["people"], truth["accounts"])
    rho = truth_correlations(people)
    assert rho["score"] > max(rho["log_followers"], rho["reactions"]), rho


def test_a_bot_ring_gains_less_than_honest_accounts_with_as_many_reactions(spark, world):
    cfg, first, truth = world
    people = per_true_person(first[tables.SCORES.name], tables.partition(spark, cfg, tables.FEATURES, LAST),
                             tables.read(spark, cfg, tables.IDENTITIES), truth["people"], truth["accounts"])
    bots = people.where("is_bot").agg(F.min("reactions"), F.max("score")).first()
    assert bots[0] > 0  # the ring members did receive reactions, from each other
    honest = people.where(~F.col("is_bot") & (F.col("reactions") >= bots[0]))
    assert honest.count() > 10
    # every bot scores below every honest person that received at least as many reactions as the least bot
    assert bots[1] < honest.agg(F.min("score")).first()[0]


def test_steady_people_move_well_under_a_point_a_day(spark, world):
    cfg, first, _ = world
    changes = first[tables.SCORES.name].where(F.col("change_1d").isNotNull())
    assert changes.count() > 300
    assert changes.agg(F.percentile_approx(F.abs("change_1d"), 0.5)).first()[0] < 1.0


def test_commands_read_the_published_scores(spark, world, capsys, tmp_path):
    cfg, first, _ = world
    wh = ["--set", f"warehouse={cfg.warehouse}", "-q"]
    out_file = tmp_path / "scores.csv"
    assert cli.main(["scores", "--date", str(LAST), "--format", "csv", "--output", str(out_file), *wh]) == 0
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert len(rows) == first[tables.SCORES.name].count()
    assert {"person_id", "score", "rank", "network_scores"} <= set(rows[0])
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)

    assert cli.main(["top", "--date", str(LAST), "--n", "3", *wh]) == 0
    top = capsys.readouterr().out.splitlines()
    assert top[0] == f"top 3 on {LAST}" and top[3].split()[1] == rows[0]["person_id"]

    assert cli.main(["explain", "--person", rows[0]["person_id"], "--date", str(LAST), *wh]) == 0
    assert capsys.readouterr().out.startswith(f"{rows[0]['person_id']} on {LAST}: score {float(rows[0]['score']):.2f}")


def test_a_step_without_its_upstream_partition_exits_3(spark, world, capsys):
    cfg, _, _ = world
    assert cli.main(["graph", "--date", "2030-01-01", "--set", f"warehouse={cfg.warehouse}", "-q"]) == 3
    assert "gold/features has no partition for 2030-01-01: run `klout features --date 2030-01-01` first" \
        in capsys.readouterr().err
