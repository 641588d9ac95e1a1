"""`klout maintain`: compaction and vacuum leave the tables' contents as they were and the disk without old files."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from klout import cli, schemas, tables
from klout.warehouse import Warehouse

D = dt.date(2026, 2, 1)


def _files(path):
    return sorted(p for p in path.rglob("*.parquet"))


def test_maintain_compacts_and_vacuums_without_changing_contents(spark, make_config, tmp_path, capsys):
    cfg = make_config(tmp_path, "maintenance.vacuum_retention_hours=0")
    rows = lambda n: spark.createDataFrame(  # noqa: E731
        [(D, "twitter", f"a{i}", "m", float(i)) for i in range(n)], schemas.ACCOUNT_METRICS
    ).repartition(3)
    Warehouse(spark, cfg)[tables.ACCOUNT_DAILY].replace_partition(rows(5), D)
    Warehouse(spark, cfg)[tables.ACCOUNT_DAILY].replace_partition(rows(6), D)  # a rerun: the first files are unused
    path = tmp_path / "warehouse" / tables.ACCOUNT_DAILY.name
    before = Warehouse(spark, cfg)[tables.ACCOUNT_DAILY].read().collect()
    assert len(_files(path)) >= 4

    assert (
        cli.main(
            ["maintain", "--set", f"warehouse={cfg.warehouse}", "--set", "maintenance.vacuum_retention_hours=0", "-q"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("silver/account_daily: files_compacted ")
    assertDataFrameEqual(Warehouse(spark, cfg)[tables.ACCOUNT_DAILY].read(), before)
    # only the compacted file of the current version is left on disk
    live = Warehouse(spark, cfg)[tables.ACCOUNT_DAILY].read().select(F.input_file_name()).distinct().count()
    assert len(_files(path)) == live == 1
