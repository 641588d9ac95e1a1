"""The daily step end to end on a small synthetic world: every account scored, reruns identical, planted bots
kept down, and the commands that read the scores (recovering the hidden influence: tests/test_evaluation.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from klout import cli, tables
from klout.evaluation.predictors import person_accounts
from klout.evaluation.run import truth_frame
from klout.persons import with_person_id
from klout.pipeline import run_daily
from klout.publish import EXPORT_COLUMNS
from klout.warehouse import Warehouse

LAST = dt.date(2026, 1, 3)  # the scored world's last day (checked by `world`)
OUTPUTS = (tables.ACCOUNT_INFLUENCE, tables.SCORES, tables.SCORE_EXPLANATIONS)


@pytest.fixture(scope="module")
def world(spark, scored_copy):
    """The scored world on a copy of its warehouse (this module reruns a day and runs a command that logs a run):
    its config, the outputs of the last day as first written, and its truth."""
    world = scored_copy()
    assert world.days[-1] == LAST
    cfg = world.cfg
    first = {t.name: Warehouse(spark, cfg)[t].partition(LAST).localCheckpoint() for t in OUTPUTS}
    truth = {name: spark.read.parquet(str(world.truth_dir / name)) for name in ("people", "accounts")}
    return cfg, first, truth


def test_every_account_of_the_window_gets_a_score_also_one_that_only_reacted(spark, world):
    cfg, first, _ = world
    features = Warehouse(spark, cfg)[tables.FEATURES].partition(LAST)
    persons = (
        with_person_id(
            features.select("network", "account_id"),
            Warehouse(spark, cfg)[tables.IDENTITIES].read(),
            user_id="account_id",
        )
        .select("person_id")
        .distinct()
    )
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
        assertDataFrameEqual(Warehouse(spark, cfg)[t].partition(LAST), first[t.name], rtol=0.0, atol=0.0)


def test_a_bot_ring_gains_less_than_honest_accounts_with_as_many_reactions(spark, world):
    cfg, _, truth = world
    people = truth_frame(person_accounts(spark, cfg, LAST), truth["people"], truth["accounts"])
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
    export = ["scores", "--date", str(LAST), *wh]
    assert cli.main([*export, "--format", "csv", "--output", str(out_file), "--single-file"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]  # the writer's folder moved away
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    published = first[tables.SCORES.name]
    want = published.orderBy(F.desc("score"), "person_id").select("person_id", "score", "network_scores").collect()
    assert [(r["person_id"], float(r["score"]), json.loads(r["network_scores"])) for r in rows] == [
        (w["person_id"], w["score"], w["network_scores"]) for w in want
    ]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    # a folder of JSON lines written by the executors, and stdout up to its limit
    assert cli.main([*export, "--format", "json", "--output", str(tmp_path / "scores.json")]) == 0
    folder = spark.read.schema(published.select(*EXPORT_COLUMNS).schema).json(str(tmp_path / "scores.json"))
    assertDataFrameEqual(folder, published.select(*EXPORT_COLUMNS), rtol=0.0, atol=0.0)
    capsys.readouterr()
    assert cli.main([*export, "--format", "json", "--limit", "5"]) == 3
    assert f"{len(rows):,} scores on {LAST} are more than the 5 klout streams to stdout" in capsys.readouterr().err
    assert cli.main([*export, "--format", "json", "--limit", str(len(rows))]) == 0
    streamed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["person_id"], r["network_scores"]) for r in streamed] == [
        (w["person_id"], w["network_scores"]) for w in want
    ]

    assert cli.main(["top", "--date", str(LAST), "--n", "3", *wh]) == 0
    top = capsys.readouterr().out.splitlines()
    assert top[0] == f"top 3 on {LAST}" and top[3].split()[1] == rows[0]["person_id"]

    assert cli.main(["explain", "--person", rows[0]["person_id"], "--date", str(LAST), *wh]) == 0
    assert capsys.readouterr().out.startswith(f"{rows[0]['person_id']} on {LAST}: score {float(rows[0]['score']):.2f}")


def test_a_step_without_its_upstream_partition_exits_3(spark, world, capsys):
    cfg, _, _ = world
    assert cli.main(["graph", "--date", "2030-01-01", "--set", f"warehouse={cfg.warehouse}", "-q"]) == 3
    assert (
        "gold/features has no partition for 2030-01-01: run `klout features --date 2030-01-01` first"
        in capsys.readouterr().err
    )
