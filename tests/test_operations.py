"""Operating klout: resumable backfill with a run log, missing upstream partitions, data-quality gates, a run killed
in the middle of each step, and a run whose partition another run of the same date committed first (exit 5). Kills
and concurrent runs use real `klout` processes on a copy of one small synthetic world's warehouse; their output goes
to files, every wait has a deadline, and a test ends every process group it started."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from klout import cli, quality, runlog, tables
from klout.config import load_config
from klout.ingest.run import ingest
from klout.pipeline import run_dates
from klout.synth import generate_world, write_world
from klout.warehouse import Warehouse

WORLD = ["synth.people=60", "synth.days=3", "synth.interactions_per_day=300", "synth.partitions=2"]
D1, D2, D3, D4 = (dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(4))
DAY_OUTPUTS = tables.RUN_DATE_OUTPUTS


@pytest.fixture(scope="module")
def base(spark, make_config, copy_warehouse, tmp_path_factory):
    """A warehouse with the world ingested and D1, D2 run (logged, as `klout backfill` does), plus the D3 outputs
    that an uninterrupted run produces (computed on a copy): (warehouse path, {table: D3 rows})."""
    tmp = tmp_path_factory.mktemp("ops")
    cfg = make_config(tmp, *WORLD)
    write_world(generate_world(spark, cfg), str(tmp / "world"))
    for kind in ("identities", "profiles", "interactions"):
        ingest(spark, cfg, str(tmp / "world" / kind), "parquet", kind)
    list(run_dates(spark, cfg, "daily", [D1, D2], "fixture", resumable=True))
    ref_cfg = copy_warehouse(tmp / "warehouse", tmp / "reference", *WORLD)
    list(run_dates(spark, ref_cfg, "daily", [D3], "reference", resumable=True))
    reference = {t.name: Warehouse(spark, ref_cfg)[t].partition(D3).localCheckpoint() for t in DAY_OUTPUTS}
    return tmp / "warehouse", reference


def _args(cfg, *sets: str) -> list[str]:
    return ["--set", f"warehouse={cfg.warehouse}", *[a for s in [*WORLD, *sets] for a in ("--set", s)], "-q"]


def _log(spark, cfg, run_id: str):
    return runlog.read(spark, cfg).where(F.col("run_id") == run_id).select("date", "step", "status", "exit_code")


# ---- resumable backfill, run log, missing upstream --------------------------------------------------------------


@pytest.mark.slow
def test_backfill_skips_what_succeeded_reruns_what_changed_and_stops_at_a_missing_day(
    spark, base, copy_warehouse, tmp_path, capsys
):
    cfg = copy_warehouse(base[0], tmp_path, *WORLD)
    assert cli.main(["backfill", "--start", str(D1), "--end", str(D2), "--run-id", "again", *_args(cfg)]) == 0
    assert [line.split(":")[1].split()[0] for line in capsys.readouterr().out.splitlines()] == ["skipped"] * 2
    assertDataFrameEqual(_log(spark, cfg, "again"), [(D1, "daily", "skipped", 0), (D2, "daily", "skipped", 0)])

    # a late event of D2 changes D2's inputs, and so D3's (it builds on D2's run); D1 stays as it was
    late = tmp_path / "late.jsonl"
    late.write_text(
        '{"network": "twitter", "actor_id": "late", "target_id": "p1", "action": "like", '
        '"ts": "2026-01-02T23:00:00Z"}\n'
    )
    ingest(spark, cfg, str(late), "jsonl")
    assert cli.main(["backfill", "--start", str(D1), "--end", str(D4), "--run-id", "late", *_args(cfg)]) == 3
    assert (
        "bronze/interactions has no partition for 2026-01-04: ingest that day's interactions first"
        in capsys.readouterr().err
    )
    steps = ("inputs", "features", "graph", "score")
    assertDataFrameEqual(
        _log(spark, cfg, "late"),
        [
            (D1, "daily", "skipped", 0),
            (D2, "daily", "succeeded", 0),
            *[(D2, s, "succeeded", None) for s in steps],
            (D3, "daily", "succeeded", 0),
            *[(D3, s, "succeeded", None) for s in steps],
            (D4, "daily", "failed", 3),
            (D4, "inputs", "failed", None),
        ],
    )
    assert (
        Warehouse(spark, cfg)[tables.SCORES]
        .read()
        .where(F.col("date") == D2)
        .where(F.col("person_id") == "twitter:late")
        .count()
        == 1
    )

    # --force reruns a date that succeeded; the log records the run's code version, config and input versions
    assert cli.main(["daily", "--date", str(D1), "--force", "--run-id", "forced", *_args(cfg)]) == 0
    row = runlog.read(spark, cfg).where("run_id = 'forced' AND step = 'daily'").first()
    assert (row["status"], row["config_hash"], row["seconds"] > 0) == ("succeeded", cfg.fingerprint(), True)
    assert row["code_version"].startswith("0.1.0") and row["input_versions"]["bronze/interactions"] >= 1
    assert row["row_counts"]["score.persons"] == Warehouse(spark, cfg)[tables.SCORES].partition(D1).count()


def test_each_step_refuses_to_run_without_its_upstream_partition(spark, base, copy_warehouse, tmp_path, capsys):
    cfg = copy_warehouse(base[0], tmp_path, *WORLD)  # each refusal is logged in ops/run_log
    wh = ["--set", f"warehouse={cfg.warehouse}", "-q"]
    for command, message in (
        ("features", "bronze/interactions has no partition for 2026-01-04"),
        ("graph", "gold/features has no partition for 2026-01-04"),
        ("score", "gold/account_influence has no partition for 2026-01-04"),
    ):
        assert cli.main([command, "--date", str(D4), *wh]) == 3
        assert message in capsys.readouterr().err


# ---- data-quality gates ---------------------------------------------------------------------------------------------

Q = load_config().quality  # the shipped thresholds: quarantine 5 %, volume drop 50 %, drift 0.25, jumps 20 pt / 1 %


@pytest.mark.fast
def test_quarantine_share_gate():
    assert quality.quarantine_share(95, 5, Q) == quality.GateResult(
        "quarantine_share", 0.05, 0.05, True, "5 of 100 interaction rows quarantined (5.00%; at most 5.00%)"
    )
    assert quality.quarantine_share(94, 6, Q).passed is False


@pytest.mark.fast
def test_volume_drop_gate_compares_with_the_trailing_median():
    # median of (100, 1000, 80) is 100: 40 is 60 % below it, although far more below the mean
    assert quality.volume_drop(40, [100, 1000, 80], Q) == quality.GateResult(
        "volume_drop",
        0.6,
        0.5,
        False,
        "40 interactions against a median of 100 over the 3 earlier day(s) (60.0% below; at most 50%)",
    )
    assert quality.volume_drop(50, [100], Q).passed and quality.volume_drop(500, [100], Q).value == 0.0
    assert quality.volume_drop(5, [], Q).passed


@pytest.mark.fast
def test_score_drift_gate_is_a_population_stability_index():
    # half the persons move from bin 3 to bin 4: (0.5 - 1) ln(0.5 / 1) + (0.5 - 1e-4) ln(0.5 / 1e-4) = 4.60
    r = quality.score_drift({3: 50, 4: 50}, {3: 100}, Q)
    assert r.value == pytest.approx(-0.5 * -0.693147 + 0.4999 * 8.517193, abs=1e-5) and not r.passed
    assert quality.score_drift({3: 100}, {3: 100}, Q).value == 0.0
    assert quality.score_drift({3: 100}, {}, Q).passed


@pytest.mark.fast
def test_score_jumps_gate():
    assert quality.score_jumps(1, 100, Q) == quality.GateResult(
        "score_jumps", 0.01, 0.01, True, "1 of 100 persons moved more than 20 points (1.00%; at most 1.00%)"
    )
    assert not quality.score_jumps(2, 100, Q).passed


@pytest.mark.fast
def test_score_gates_histogram_each_day_over_its_own_persons(spark):
    # a: 95 -> 96 (bin 9 both days); b: only today, 12 (bin 1); c: only before, 55 (bin 5); d: 30 -> 55 jumps
    compared = spark.createDataFrame(
        [(96.0, 95.0), (12.0, None), (None, 55.0), (55.0, 30.0)], "score double, previous_score double"
    )
    drift, jumps = quality.score_gates(compared, load_config(sets=["quality.max_jump_share=0.5"]))
    assert drift == quality.score_drift({1: 1, 5: 1, 9: 1}, {3: 1, 5: 1, 9: 1}, Q)
    assert "(3 persons today, 3 before;" in drift.detail
    assert (jumps.value, jumps.passed) == (0.5, True)  # d of the two persons scored both days (a, d)


def test_input_gates_stop_the_daily_before_any_work(spark, base, copy_warehouse, tmp_path, capsys):
    cfg = copy_warehouse(base[0], tmp_path, *WORLD)
    day = tmp_path / "thin_day.jsonl"  # D4: 10 reactions against ~270 a day before, and 2 self-reactions (quarantined)
    day.write_text(
        "".join(
            f'{{"network": "twitter", "actor_id": "{a}", "target_id": "{t}", "action": "like", '
            f'"ts": "2026-01-04T10:00:0{i % 10}Z"}}\n'
            for i, (a, t) in enumerate([(f"r{i}", "x") for i in range(10)] + [("s", "s"), ("u", "u")])
        )
    )
    ingest(spark, cfg, str(day), "jsonl")
    scores_before = Warehouse(spark, cfg)[tables.SCORES].read().localCheckpoint()
    assert cli.main(["daily", "--date", str(D4), "--run-id", "thin", *_args(cfg)]) == 4
    err = capsys.readouterr().err
    assert "quality gate(s) failed for 2026-01-04, nothing published" in err
    assert "quarantine_share: 2 of 12 interaction rows quarantined (16.67%; at most 5.00%)" in err
    assert "volume_drop: 10 interactions against a median of " in err
    gates = quality.recorded(spark, cfg).where(F.col("date") == D4)
    assertDataFrameEqual(
        gates.select("gate", "run_id", "passed"), [("quarantine_share", "thin", False), ("volume_drop", "thin", False)]
    )
    assert Warehouse(spark, cfg)[tables.FEATURES].partition(D4) is None  # nothing was computed
    assertDataFrameEqual(Warehouse(spark, cfg)[tables.SCORES].read(), scores_before)
    assertDataFrameEqual(_log(spark, cfg, "thin"), [(D4, "daily", "failed", 4), (D4, "inputs", "failed", None)])


def test_score_gates_keep_the_published_scores_untouched(spark, base, copy_warehouse, tmp_path, capsys):
    cfg = copy_warehouse(base[0], tmp_path, *WORLD)
    scores_before = Warehouse(spark, cfg)[tables.SCORES].read().localCheckpoint()
    explanations_before = Warehouse(spark, cfg)[tables.SCORE_EXPLANATIONS].read().localCheckpoint()
    strict = ("quality.max_score_drift=0.0", "quality.jump_points=0", "quality.max_jump_share=0.0")
    assert cli.main(["daily", "--date", str(D3), "--run-id", "strict", *_args(cfg, *strict)]) == 4
    err = capsys.readouterr().err
    assert "score_drift: population stability index " in err and "score_jumps: " in err
    gates = quality.recorded(spark, cfg).where(F.col("date") == D3)
    assertDataFrameEqual(
        gates.select("gate", "passed"),
        [("quarantine_share", True), ("volume_drop", True), ("score_drift", False), ("score_jumps", False)],
    )
    # D3's features and graph pass are there; its scores are not, and D1, D2 are exactly as published before
    assert Warehouse(spark, cfg)[tables.ACCOUNT_INFLUENCE].partition(D3) is not None
    assertDataFrameEqual(Warehouse(spark, cfg)[tables.SCORES].read(), scores_before)
    assertDataFrameEqual(Warehouse(spark, cfg)[tables.SCORE_EXPLANATIONS].read(), explanations_before)
    # the same data passes the shipped thresholds, and then publishes what an uninterrupted run publishes; only the
    # score step ran again: the stopped run's inputs, features and graph pass are reused, not recomputed
    assert cli.main(["daily", "--date", str(D3), "--run-id", "accepted", *_args(cfg)]) == 0
    assertDataFrameEqual(
        Warehouse(spark, cfg)[tables.SCORES].partition(D3), base[1][tables.SCORES.name], rtol=0.0, atol=0.0
    )
    steps = runlog.read(spark, cfg).where(F.col("run_id") == "accepted")
    assertDataFrameEqual(
        steps.select("step", "status", "message"),
        [
            ("daily", "succeeded", None),
            ("inputs", "succeeded", "reused: done in run strict"),
            ("features", "succeeded", "reused: done in run strict"),
            ("graph", "succeeded", "reused: done in run strict"),
            ("score", "succeeded", None),
        ],
    )


# ---- killed runs and concurrent runs: real processes ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
HOLD_WRITE = "KLOUT_TEST_HOLD_WRITE"  # klout's test hook: "<table>=<flag file>" holds that partition replace
STARTUP = 300.0  # seconds a process may take to reach a point of its run (a cold JVM on a busy machine)


def _command(cfg, spark_sets, *extra: str, step: str = "daily") -> list[str]:
    sets = [a for s in spark_sets for a in ("--set", s)]
    return [sys.executable, "-m", "klout", step, "--date", str(D3), *extra, *_args(cfg)[:-1], *sets]


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `cmd` in a session of its own (so that its whole group, Python and the JVM, can be killed), its stdout
    and stderr into the file `log`: no pipe that a chatty child could fill up. No write is held unless `env` asks;
    Spark's Python workers run this venv's Python (the hook's UDF needs its pyarrow), as spark-submit would be told."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != HOLD_WRITE}
    env = env | {"PYSPARK_PYTHON": sys.executable}
    with log.open("w") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen) -> None:
    """SIGKILL the process group of `proc` (also a JVM its Python left behind) and reap `proc`."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_until(ready, proc: subprocess.Popen, log: Path, what: str, timeout: float = STARTUP) -> None:
    """Poll until `ready()`; fail with the log's tail when `proc` ends first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before {what}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.05)


def _kill_at(cmd: list[str], marker: str, log: Path) -> None:
    """Run `cmd` and SIGKILL its whole process group as soon as its log holds a line containing `marker`."""
    proc = _start(cmd, log)
    try:
        with log.open(errors="replace") as f:
            recent = [""]  # what was read last, after the end of what came before (a marker may straddle two reads)

            def marker_seen() -> bool:
                recent[0] = recent[0][-len(marker) :] + f.read()
                return marker in recent[0]

            _wait_until(marker_seen, proc, log, repr(marker))
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        _stop(proc)


def _assert_whole_or_absent(spark, cfg, reference) -> list[str]:
    """Every D3 output is either not there or exactly what an uninterrupted run writes; returns those there."""
    present = []
    for t in DAY_OUTPUTS:
        rows = Warehouse(spark, cfg)[t].partition(D3)
        if rows is not None:
            assertDataFrameEqual(rows, reference[t.name], rtol=0.0, atol=0.0)
            present.append(t.name)
    return present


# (the step a process runs, a log line in the middle of it, the D3 outputs whole when it dies there; the graph step
# writes the window's edges before its pass)
KILLS = [
    ("features", "features.state: start", ["silver/edges_daily", "silver/account_daily"]),
    (
        "graph",
        "graph.iteration 2:",
        ["silver/edges_daily", "silver/account_daily", "silver/feature_state", "gold/features", "silver/window_edges"],
    ),
    (
        "score",
        "gate score_jumps passed",
        [
            "silver/edges_daily",
            "silver/account_daily",
            "silver/feature_state",
            "gold/features",
            "silver/window_edges",
            "gold/account_influence",
        ],
    ),
]


@pytest.mark.slow
def test_a_run_killed_in_the_middle_of_each_step_leaves_nothing_partial_and_a_rerun_completes(
    spark, base, copy_warehouse, spark_sets, tmp_path
):
    warehouse, reference = base
    cfg = copy_warehouse(warehouse, tmp_path, *WORLD)
    for i, (step, marker, written) in enumerate(KILLS):
        if i:  # the step before completes in this warm session: each cold process runs only the step it is killed in
            assert cli.main([KILLS[i - 1][0], "--date", str(D3), *_args(cfg)]) == 0
        _kill_at(_command(cfg, spark_sets, "--run-id", f"killed{i}", step=step), marker, tmp_path / f"killed{i}.log")
        # the killed step's partitions are not visible: only whole outputs of the steps before it
        present = _assert_whole_or_absent(spark, cfg, reference)
        assert present == written, marker
        assertDataFrameEqual(_log(spark, cfg, f"killed{i}"), [(D3, step, "running", None)])
    # the rerun is not skipped (no killed run succeeded) and writes what an uninterrupted run writes
    assert cli.main(["daily", "--date", str(D3), *_args(cfg)]) == 0
    assert len(_assert_whole_or_absent(spark, cfg, reference)) == len(DAY_OUTPUTS)


@pytest.mark.slow
def test_a_run_whose_partition_another_run_committed_first_exits_5_and_the_tables_stay_whole(
    spark, base, copy_warehouse, spark_sets, tmp_path
):
    """Run A (a `klout` process) holds inside its write of D3's silver/edges_daily partition (after Delta took its
    snapshot, before the commit) while run B of the same date runs to its end in this process; released, A's commit
    conflicts with B's."""
    warehouse, reference = base
    cfg = copy_warehouse(warehouse, tmp_path, *WORLD)
    flag = tmp_path / "release"
    held_log = tmp_path / "held.log"
    held = _start(
        _command(cfg, spark_sets, "--run-id", "held"),
        held_log,
        env=os.environ | {HOLD_WRITE: f"silver/edges_daily={flag}"},
    )
    try:
        waiting = Path(f"{flag}.waiting")
        _wait_until(waiting.exists, held, held_log, "hold in the write of silver/edges_daily")
        # the hook waits up to 600 s for the flag: B (in this process) must commit within that, on a busy machine too
        assert cli.main(["daily", "--date", str(D3), "--run-id", "other", *_args(cfg)]) == 0
        flag.touch()
        rc = held.wait(timeout=STARTUP)
    finally:
        flag.touch()
        _stop(held)
    assert rc == 5, _tail(held_log)
    err = held_log.read_text(errors="replace")
    assert "another run committed to silver/edges_daily" in err and "rerun when the other run has ended" in err
    # what the tables hold is what one uninterrupted run writes, and the log says which run did what
    assert len(_assert_whole_or_absent(spark, cfg, reference)) == len(DAY_OUTPUTS)
    log = runlog.read(spark, cfg).where("step = 'daily' AND run_id IN ('held', 'other')")
    assert sorted((r["run_id"], r["exit_code"], r["status"]) for r in log.collect()) == [
        ("held", 5, "failed"),
        ("other", 0, "succeeded"),
    ]
