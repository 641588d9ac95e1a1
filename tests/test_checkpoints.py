"""klout's own checkpoints: a frame written to a run folder reads back with the same rows (partitioned on its key for
a join: tests/test_plans.py); a dropped state and a finished run leave neither files nor catalog entries behind."""

from __future__ import annotations

import pytest
from pyspark.testing import assertDataFrameEqual

from klout import checkpoints, paths

pytestmark = pytest.mark.fast


def _entries(spark) -> set[str]:
    return {r["tableName"] for r in spark.sql(f"SHOW TABLES LIKE '{checkpoints.PREFIX}*'").collect()}


def test_a_state_reads_back_partitioned_on_its_key_and_the_run_folder_is_deleted_after(spark, make_config, tmp_path):
    cfg = make_config(tmp_path)
    rows = [("t", "a", 1.5), ("t", "b", 0.25), ("f", "a", 2.0)]
    df = spark.createDataFrame(rows, "network string, account_id string, raw double")
    before = _entries(spark)
    with checkpoints.run_folder(spark, cfg, "test") as folder:
        assert folder.startswith(f"{tmp_path}/warehouse/_checkpoints/test-")
        first = checkpoints.save(df, paths.joined(folder, "iteration-0"), 3, ["network", "account_id"])
        second = checkpoints.save(first, paths.joined(folder, "iteration-1"), 3, ["network", "account_id"])
        assertDataFrameEqual(second, rows)
        assert len(_entries(spark) - before) == 2
        checkpoints.drop(spark, paths.joined(folder, "iteration-0"))
        assert not paths.exists(spark, paths.joined(folder, "iteration-0"))
        assert len(_entries(spark) - before) == 1
        assertDataFrameEqual(second, rows)  # the later state does not depend on the dropped one
    assert not paths.exists(spark, folder)
    assert _entries(spark) == before
