"""The synthetic world: a deterministic, Spark-generated social graph with known hidden influence.

`generate_world` builds lazy DataFrames in the canonical input formats (interactions, profiles, identities)
plus the ground truth behind them, so the scoring pipeline can be tested end to end and validated against
what it should have found. Every number is a hash of (seed, salt, keys), so the same seed and settings give
the same data on any cluster and partitioning. See `klout.synth.interactions` for how reactions are drawn
from the hidden influence (weighted slot tables joined on (cell, slot)) and `klout.synth.population` for
people, accounts and profiles.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout.config import Config
from klout.synth import interactions as inter
from klout.synth import population as pop

log = logging.getLogger("klout.synth")

# Rows per interactions file within one day folder (a day is split in several files above this).
ROWS_PER_FILE = 2_000_000


@dataclass(frozen=True)
class World:
    """The generated DataFrames: canonical inputs (interactions, profiles, identities) and the ground truth."""

    interactions: DataFrame
    profiles: DataFrame
    identities: DataFrame
    truth_people: DataFrame
    truth_accounts: DataFrame
    rows_per_day_hint: int = 0  # expected interactions per day, used to size the files written per day


def generate_world(spark: SparkSession, cfg: Config) -> World:
    """Build the synthetic world for `cfg.synth` as lazy DataFrames: a pure function of the configuration.

    Nothing is computed here; each DataFrame is evaluated when written or collected, always to the same rows.
    """
    plan = pop.Plan.of(spark, cfg)
    people = pop.people(spark, plan)
    accounts = pop.accounts(people, plan)
    events = inter.honest(spark, plan, accounts)
    ring = inter.ring(spark, plan)
    if ring is not None:
        events = events.unionByName(ring)
    s = cfg.synth
    log.info(
        "synth world: seed=%d people=%d (bots=%d in %d rings, celebrities=%d) days=%d interactions/day=%d networks=%s",
        s.seed,
        s.people,
        plan.n_bots,
        plan.n_rings,
        plan.n_celebrities,
        s.days,
        s.interactions_per_day,
        ",".join(plan.networks),
    )
    return World(
        interactions=inter.finish(events, plan),
        profiles=pop.profiles(accounts, plan),
        identities=pop.identities(accounts),
        truth_people=pop.truth_people(people),
        truth_accounts=pop.truth_accounts(accounts),
        rows_per_day_hint=s.interactions_per_day + plan.n_bots * s.ring_reactions_per_bot_per_day,
    )


def write_world(world: World, out_dir: str) -> dict[str, int]:
    """Write the world as Parquet under `out_dir` (overwriting, so a rerun gives identical output).

    Interactions go to `interactions/day=YYYY-MM-DD/` so one day can be ingested alone; then profiles,
    identities, truth/people and truth/accounts. Returns the row count of each output, read back from
    the Parquet footers.
    """
    base = out_dir.rstrip("/")
    day = F.date_from_unix_date(F.floor(F.unix_micros("ts") / F.lit(pop.DAY_MICROS)).cast("int"))
    files_per_day = max(1, math.ceil(world.rows_per_day_hint / ROWS_PER_FILE))
    interactions = world.interactions.withColumn("day", day)
    if files_per_day > 1:
        part = F.pmod(F.xxhash64("actor_id", "target_id", "ts"), F.lit(files_per_day))
        interactions = interactions.repartition("day", part)
    else:
        interactions = interactions.repartition("day")
    outputs = [
        ("interactions", interactions, ["day"]),
        ("profiles", world.profiles, []),
        ("identities", world.identities, []),
        ("truth/people", world.truth_people, []),
        ("truth/accounts", world.truth_accounts, []),
    ]
    counts: dict[str, int] = {}
    spark = world.interactions.sparkSession
    for name, df, partition_by in outputs:
        started = time.monotonic()
        path = f"{base}/{name}"
        writer = df.write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(path)
        counts[name] = spark.read.parquet(path).count()
        seconds = time.monotonic() - started
        log.info(
            "synth wrote %s: %d rows in %.1f s (%.0f rows/s) -> %s",
            name,
            counts[name],
            seconds,
            counts[name] / seconds if seconds > 0 else 0.0,
            path,
        )
    return counts
