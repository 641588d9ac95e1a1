"""One Spark session for the whole suite: local[2], few shuffle partitions, UI off, fast-start JVM options."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

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


# A small synthetic world run through the daily step for each of its days, shared by every test that needs a scored
# warehouse (tests that write to it must work on a copy: see `copy_warehouse`).
WORLD_SHAPE = [
    "synth.people=400",
    "synth.interactions_per_day=4000",
    "synth.bot_share=0.05",
    "synth.ring_size=5",
    "synth.ring_reactions_per_bot_per_day=20",
    "synth.celebrities=3",
    "synth.partitions=2",
]
WORLD = [*WORLD_SHAPE, "synth.days=3"]
WORLD_DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]


@dataclass(frozen=True)
class ScoredWorld:
    cfg: object
    root: Path                 # world/ (the generated inputs and truth/) and warehouse/ live here

    @property
    def truth_dir(self) -> Path:
        return self.root / "world" / "truth"


@pytest.fixture(scope="session")
def scored_world(spark, tmp_path_factory) -> ScoredWorld:
    """The WORLD generated, ingested and run through run_daily for each of WORLD_DAYS."""
    from klout.daily import run_daily
    from klout.ingest.run import ingest
    from klout.synth import generate_world, write_world

    tmp = tmp_path_factory.mktemp("world")
    cfg = make_config(tmp, *WORLD)
    write_world(generate_world(spark, cfg), str(tmp / "world"))
    for kind in ("identities", "profiles", "interactions"):
        ingest(spark, cfg, str(tmp / "world" / kind), "parquet", kind)
    for day in WORLD_DAYS:
        run_daily(spark, cfg, day)
    return ScoredWorld(cfg, tmp)


def copy_warehouse(world: ScoredWorld, tmp_path, *sets: str):
    """A config whose warehouse is a copy of the scored world's (Delta tables hold relative file paths)."""
    import shutil

    shutil.copytree(world.root / "warehouse", tmp_path / "warehouse")
    return make_config(tmp_path, *WORLD, *sets)
