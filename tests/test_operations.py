"""Operating klout: resumable backfill with a run log, missing upstream partitions, data-quality gates, a run killed
in the middle of each step, and two runs of the same date at once. Kills and concurrent runs use real `klout`
processes on a copy of one small synthetic world's warehouse."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from conftest import TEST_SETS, make_config
from klout import cli, quality, tables
from klout.config import load_config
from klout.ingest.run import ingest
from klout.runs import run_dates
from klout.synth import generate_world, write_world

WORLD = ["synth.people=60", "synth.days=3", "synth.interactions_per_day=300", "synth.partitions=2"]
D1, D2, D3, D4 = (dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(4))
DAY_OUTPUTS = (tables.EDGES_DAILY, tables.ACCOUNT_DAILY, tables.FEATURE_STATE, tables.FEATURES,
               tables.ACCOUNT_INFLUENCE, tables.SCORES, tables.SCORE_EXPLANATIONS)


@pytest.fixture(scope="module")
def base(spark, tmp_path_factory):
    """A warehouse with the world ingested and D1, D2 run (logged, as `klout backfill` does), plus the D3 outputs
    that an uninterrupted run produces (computed on a copy): (warehouse path, {table: D3 rows})."""
    tmp = tmp_path_factory.mktemp("ops")
    cfg = make_config(tmp, *WORLD)
    write_world(generate_world(spark, cfg), str(tmp / "world"))
    for kind in ("identities", "profiles", "interactions"):
        ingest(spark, cfg, str(tmp / "world" / kind), "parquet", kind)
    list(run_dates(spark, cfg, "daily", [D1, D2], "fixture", resumable=True))
    ref_cfg = _copy(tmp / "warehouse", tmp / "reference")
    list(run_dates(spark, ref_cfg, "daily", [D3], "reference", resumable=True))
    reference = {t.name: tables.partition(spark, ref_cfg, t, D3).localCheckpoint() for t in DAY_OUTPUTS}
    return tmp / "warehouse", reference


def _copy(warehouse: Path, to: Path, *sets: str):
    """A config of a copy of `warehouse` (Delta tables hold relative file paths, so a copy is a whole warehouse)."""
    shutil.copytree(warehouse, to / "warehouse", ignore=shutil.ignore_patterns("_checkpoints"))
    return make_config(to, *WORLD, *sets)


def _args(cfg, *sets: str) -> list[str]:
    return ["--set", f"warehouse={cfg.warehouse}", *[a for s in [*WORLD, *sets] for a in ("--set", s)], "-q"]


def _log(spark, cfg, run_id: str):
    return (tables.read(spark, cfg, tables.RUN_LOG).where(F.col("run_id") == run_id)
            .select("date", "step", "status", "exit_code"))


# ---- resumable backfill, run log, missing upstream --------------------------------------------------------------


def test_backfill_skips_what_succeeded_reruns_what_changed_and_stops_at_a_missing_day(spark, base, tmp_path,
                                                                                     capsys):
    cfg = _copy(base[0], tmp_path)
    assert cli.main(["backfill", "--start", str(D1), "--end", str(D2), "--run-id", "again", *_args(cfg)]) == 0
    assert [line.split(":")[1].split()[0] for line in capsys.readouterr().out.splitlines()] == ["skipped"] * 2
    assertDataFrameEqual(_log(spark, cfg, "again"), [(D1, "daily", "skipped", 0), (D2, "daily", "skipped", 0)])

    # a late event of D2 changes D2's inputs, and so D3's (it builds on D2's run); D1 stays as it was
    late = tmp_path / "late.jsonl"
    late.write_text('{"network": "twitter", "actor_id": "late", "target_id": "p1", "action": "like", '
                    '"ts": "2026-01-02T23:00:00Z"}\n')
    ingest(spark, cfg, str(late), "jsonl")
    assert cli.main(["backfill", "--start", str(D1), "--end", str(D4), "--run-id", "late", *_args(cfg)]) == 3
    assert ("bronze/interactions has no partition for 2026-01-04: ingest that day's interactions first"
            in capsys.readouterr().err)
    steps = ("inputs", "features", "graph", "score")
    assertDataFrameEqual(_log(spark, cfg, "late"), [
        (D1, "daily", "skipped", 0),
        (D2, "daily", "succeeded", 0), *[(D2, s, "succeeded", None) for s in steps],
        (D3, "daily", "succeeded", 0), *[(D3, s, "succeeded", None) for s in steps],
        (D4, "daily", "failed", 3), (D4, "inputs", "failed", None)])
    assert tables.read(spark, cfg, tables.SCORES).where(F.col("date") == D2).where(
        F.col("person_id") == "twitter:late").count() == 1

    # --force reruns a date that succeeded; the log records the run's code version, config and input versions
    assert cli.main(["daily", "--date", str(D1), "--force", "--run-id", "forced", *_args(cfg)]) == 0
    row = tables.read(spark, cfg, tables.RUN_LOG).where("run_id = 'forced' AND step = 'daily'").first()
    assert (row["status"], row["config_hash"], row["seconds"] > 0) == ("succeeded", cfg.fingerprint(), True)
    assert row["code_version"].startswith("0.1.0") and row["input_versions"]["bronze/interactions"] >= 1
    assert row["row_counts"]["score.persons"] == tables.partition(spark, cfg, tables.SCORES, D1).count()


def test_each_step_refuses_to_run_without_its_upstream_partition(spark, base, capsys):
    wh = ["--set", f"warehouse={base[0]}", "-q"]
    for command, message in (("features", "bronze/interactions has no partition for 2026-01-04"),
                             ("graph", "gold/features has no partition for 2026-01-04"),
                             ("score", "gold/account_influence has no partition for 2026-01-04")):
        assert cli.main([command, "--date", str(D4), *wh]) == 3
        assert message in capsys.readouterr().err


# ---- data-quality gates ---------------------------------------------------------------------------------------------

Q = load_config().quality  # the shipped thresholds: quarantine 5 %, volume drop 50 %, drift 0.25, jumps 20 pt / 1 %


def test_quarantine_share_gate():
    assert quality.quarantine_share(95, 5, Q) == quality.GateResult(
        "quarantine_share", 0.05, 0.05, True, "5 of 100 interaction rows quarantined (5.00%; at most 5.00%)")
    assert quality.quarantine_share(94, 6, Q).passed is False


def test_volume_drop_gate_compares_with_the_trailing_median():
    # median of (100, 1000, 80) is 100: 40 is 60 % below it, although far more below the mean
    assert quality.volume_drop(40, [100, 1000, 80], Q) == quality.GateResult(
        "volume_drop", 0.6, 0.5, False,
        "40 interactions against a median of 100 over the 3 earlier day(s) (60.0% below; at most 50%)")
    assert quality.volume_drop(50, [100], Q).passed and quality.volume_drop(500, [100], Q).value == 0.0
    assert quality.volume_drop(5, [], Q).passed


def test_score_drift_gate_is_a_population_stability_index():
    # half the persons move from bin 3 to bin 4: (0.5 - 1) ln(0.5 / 1) + (0.5 - 1e-4) ln(0.5 / 1e-4) = 4.60
    r = quality.score_drift({3: 50, 4: 50}, {3: 100}, Q)
    assert r.value == pytest.approx(-0.5 * -0.693147 + 0.4999 * 8.517193, abs=1e-5) and not r.passed
    assert quality.score_drift({3: 100}, {3: 100}, Q).value == 0.0
    assert quality.score_drift({3: 100}, {}, Q).passed


def test_score_jumps_gate():
    assert quality.score_jumps(1, 100, Q) == quality.GateResult(
        "score_jumps", 0.01, 0.01, True, "1 of 100 persons moved more than 20 points (1.00%; at most 1.00%)")
    assert not quality.score_jumps(2, 100, Q).passed


def test_input_gates_stop_the_daily_before_any_work(spark, base, tmp_path, capsys):
    cfg = _copy(base[0], tmp_path)
    day = tmp_path / "thin_day.jsonl"  # D4: 10 reactions against ~270 a day before, and 2 self-reactions (quarantined)
    day.write_text("".join(f'{{"network": "twitter", "actor_id": "{a}", "target_id": "{t}", "action": "like", '
                           f'"ts": "2026-01-04T10:00:0{i % 10}Z"}}\n'
                           for i, (a, t) in enumerate([(f"r{i}", "x") for i in range(10)] + [("s", "s"), ("u", "u")])))
    ingest(spark, cfg, str(day), "jsonl")
    scores_before = tables.read(spark, cfg, tables.SCORES).localCheckpoint()
    assert cli.main(["daily", "--date", str(D4), "--run-id", "thin", *_args(cfg)]) == 4
    err = capsys.readouterr().err
    assert "quality gate(s) failed for 2026-01-04, nothing published" in err
    assert "quarantine_share: 2 of 12 interaction rows quarantined (16.67%; at most 5.00%)" in err
    assert "volume_drop: 10 interactions against a median of " in err
    gates = tables.read(spark, cfg, tables.QUALITY_GATES).where(F.col("date") == D4)
    assertDataFrameEqual(gates.select("gate", "run_id", "passed"),
                         [("quarantine_share", "thin", False), ("volume_drop", "thin", False)])
    assert tables.partition(spark, cfg, tables.FEATURES, D4) is None  # nothing was computed
    assertDataFrameEqual(tables.read(spark, cfg, tables.SCORES), scores_before)
    assertDataFrameEqual(_log(spark, cfg, "thin"), [(D4, "daily", "failed", 4), (D4, "inputs", "failed", None)])


def test_score_gates_keep_the_published_scores_untouched(spark, base, tmp_path, capsys):
    cfg = _copy(base[0], tmp_path)
    scores_before = tables.read(spark, cfg, tables.SCORES).localCheckpoint()
    explanations_before = tables.read(spark, cfg, tables.SCORE_EXPLANATIONS).localCheckpoint()
    strict = ("quality.max_score_drift=0.0", "quality.jump_points=0", "quality.max_jump_share=0.0")
    assert cli.main(["daily", "--date", str(D3), "--run-id", "strict", *_args(cfg, *strict)]) == 4
    err = capsys.readouterr().err
    assert "score_drift: population stability index " in err and "score_jumps: " in err
    gates = tables.read(spark, cfg, tables.QUALITY_GATES).where(F.col("date") == D3)
    assertDataFrameEqual(gates.select("gate", "passed"), [("quarantine_share", True), ("volume_drop", True),
                                                          ("score_drift", False), ("score_jumps", False)])
    # D3's features and graph pass are there; its scores are not, and D1, D2 are exactly as published before
    assert tables.partition(spark, cfg, tables.ACCOUNT_INFLUENCE, D3) is not None
    assertDataFrameEqual(tables.read(spark, cfg, tables.SCORES), scores_before)
    assertDataFrameEqual(tables.read(spark, cfg, tables.SCORE_EXPLANATIONS), explanations_before)
    # the same data passes the shipped thresholds, and then publishes what an uninterrupted run publishes
    assert cli.main(["daily", "--date", str(D3), *_args(cfg)]) == 0
    assertDataFrameEqual(tables.partition(spark, cfg, tables.SCORES, D3), base[1][tables.SCORES.name],
                         rtol=0.0, atol=0.0)


# ---- killed runs and concurrent runs: real processes ---------------------------------------------------------------


def _command(cfg, *extra: str) -> list[str]:
    sets = [a for s in TEST_SETS for a in ("--set", s)]
    return [sys.executable, "-m", "klout", "daily", "--date", str(D3), *extra, *_args(cfg)[:-1], *sets]


def _kill_at(cmd: list[str], marker: str, timeout: float = 300.0) -> list[str]:
    """Start `cmd`, SIGKILL its whole process group (Python and the JVM) as soon as a log line contains `marker`;
    returns the lines seen."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            start_new_session=True, cwd=Path(__file__).parent.parent)
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stderr:
            seen.append(line)
            if marker in line:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, f"no {marker!r} in {timeout}s"
        else:
            pytest.fail(f"the run ended (rc {proc.wait()}) before {marker!r}:\n{''.join(seen[-20:])}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return seen


def _assert_whole_or_absent(spark, cfg, reference) -> list[str]:
    """Every D3 output is either not there or exactly what an uninterrupted run writes; returns those there."""
    present = []
    for t in DAY_OUTPUTS:
        rows = tables.partition(spark, cfg, t, D3)
        if rows is not None:
            assertDataFrameEqual(rows, reference[t.name], rtol=0.0, atol=0.0)
            present.append(t.name)
    return present


KILLS = [  # (a log line in the middle of a step, the D3 outputs whole when the process dies there)
    ("features.state: start", ["silver/edges_daily", "silver/account_daily"]),
    ("graph.iteration 2:", ["silver/edges_daily", "silver/account_daily", "silver/feature_state", "gold/features"]),
    ("gate score_jumps passed", ["silver/edges_daily", "silver/account_daily", "silver/feature_state",
                                 "gold/features", "gold/account_influence"]),
]


def test_a_run_killed_in_the_middle_of_each_step_leaves_nothing_partial_and_a_rerun_completes(
        spark, base, tmp_path):
    warehouse, reference = base
    cfg = _copy(warehouse, tmp_path)
    for i, (marker, written) in enumerate(KILLS):
        _kill_at(_command(cfg, "--run-id", f"killed{i}"), marker)
        # the killed step's partition is not visible: only whole outputs of the steps before it (those of a step
        # after it are absent: every earlier kill came before that step too)
        assert _assert_whole_or_absent(spark, cfg, reference) == written, marker
        assertDataFrameEqual(_log(spark, cfg, f"killed{i}"), [(D3, "daily", "running", None)])
    # the rerun is not skipped (no killed run succeeded) and writes what an uninterrupted run writes
    assert cli.main(["daily", "--date", str(D3), *_args(cfg)]) == 0
    assert len(_assert_whole_or_absent(spark, cfg, reference)) == len(DAY_OUTPUTS)


def test_two_runs_of_the_same_date_at_once_leave_the_tables_whole(spark, base, tmp_path):
    warehouse, reference = base
    cfg = _copy(warehouse, tmp_path)
    procs = [subprocess.Popen(_command(cfg, "--run-id", f"twin{i}"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
             for i in (1, 2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    # one wins and the other fails clearly with exit 5, or both commit the same result one after the other
    assert codes in ([0, 0], [0, 5]), results
    for rc, err in results:
        if rc == 5:
            assert "another run committed to " in err and "rerun when the other run has ended" in err
    assert len(_assert_whole_or_absent(spark, cfg, reference)) == len(DAY_OUTPUTS)
    log = tables.read(spark, cfg, tables.RUN_LOG).where("step = 'daily' AND run_id LIKE 'twin%'")
    assert sorted((r["exit_code"], r["status"]) for r in log.collect()) == [
        (rc, "failed" if rc else "succeeded") for rc in codes]
