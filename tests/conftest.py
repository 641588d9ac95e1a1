"""The suite's fixtures: one Spark session (local[2], few shuffle partitions, UI off, fast-start JVM options), test
configs under a test's own directory, one scored synthetic world shared by the session, and copies of warehouses to
write into. Test modules take all of it as fixtures; none imports this module."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from klout.config import Config, load_config

TEST_SETS = (
    "spark.master=local[2]",
    "spark.shuffle_partitions=2",
    "spark.delta_snapshot_partitions=1",
    "spark.driver_memory=2g",
    # the full JIT (C2): a day costs about a third less than with C1 only (-XX:TieredStopAtLevel=1), from the first
    # day on (measured: 47-66 s against 77-82 s for a small world's day); a 256 MiB code cache for the suite's
    # generated code
    "spark.conf.spark.driver.extraJavaOptions=-XX:+UseParallelGC -XX:ReservedCodeCacheSize=256m -Duser.timezone=UTC",
    "spark.conf.spark.sql.adaptive.coalescePartitions.initialPartitionNum=2",
    "spark.conf.spark.default.parallelism=2",
    # the suite's tables are tiny: generating and compiling Java for every query and task (Delta's log replay
    # generates its wide encoders in each task) was half of a small day's driver CPU; interpreted, the same day
    # took 79 s instead of 158 s (Higgs 1 July, back to back, profiled). Production keeps codegen on.
    "spark.conf.spark.sql.codegen.wholeStage=false",
    "spark.conf.spark.sql.codegen.factoryMode=NO_CODEGEN",
)

# The shared scored world's shape (its days: WORLD's synth.days from synth.start_date, 2026-01-01 by default)
WORLD_SHAPE = (
    "synth.people=400",
    "synth.interactions_per_day=4000",
    "synth.bot_share=0.05",
    "synth.ring_size=5",
    "synth.ring_reactions_per_bot_per_day=20",
    "synth.celebrities=3",
    "synth.partitions=2",
)
# a fixed point much tighter than the default 1e-3: a date scored alone (cold start) must rank the persons as the
# backfill (warm start) does, and at 1e-3 two neighbours whose raw scores differ by less can swap (tests/test_backfill)
WORLD = (*WORLD_SHAPE, "synth.days=3", "graph.tolerance=1.0e-6")


def _make_config(tmp_path: Path, *sets: str) -> Config:
    return load_config(sets=[*TEST_SETS, f"warehouse={tmp_path}/warehouse", *sets])


def _copy_warehouse(warehouse: Path, to: Path, *sets: str) -> Config:
    shutil.copytree(warehouse, to / "warehouse", ignore=shutil.ignore_patterns("_checkpoints"))
    return _make_config(to, *sets)


@pytest.fixture(scope="session")
def make_config():
    """`make_config(tmp_path, *sets)`: a validated config with the test session's Spark settings whose warehouse is
    `tmp_path/warehouse`, plus any extra `key=value` overrides."""
    return _make_config


@pytest.fixture(scope="session")
def copy_warehouse():
    """`copy_warehouse(warehouse, to, *sets)`: copies the warehouse directory `warehouse` to `to/warehouse` (Spark's
    checkpoints left behind) and returns a config of the copy, as `make_config(to, *sets)`. Delta tables hold
    relative file paths, so the copy is a whole warehouse of its own: a test writes into it, never into a fixture
    other tests read."""
    return _copy_warehouse


@pytest.fixture(scope="session")
def spark_sets() -> tuple[str, ...]:
    """The test session's Spark settings as `key=value` overrides (for the `klout` processes a test starts)."""
    return TEST_SETS


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from klout.session import get_spark

    cfg = _make_config(tmp_path_factory.mktemp("session"))
    session = get_spark(cfg)
    yield session
    session.stop()


@pytest.fixture
def cfg(tmp_path):
    return _make_config(tmp_path)


@dataclasses.dataclass(frozen=True)
class ScoredWorld:
    cfg: Config
    warehouse: Path  # the directory of cfg's warehouse
    truth_dir: Path  # the generated world's truth/ (people, accounts): read only

    @property
    def days(self) -> list[dt.date]:
        """The world's days, each run through the daily step."""
        s = self.cfg.synth
        return [s.start_date + dt.timedelta(days=i) for i in range(s.days)]


@pytest.fixture(scope="session")
def scored_world(spark, tmp_path_factory) -> ScoredWorld:
    """A small synthetic world (WORLD) generated, ingested and run through run_daily for each of its days, built once
    per session and read by every test that needs a scored warehouse. Read it only: a test (or module fixture) that
    writes takes a `scored_copy()`."""
    from klout.ingest.run import ingest
    from klout.pipeline import run_daily
    from klout.synth import generate_world, write_world

    tmp = tmp_path_factory.mktemp("world")
    cfg = _make_config(tmp, *WORLD)
    write_world(generate_world(spark, cfg), str(tmp / "world"))
    for kind in ("identities", "profiles", "interactions"):
        ingest(spark, cfg, str(tmp / "world" / kind), "parquet", kind)
    world = ScoredWorld(cfg, tmp / "warehouse", tmp / "world" / "truth")
    for day in world.days:
        run_daily(spark, cfg, day)
    return world


@pytest.fixture(scope="session")
def scored_copy(scored_world, tmp_path_factory):
    """`scored_copy(*sets)`: the scored world on a fresh copy of its warehouse (WORLD plus `sets` as its config), to
    write into; its truth is the shared world's."""

    def copy(*sets: str) -> ScoredWorld:
        to = tmp_path_factory.mktemp("scored_copy")
        cfg = _copy_warehouse(scored_world.warehouse, to, *WORLD, *sets)
        return dataclasses.replace(scored_world, cfg=cfg, warehouse=to / "warehouse")

    return copy
