"""Session settings: local launches get master, memory and the Delta jar; spark-submit keeps its own. The test
session itself is UTC and reads and writes Delta tables."""

from __future__ import annotations

import pytest
from pyspark.testing import assertDataFrameEqual

from klout.config import load_config
from klout.session import session_settings

pytestmark = pytest.mark.fast

LAUNCH_ONLY = {"spark.master", "spark.driver.memory", "spark.jars.packages", "spark.ui.enabled"}


def test_a_local_launch_sets_master_memory_delta_jar_ui_and_the_configured_conf():
    cfg = load_config(sets=["warehouse=/w", "spark.conf.spark.executor.cores=3"])
    s = session_settings(cfg, submitted=False)
    assert {k: s[k] for k in LAUNCH_ONLY} == {
        "spark.master": "local[*]",
        "spark.driver.memory": "4g",
        "spark.jars.packages": "io.delta:delta-spark_4.2_2.13:4.4.0",
        "spark.ui.enabled": "false",
    }
    assert s["spark.sql.session.timeZone"] == "UTC"
    assert s["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert s["spark.sql.shuffle.partitions"] == "8"
    assert s["spark.executor.cores"] == "3"


def test_under_spark_submit_launch_settings_are_left_to_the_submit():
    s = session_settings(load_config(), submitted=True)
    assert LAUNCH_ONLY.isdisjoint(s)
    assert s["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def test_the_test_session_is_utc_and_writes_reads_and_time_travels_a_delta_table(spark, tmp_path):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.sparkContext.getCheckpointDir() is not None
    path = str(tmp_path / "tiny")
    spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string").write.format("delta").save(path)
    spark.createDataFrame([(3, "c")], "id int, v string").write.format("delta").mode("append").save(path)
    assertDataFrameEqual(spark.read.format("delta").load(path), [(1, "a"), (2, "b"), (3, "c")])
    # a Delta table, not Parquet files: two commits in its log, and the first version still readable
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").select("version", "operation")
    assertDataFrameEqual(history, [(0, "WRITE"), (1, "WRITE")])
    assertDataFrameEqual(spark.read.format("delta").option("versionAsOf", 0).load(path), [(1, "a"), (2, "b")])
