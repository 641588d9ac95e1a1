"""The gaming experiments' tricks: who plays them (the cast) and the input rows they plant on one day of a scored
warehouse. They arrive as ordinary input rows through `klout ingest`, so they meet exactly what real data meets.

- bot ring: `RING_SIZE` new accounts retweet each other `RING_REPEATS` times a day, every ordered pair;
- bought followers: two ordinary accounts' profiles gain `BOUGHT_FOLLOWERS` followers each; for one the network
  reports them as spam followers (its spam_follower_share rises accordingly), for the other it does not notice;
- likes everything: a new account likes every account that received a reaction that day, once each;
- celebrity reshare: the network's most influential account retweets a new, unknown account once; as a control an
  ordinary (median-influence) account retweets another new account once;
- sybils: `SYBILS` accounts never seen before each retweet a median-influence account once; as a control as many
  established median accounts (in the graph pass of the day before) each retweet another median account once.

The day's unsmoothed `target_score` is compared (the published score is smoothed towards it from the day before).
The five run together; each touches its own accounts (the liker skips the others' accounts), but the score scale
is relative, so everyone's score also moves by the small shift that the new accounts make. What each did is
measured in `klout.evaluation.gaming`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.errors import InputError
from klout.ingest.run import ingest
from klout.paths import joined
from klout.schemas import INTERACTION_COLUMNS, PROFILE_COLUMNS
from klout.warehouse import Warehouse

RING_SIZE = 10
SYBILS = 30
RING_REPEATS = 5
BOUGHT_FOLLOWERS = 100_000
PREFIX = "gaming_"


@dataclass(frozen=True)
class Cast:
    """The existing accounts the experiments use (on `network`)."""

    network: str
    celebrity: str  # the most influential account of the day before
    ordinary: str  # a median-influence account: the control resharer
    buyer: str | None  # a median-influence account with a profile: buys followers, reported as spam (None: no profiles)
    unflagged: str | None  # the next one: buys followers the network does not notice
    sybil_target: str  # a median-influence account, a person alone: retweeted once by each of SYBILS new accounts
    real_target: str  # the next one: retweeted once by each of `real_reactors`
    real_reactors: tuple[str, ...]  # SYBILS median-influence accounts of the day before's graph pass

    def accounts(self) -> list[str]:
        """Every existing account of the cast that the tricks target or use."""
        named = [self.celebrity, self.ordinary, self.buyer, self.unflagged, self.sybil_target, self.real_target]
        return [a for a in named if a is not None]


def ring_accounts() -> list[str]:
    return [f"{PREFIX}ring_{i}" for i in range(RING_SIZE)]


def sybil_accounts() -> list[str]:
    return [f"{PREFIX}sybil_{i}" for i in range(SYBILS)]


LIKER, UNKNOWN, CONTROL = f"{PREFIX}liker", f"{PREFIX}unknown", f"{PREFIX}unknown_control"


def pick_cast(spark: SparkSession, cfg: Config, day: dt.date, network: str) -> Cast:
    """The cast, from the influence of `day` (before the tricks) and, for the established reactors, of the pass
    before it. Without profiles on the network (the Higgs week) there are no buyers."""
    wh = Warehouse(spark, cfg)
    on_network = F.col("network") == network
    influence = wh[tables.ACCOUNT_INFLUENCE].required_partition(day, "graph").where(on_network)
    top = influence.orderBy(F.desc("influence"), "account_id").first()
    if top is None:
        raise InputError(f"no {network} influence on {day} to pick the cast from")
    celebrity = top["account_id"]
    median_up = _at_or_above_median(influence)
    profiled = wh[tables.PROFILES_LATEST].read_or_empty().where(on_network).select(F.col("user_id").alias("account_id"))
    buyers = _first(median_up, [celebrity], 2, among=profiled)
    ordinary = _first(median_up, [celebrity, *buyers], 1)[0]
    # two targets alike: consecutive by influence, each a person alone (no identity link), so that their scores
    # before the tricks are (nearly) the same
    linked = wh[tables.IDENTITIES].read_or_empty().where(on_network).select(F.col("user_id").alias("account_id"))
    alone = influence.select("account_id").join(linked, "account_id", "left_anti")
    sybil_target, real_target = _first(median_up, [celebrity, *buyers, ordinary], 2, among=alone)
    earlier = wh[tables.ACCOUNT_INFLUENCE].latest_before(day)
    if earlier is None:
        raise InputError(f"no graph pass before {day}: the established accounts of the sybil experiment come from it")
    cast = [celebrity, *buyers, ordinary, sybil_target, real_target]
    reactors = _first(_at_or_above_median(earlier.where(on_network)), cast, SYBILS)
    if len(reactors) < SYBILS:
        raise InputError(f"fewer than {SYBILS} {network} accounts before {day} for the sybil experiment")
    buyer, unflagged = (buyers[0], buyers[1]) if len(buyers) == 2 else (None, None)
    return Cast(network, celebrity, ordinary, buyer, unflagged, sybil_target, real_target, tuple(reactors))


def _at_or_above_median(influence: DataFrame) -> DataFrame:
    """The accounts of `influence` at or above its median influence (the median found by one aggregate)."""
    mid = influence.agg(F.percentile_approx("influence", 0.5, 10_000)).first()
    assert mid is not None  # a global aggregate: always exactly one row
    return influence.where(F.col("influence") >= mid[0])


def _first(accounts: DataFrame, skip: list[str], n: int, among: DataFrame | None = None) -> list[str]:
    """The first `n` of `accounts` (fewer if there are not as many) by influence then id, other than `skip` and,
    given `among` (account_id), among those."""
    kept = accounts.where(~F.col("account_id").isin(skip))
    if among is not None:
        kept = kept.join(among, "account_id", "inner")
    return [r["account_id"] for r in kept.orderBy("influence", "account_id").limit(n).collect()]


def trick_events(spark: SparkSession, cfg: Config, day: dt.date, cast: Cast) -> DataFrame:
    """Every planted reaction of `day` in the canonical interactions input format (strings)."""
    wh = Warehouse(spark, cfg)
    noon = f"{day.isoformat()}T12:00:00Z"
    ring = [(a, b, i) for a in ring_accounts() for b in ring_accounts() if a != b for i in range(RING_REPEATS)]
    pairs = [("retweet", a, b, i) for a, b, i in ring] + [
        ("retweet", cast.celebrity, UNKNOWN, 0),
        ("retweet", cast.ordinary, CONTROL, 0),
        *[("retweet", a, cast.sybil_target, 0) for a in sybil_accounts()],
        *[("retweet", a, cast.real_target, 0) for a in cast.real_reactors],
    ]
    planted = spark.createDataFrame(pairs, "action string, actor_id string, target_id string, i int")
    skip = cast.accounts()
    liked = (
        wh[tables.INTERACTIONS]
        .read()
        .where(
            (F.col("event_date") == F.lit(day)) & (F.col("network") == cast.network) & ~F.col("target_id").isin(skip)
        )
        .select("target_id")
        .distinct()
        .select(F.lit("like").alias("action"), F.lit(LIKER).alias("actor_id"), "target_id", F.lit(0).alias("i"))
    )
    events = planted.unionByName(liked)
    return events.select(
        F.lit(cast.network).alias("network"),
        "actor_id",
        "target_id",
        "action",
        F.lit(noon).alias("ts"),
        F.concat(F.lit(f"{PREFIX}post:"), "target_id").alias("content_id"),
        F.lit("text").alias("content_type"),
        F.concat_ws(
            ":", F.lit(f"{PREFIX}{day.isoformat()}"), "action", "actor_id", "target_id", F.col("i").cast("string")
        ).alias("event_id"),
    ).select(*INTERACTION_COLUMNS)


def bought_profile(spark: SparkSession, cfg: Config, day: dt.date, cast: Cast) -> DataFrame:
    """The buyers' latest profiles as snapshots of `day` with `BOUGHT_FOLLOWERS` more followers each; the flagged
    buyer's spam_follower_share counts them as spam."""
    wh = Warehouse(spark, cfg)
    buyers = [a for a in (cast.buyer, cast.unflagged) if a is not None]
    latest = wh[tables.PROFILES_LATEST].read().where((F.col("network") == cast.network) & F.col("user_id").isin(buyers))
    followers = F.col("followers") + BOUGHT_FOLLOWERS
    flagged = F.col("user_id") == F.lit(cast.buyer)
    # shares of the new total: the bought followers join the spam ones, the inactive ones stay as many
    spam = (F.coalesce("spam_follower_share", F.lit(0.0)) * F.col("followers") + BOUGHT_FOLLOWERS) / followers
    inactive = F.col("inactive_follower_share") * F.col("followers") / followers
    return (
        latest.withColumn("spam_follower_share", F.when(flagged, spam).otherwise(F.col("spam_follower_share")))
        .withColumn("inactive_follower_share", F.when(flagged, inactive).otherwise(F.col("inactive_follower_share")))
        .withColumn("followers", followers)
        .withColumn("snapshot_date", F.lit(day))
        .select(*PROFILE_COLUMNS)
    )


def plant(spark: SparkSession, cfg: Config, day: dt.date, cast: Cast, scratch: str) -> None:
    """Write the tricks as input files under `scratch` (a folder or a URI) and ingest them like any source."""
    trick_events(spark, cfg, day, cast).write.mode("overwrite").parquet(joined(scratch, "interactions"))
    if cast.buyer is not None:
        bought_profile(spark, cfg, day, cast).write.mode("overwrite").parquet(joined(scratch, "profiles"))
        ingest(spark, cfg, joined(scratch, "profiles"), "parquet", "profiles")
    ingest(spark, cfg, joined(scratch, "interactions"), "parquet", "interactions")
