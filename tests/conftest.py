"""One Spark session for the whole suite: local[2], few shuffle partitions, UI off, fast-start JVM options."""

from __future__ import annotations

import pytest

from klout.config import load_config

TEST_SETS = [
    "spark.master=local[2]",
    "spark.shuffle_partitions=2",
    "spark.delta_snapshot_partitions=1",
    "spark.driver_memory=2g",
    # C1 only starts faster; its default code cache (48 MiB) fills up over the suite's generated code, so widen it
    "spark.conf.spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m"
    " -Duser.timezone=UTC",
    "spark.conf.spark.sql.adaptive.coalescePartitions.initialPartitionNum=2",
    "spark.conf.spark.default.parallelism=2",
]


def make_config(tmp_path, *sets: str):
    """A validated config whose warehouse lives under `tmp_path` (plus any extra `key=value` overrides)."""
    return load_config(sets=[*TEST_SETS, f"warehouse={tmp_path}/warehouse", *sets])


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from klout.session import get_spark

    cfg = make_config(tmp_path_factory.mktemp("session"))
    session = get_spark(cfg)
    yield session
    session.stop()


@pytest.fixture
def cfg(tmp_path):
    return make_config(tmp_path)
