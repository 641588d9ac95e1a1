"""Session settings: local launches get master, memory and the Delta jar; spark-submit keeps its own. The test
session itself is UTC and reads and writes Delta tables. A small window's queries run interpreted."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from pyspark.testing import assertDataFrameEqual

from klout import schemas, tables
from klout.config import load_config
from klout.execution import execution_for, interactions_per_day, window_total
from klout.session import session_settings
from klout.warehouse import Warehouse

pytestmark = pytest.mark.fast

NOW = dt.datetime(2030, 1, 1)
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


def test_an_s3a_warehouse_checkpoint_or_source_adds_hadoops_s3a_connector_to_the_launch():
    delta, s3a = "io.delta:delta-spark_4.2_2.13:4.4.0", "org.apache.hadoop:hadoop-aws:3.5.0"
    jars = lambda sets, uris=(): session_settings(load_config(sets=sets), False, uris)["spark.jars.packages"]  # noqa: E731
    assert jars(["warehouse=/w"]) == delta
    assert jars(["warehouse=s3a://bucket/wh"]) == f"{delta},{s3a}"
    assert jars(["warehouse=/w", "spark.checkpoint_dir=s3a://bucket/ck"]) == f"{delta},{s3a}"
    assert jars(["warehouse=/w"], ["s3a://bucket/in/interactions.jsonl"]) == f"{delta},{s3a}"
    assert jars(["warehouse=abfss://c@a.dfs.core.windows.net/wh"]) == delta  # other stores: their jars are the user's


def test_under_spark_submit_launch_settings_are_left_to_the_submit():
    s = session_settings(load_config(), submitted=True)
    assert LAUNCH_ONLY.isdisjoint(s)
    assert s["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def test_the_test_session_is_utc_and_writes_reads_and_time_travels_a_delta_table(spark, tmp_path):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    path = str(tmp_path / "tiny")
    spark.createDataFrame([(1, "a"), (2, "b")], "id int, v string").write.format("delta").save(path)
    spark.createDataFrame([(3, "c")], "id int, v string").write.format("delta").mode("append").save(path)
    assertDataFrameEqual(spark.read.format("delta").load(path), [(1, "a"), (2, "b"), (3, "c")])
    # a Delta table, not Parquet files: two commits in its log, and the first version still readable
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").select("version", "operation")
    assertDataFrameEqual(history, [(0, "WRITE"), (1, "WRITE")])
    assertDataFrameEqual(spark.read.format("delta").option("versionAsOf", 0).load(path), [(1, "a"), (2, "b")])


def test_a_small_window_runs_interpreted_a_large_one_compiled_and_the_session_is_restored(spark, make_config, tmp_path):
    d = [dt.date(2026, 1, day) for day in range(1, 5)]
    cfg = make_config(tmp_path, "features.window_days=3", "spark.interpreted_below=3")
    cfg = dataclasses.replace(cfg, spark=dataclasses.replace(cfg.spark, conf={}))  # the suite's own codegen keys off
    rows = [
        (f"e{i}", "twitter", "a", "b", "like", dt.datetime.combine(day, dt.time(12)), None, None, "t", NOW, day)
        for i, day in enumerate([d[0], d[1], d[1], d[3]])
    ]
    Warehouse(spark, cfg)[tables.INTERACTIONS].merge(spark.createDataFrame(rows, schemas.INTERACTIONS))

    per_day = interactions_per_day(spark, cfg, [d[2], d[3]])  # the windows span 1..4 January
    assert per_day == {d[0]: 1, d[1]: 2, d[3]: 1}
    assert [window_total(per_day, day, cfg) for day in (d[2], d[3])] == [3, 3]  # 1-3 and 2-4 January

    mode = "spark.sql.codegen.factoryMode"
    suite = spark.conf.get(mode)  # the suite runs interpreted (tests/conftest.py)
    spark.conf.set(mode, "FALLBACK")
    try:
        with execution_for(spark, cfg, 2, "small"):
            assert (spark.conf.get(mode), spark.conf.get("spark.sql.codegen.wholeStage")) == ("NO_CODEGEN", "false")
        assert spark.conf.get(mode) == "FALLBACK"
        with execution_for(spark, cfg, 3, "large"):
            assert spark.conf.get(mode) == "FALLBACK"
        given = dataclasses.replace(cfg, spark=dataclasses.replace(cfg.spark, conf={mode: "FALLBACK"}))
        with execution_for(spark, given, 2, "small, but configured"):
            assert spark.conf.get(mode) == "FALLBACK"
    finally:
        spark.conf.set(mode, suite)


def test_an_address_where_no_spark_connect_server_answers_fails_at_once_naming_it():
    import socket

    from klout.errors import KloutError
    from klout.session import get_spark

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"sc://127.0.0.1:{port}"
    with pytest.raises(KloutError, match=f"spark.remote = '{address}': no Spark Connect server answers there"):
        get_spark(load_config(sets=[f"spark.remote={address}"]))
