"""The table API's bookkeeping within a run: a partition the run wrote with rows is read back as an input without a
Spark job to check it, and forgotten when it is replaced by nothing or deleted from."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from klout import schemas, tables
from klout.warehouse import Warehouse, known_partitions

pytestmark = pytest.mark.fast

D = dt.date(2026, 1, 1)


def _jobs(spark, read):
    """(what `read()` returns, the Spark jobs it ran)."""
    sc = spark.sparkContext
    group = f"test-{uuid.uuid4().hex}"
    sc.setJobGroup(group, "test")
    try:
        return read(), len(sc.statusTracker().getJobIdsForGroup(group))
    finally:
        sc.setJobGroup("", "")


def test_a_partition_written_in_a_run_is_read_back_unchecked_until_emptied_or_deleted_from(spark, cfg):
    state = Warehouse(spark, cfg)[tables.FEATURE_STATE]
    rows = spark.createDataFrame([(D, "twitter", "a", "reactions", 2.0)], schemas.ACCOUNT_METRICS)
    none = spark.createDataFrame([], schemas.ACCOUNT_METRICS)
    state.replace_partition(rows, D)

    _, checked = _jobs(spark, lambda: state.required_partition(D, "features"))
    assert checked > 0  # outside a run: a job looks for a row
    with known_partitions():
        assert state.replace_partition(rows, D) == 1
        got, unchecked = _jobs(spark, lambda: state.required_partition(D, "features"))
        assert unchecked < checked
        assertDataFrameEqual(got, [("twitter", "a", "reactions", 2.0)])

        # the latest before the next day: the day just written, found without looking for the latest date
        latest, found = _jobs(spark, lambda: state.latest_before(D + dt.timedelta(days=1)))
        assertDataFrameEqual(latest, [("twitter", "a", "reactions", 2.0)])
        assert found < _jobs(spark, lambda: state.latest_before(D + dt.timedelta(days=2)))[1]

        assert state.replace_partition(none, D) == 0  # replaced by nothing: looked for again, and absent
        assert state.partition(D) is None

        state.replace_partition(rows, D)
        assert state.delete(F.col("account_id") == "a") == 1  # deleted from: looked for again, and absent
        assert state.partition(D) is None
