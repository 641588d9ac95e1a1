"""The warehouse, the checkpoints and the sources on object storage (`s3a://`, a local moto server started by the
session's `s3` fixture): a day run there publishes exactly the tables of the local run, nothing lands on the
driver's disk, the driver's few path checks go through Hadoop's FileSystem, and a second Delta implementation
(delta-rs) reads the published tables back."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
from pyspark.testing import assertDataFrameEqual

from klout import paths, tables
from klout.doctor import probe_checkpoints, probe_warehouse
from klout.ingest.run import ingest
from klout.pipeline import run_daily
from klout.publish import EXPORT_COLUMNS, export_frame, write_scores
from klout.warehouse import Warehouse

pytestmark = pytest.mark.slow

KINDS = ("identities", "profiles", "interactions")
COMPARED = (tables.FEATURES, tables.ACCOUNT_INFLUENCE, tables.SCORES, tables.SCORE_EXPLANATIONS)
READ_BY_OTHERS = (tables.SCORES, tables.ACCOUNT_INFLUENCE)


@pytest.fixture(scope="module")
def on_s3(spark, s3, scored_world):
    """The scored world's sources copied to the bucket (by Spark), ingested from there into a warehouse on the bucket
    (its checkpoints under it, the default), and its first day run: (config, day)."""
    root = s3.uri(f"run-{uuid.uuid4().hex[:8]}")
    for kind in KINDS:
        spark.read.parquet(str(scored_world.truth_dir.parent / kind)).write.parquet(f"{root}/world/{kind}")
    cfg = dataclasses.replace(scored_world.cfg, warehouse=f"{root}/warehouse")  # the world's settings, on the bucket
    for kind in KINDS:
        ingest(spark, cfg, f"{root}/world/{kind}", "parquet", kind)
    day = scored_world.days[0]
    run_daily(spark, cfg, day)
    return cfg, day


def test_a_day_on_object_storage_publishes_exactly_the_local_runs_tables(spark, on_s3, scored_world):
    cfg, day = on_s3
    assert cfg.warehouse_root.startswith("s3a://")
    for table in COMPARED:
        expected = Warehouse(spark, scored_world.cfg)[table].partition(day)
        assert expected is not None and expected.count() > 300, table.name
        assertDataFrameEqual(Warehouse(spark, cfg)[table].partition(day), expected, rtol=0.0, atol=0.0)


def test_the_run_leaves_nothing_on_the_drivers_disk_and_cleans_its_checkpoints(spark, on_s3):
    cfg, _ = on_s3
    # a URI taken for a local path would have made `<cwd>/s3a:/...` folders; the checkpoints of the run are deleted
    assert not list(Path.cwd().glob("s3a:*"))
    checkpoints = f"{cfg.warehouse_root}/_checkpoints"
    assert not paths.exists(spark, f"{checkpoints}/graph-*")


def test_path_checks_go_through_the_store_for_files_folders_and_globs(spark, s3):
    root = s3.uri(f"paths-{uuid.uuid4().hex[:8]}")
    spark.range(3).write.parquet(f"{root}/a/part")
    assert paths.exists(spark, f"{root}/a/part")
    assert paths.exists(spark, f"{root}/*/part")
    assert not paths.exists(spark, f"{root}/b")
    paths.delete(spark, f"{root}/a")
    assert not paths.exists(spark, f"{root}/a/part")
    paths.write_bytes(spark, f"{root}/report/report.md", "# é\n".encode())  # a report beside an s3a warehouse
    assert [r.value for r in spark.read.text(f"{root}/report/report.md").collect()] == ["# é"]


def test_doctor_probes_the_warehouse_and_checkpoints_on_the_store_and_names_the_one_that_fails(spark, on_s3, s3):
    cfg, _ = on_s3
    assert [(p.place, p.error) for p in (probe_warehouse(spark, cfg), probe_checkpoints(spark, cfg))] == [
        ("warehouse", None),
        ("checkpoints", None),
    ]
    assert not paths.exists(spark, f"{cfg.warehouse_root}/_doctor/*")
    elsewhere = dataclasses.replace(cfg, spark=dataclasses.replace(cfg.spark, checkpoint_dir="s3a://no-such-bucket/ck"))
    failed = probe_checkpoints(spark, elsewhere)
    assert (failed.place, failed.path, probe_warehouse(spark, elsewhere).error) == (
        "checkpoints",
        "s3a://no-such-bucket/ck",
        None,
    )
    assert failed.error


def test_exports_are_written_to_the_store_by_the_executors(spark, on_s3):
    cfg, day = on_s3
    published = Warehouse(spark, cfg)[tables.SCORES].partition(day).select(*EXPORT_COLUMNS)
    run_root = cfg.warehouse_root.rsplit("/", 1)[0]
    folder, single = (f"{run_root}/exports/scores.{ext}" for ext in ("parquet", "csv"))
    assert write_scores(spark, cfg, day, "parquet", folder, single_file=False) == published.count()
    assertDataFrameEqual(spark.read.parquet(folder), published, rtol=0.0, atol=0.0)
    assert write_scores(spark, cfg, day, "csv", single, single_file=True) == published.count()
    back = spark.read.option("header", "true").option("escape", '"').schema(export_frame(spark, cfg, day, "csv").schema)
    assertDataFrameEqual(back.csv(single), export_frame(spark, cfg, day, "csv"), rtol=0.0, atol=0.0)
    assert not paths.exists(spark, f"{single}.parts-*")


def test_another_delta_implementation_reads_the_published_tables(spark, on_s3, s3):
    from deltalake import DeltaTable

    cfg, day = on_s3
    for table in READ_BY_OTHERS:
        bound = Warehouse(spark, cfg)[table]
        other = DeltaTable(bound.path.replace("s3a://", "s3://", 1), storage_options=s3.storage_options)
        ours = bound.read()
        theirs = spark.createDataFrame(other.to_pyarrow_table()).select(*ours.columns)
        assert other.version() == bound.history(1).first()["version"]
        protocol = other.protocol()  # documented in the README: plain Delta, no table features
        assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
        assertDataFrameEqual(theirs, ours, rtol=0.0, atol=0.0)
