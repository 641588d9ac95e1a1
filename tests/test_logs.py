"""ops/run_log and ops/quality_gates are append-only logs: each write is one blind append, and a key's current row
is its newest (a run log's end over its `running` row; a gate's latest evaluation)."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.testing import assertDataFrameEqual

from klout import quality, runlog, tables
from klout.runlog import DateRun, DayInputs
from klout.warehouse import Warehouse

pytestmark = pytest.mark.fast

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)


def test_a_run_log_keeps_every_row_and_reads_each_dates_end_over_its_start(spark, make_config, tmp_path):
    cfg = make_config(tmp_path)
    inputs = DayInputs({"bronze/interactions": 3}, "f1")
    first = DateRun(spark, cfg, "r1", D1, "daily", inputs)
    first.start()
    first.step_done("features", first.started_at, {"features": {"accounts": 7}})
    first.finish("succeeded", 0, None, {})
    killed = DateRun(spark, cfg, "r1", D2, "daily", inputs)
    killed.start()  # never ends

    log = Warehouse(spark, cfg)[tables.RUN_LOG].read()
    assertDataFrameEqual(
        log.select("date", "step", "status"),
        [(D1, "daily", "running"), (D1, "daily", "succeeded"), (D1, "features", "succeeded"), (D2, "daily", "running")],
    )
    current = runlog.read(spark, cfg)
    assertDataFrameEqual(
        current.select("date", "step", "status", "exit_code", "row_counts"),
        [
            (D1, "daily", "succeeded", 0, {}),
            (D1, "features", "succeeded", None, {"features.accounts": 7}),
            (D2, "daily", "running", None, None),
        ],
    )
    assert [h["operation"] for h in Warehouse(spark, cfg)[tables.RUN_LOG].history().collect()] == [
        "WRITE",
        "WRITE",
        "WRITE",
        "CREATE TABLE",
    ]  # appends, no MERGE


def test_the_gates_current_result_is_their_latest_evaluation(spark, make_config, tmp_path):
    cfg = make_config(tmp_path, "quality.enforce=false")
    q = cfg.quality
    token = runlog.RUN_ID.set("stopped")
    try:
        quality.enforce(spark, cfg, D1, [quality.score_jumps(5, 10, q), quality.score_drift({}, {}, q)])
    finally:
        runlog.RUN_ID.reset(token)
    token = runlog.RUN_ID.set("accepted")
    try:
        quality.enforce(spark, cfg, D1, [quality.score_jumps(0, 10, q)])
    finally:
        runlog.RUN_ID.reset(token)
    assert Warehouse(spark, cfg)[tables.QUALITY_GATES].read().count() == 3
    assertDataFrameEqual(
        quality.recorded(spark, cfg).select("date", "gate", "run_id", "value", "passed"),
        [(D1, "score_drift", "stopped", None, True), (D1, "score_jumps", "accepted", 0.0, True)],
    )
