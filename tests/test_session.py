"""Session settings: local launches get master, memory and the Delta jar; spark-submit keeps its own."""

from __future__ import annotations

from klout.config import load_config
from klout.session import session_settings

LAUNCH_ONLY = {"spark.master", "spark.driver.memory", "spark.jars.packages", "spark.ui.enabled"}


def test_local_launch_sets_everything():
    cfg = load_config(sets=["warehouse=/w", "spark.conf.spark.executor.cores=3"])
    s = session_settings(cfg, submitted=False)
    assert {k: s[k] for k in LAUNCH_ONLY} == {"spark.master": "local[*]", "spark.driver.memory": "4g",
                                               "spark.jars.packages": "io.delta:delta-spark_4.2_2.13:4.4.0",
                                               "spark.ui.enabled": "false"}
    assert s["spark.sql.session.timeZone"] == "UTC"
    assert s["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert s["spark.sql.shuffle.partitions"] == "8"
    assert s["spark.executor.cores"] == "3"


def test_under_spark_submit_launch_settings_are_left_to_the_submit():
    s = session_settings(load_config(), submitted=True)
    assert LAUNCH_ONLY.isdisjoint(s)
    assert s["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def test_the_test_session_is_utc_with_delta(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.sparkContext.getCheckpointDir() is not None
    assert spark.sql("SELECT 1 AS x").count() == 1
