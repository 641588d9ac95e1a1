"""Gaming experiments: plant four known tricks in a scored warehouse on one day, rerun that day, and state what each
did to the scores involved. The tricks arrive as ordinary input rows through `klout ingest`, so they meet exactly
what real data meets.

- bot ring: `RING_SIZE` new accounts retweet each other `RING_REPEATS` times a day, every ordered pair;
- bought followers: two ordinary accounts' profiles gain `BOUGHT_FOLLOWERS` followers each; for one the network
  reports them as spam followers (its spam_follower_share rises accordingly), for the other it does not notice;
- likes everything: a new account likes every account that received a reaction that day, once each;
- celebrity reshare: the network's most influential account retweets a new, unknown account once; as a control an
  ordinary (median-influence) account retweets another new account once.

The day's unsmoothed `target_score` is compared (the published score is smoothed towards it from the day before).
The four run together; each touches its own accounts (the liker skips the others' accounts), but the score scale
is relative, so everyone's score also moves by the small shift that 13 new accounts make."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.errors import InputError
from klout.ingest.run import ingest
from klout.paths import joined
from klout.persons import with_person_id
from klout.pipeline import run_daily
from klout.schemas import INTERACTION_COLUMNS, PROFILE_COLUMNS
from klout.warehouse import Warehouse

RING_SIZE = 10
RING_REPEATS = 5
BOUGHT_FOLLOWERS = 100_000
PREFIX = "gaming_"


@dataclass(frozen=True)
class Cast:
    """The existing accounts the experiments use (on `network`)."""

    network: str
    celebrity: str  # the most influential account of the day before
    ordinary: str  # a median-influence account: the control resharer
    buyer: str  # the next median-influence account with a profile: buys followers, reported as spam
    unflagged: str  # the one after: buys followers the network does not notice


@dataclass(frozen=True)
class Effect:
    """What one experiment did: a sentence for the report and the numbers behind it."""

    experiment: str
    statement: str
    numbers: dict[str, float] = field(default_factory=dict)


def ring_accounts() -> list[str]:
    return [f"{PREFIX}ring_{i}" for i in range(RING_SIZE)]


LIKER, UNKNOWN, CONTROL = f"{PREFIX}liker", f"{PREFIX}unknown", f"{PREFIX}unknown_control"


def pick_cast(spark: SparkSession, cfg: Config, day: dt.date, network: str) -> Cast:
    """The celebrity and two ordinary accounts, from the influence of `day` (before the tricks)."""
    wh = Warehouse(spark, cfg)
    influence = wh[tables.ACCOUNT_INFLUENCE].required_partition(day, "graph").where(F.col("network") == network)
    top = influence.orderBy(F.desc("influence"), "account_id").first()
    if top is None:
        raise InputError(f"no {network} influence on {day} to pick the cast from")
    celebrity = top["account_id"]
    mid = influence.agg(F.percentile_approx("influence", 0.5, 10_000)).first()
    assert mid is not None  # a global aggregate: always exactly one row
    median = mid[0]
    profiled = (
        wh[tables.PROFILES_LATEST]
        .read()
        .where(F.col("network") == network)
        .select(F.col("user_id").alias("account_id"))
    )
    ordinary = (
        influence.where(F.col("influence") >= median)
        .join(profiled, "account_id")
        .orderBy("influence", "account_id")
        .limit(3)
        .collect()
    )
    return Cast(network, celebrity, *(r["account_id"] for r in ordinary))


def trick_events(spark: SparkSession, cfg: Config, day: dt.date, cast: Cast) -> DataFrame:
    """Every planted reaction of `day` in the canonical interactions input format (strings)."""
    wh = Warehouse(spark, cfg)
    noon = f"{day.isoformat()}T12:00:00Z"
    ring = [(a, b, i) for a in ring_accounts() for b in ring_accounts() if a != b for i in range(RING_REPEATS)]
    pairs = [("retweet", a, b, i) for a, b, i in ring] + [
        ("retweet", cast.celebrity, UNKNOWN, 0),
        ("retweet", cast.ordinary, CONTROL, 0),
    ]
    planted = spark.createDataFrame(pairs, "action string, actor_id string, target_id string, i int")
    skip = [cast.celebrity, cast.ordinary, cast.buyer, cast.unflagged]
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
    latest = (
        wh[tables.PROFILES_LATEST]
        .read()
        .where((F.col("network") == cast.network) & F.col("user_id").isin(cast.buyer, cast.unflagged))
    )
    followers = F.col("followers") + BOUGHT_FOLLOWERS
    flagged = F.col("user_id") == cast.buyer
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
    bought_profile(spark, cfg, day, cast).write.mode("overwrite").parquet(joined(scratch, "profiles"))
    ingest(spark, cfg, joined(scratch, "profiles"), "parquet", "profiles")
    ingest(spark, cfg, joined(scratch, "interactions"), "parquet", "interactions")


@dataclass(frozen=True)
class Day:
    """The rerun day's scores before and after the tricks, and how to find an account's person in them."""

    spark: SparkSession
    cast: Cast
    identities: DataFrame
    before: DataFrame
    after: DataFrame

    def persons(self, *accounts: str) -> DataFrame:
        """(person_id) of the given accounts of the cast's network."""
        frame = self.spark.createDataFrame(
            [(self.cast.network, a) for a in accounts], "network string, account_id string"
        )
        return with_person_id(frame, self.identities, user_id="account_id").select("person_id").distinct()

    def score(self, scores: DataFrame, account: str) -> float:
        """The account's person's target_score in `scores`; every account of the cast is scored, so an unscored one
        is an error."""
        row = self.persons(account).join(scores, "person_id").agg(F.max("target_score")).first()
        assert row is not None  # a global aggregate: always exactly one row
        if row[0] is None:
            raise RuntimeError(f"{self.cast.network}:{account} is not scored in the gaming experiment")
        return row[0]

    def planted(self) -> DataFrame:
        """The persons of every new account the tricks made."""
        return self.persons(*ring_accounts(), LIKER, UNKNOWN, CONTROL)


def bot_ring_effect(d: Day, features: DataFrame) -> Effect:
    """The ring's best score against the median of the other people with at least as many reactions."""
    people = (
        with_person_id(features.select("network", "account_id", "reactions"), d.identities, user_id="account_id")
        .groupBy("person_id")
        .agg(F.sum("reactions").alias("reactions"))
    )
    scored = d.after.join(people, "person_id")
    r = (
        scored.join(d.persons(*ring_accounts()), "person_id")
        .agg(F.max("target_score"), F.min("reactions"), F.count(F.lit(1)))
        .first()
    )
    assert r is not None  # a global aggregate: always exactly one row
    peers = scored.where(F.col("reactions") >= r[1]).join(d.planted(), "person_id", "left_anti")
    p = peers.agg(F.percentile_approx("target_score", 0.5, 10_000), F.count(F.lit(1))).first()
    assert p is not None  # a global aggregate: always exactly one row
    return Effect(
        "bot ring",
        f"bot ring: {r[2]} new accounts retweeting each other {RING_REPEATS} times a day "
        f"({r[1]:.0f} reactions each) score at most {r[0]:.2f}; the {p[1]:,} other people with at least "
        f"as many reactions in the window have a median score of {p[0]:.2f}.",
        {"ring_max": r[0], "reactions": r[1], "peers_median": p[0], "peers": p[1]},
    )


def bought_followers_effect(d: Day) -> Effect:
    c, net = d.cast, d.cast.network
    b0, b1 = d.score(d.before, c.buyer), d.score(d.after, c.buyer)
    u0, u1 = d.score(d.before, c.unflagged), d.score(d.after, c.unflagged)
    return Effect(
        "bought followers",
        f"bought followers: two ordinary accounts bought {BOUGHT_FOLLOWERS:,} "
        f"followers each. Reported as spam followers, they moved {net}:{c.buyer} from {b0:.2f} to "
        f"{b1:.2f} ({b1 - b0:+.2f}): only real followers count. Unnoticed, they moved {net}:{c.unflagged} "
        f"from {u0:.2f} to {u1:.2f} ({u1 - u0:+.2f}) through the profile prior (log-scaled and damped, "
        f"but not nothing).",
        {"before": b0, "after": b1, "unflagged_before": u0, "unflagged_after": u1},
    )


def liker_effect(d: Day, liked_accounts: DataFrame) -> Effect:
    """The liked people's mean change against everyone else's (the scale's shift), and the liker's own score."""
    liked = with_person_id(liked_accounts, d.identities, user_id="account_id").select("person_id").distinct()
    change = (
        d.before.select("person_id", F.col("target_score").alias("_b"))
        .join(d.after.select("person_id", "target_score"), "person_id")
        .join(liked.withColumn("liked", F.lit(True)), "person_id", "left")
        .join(d.planted(), "person_id", "left_anti")
        .groupBy(F.coalesce("liked", F.lit(False)).alias("liked"))
        .agg(F.count(F.lit(1)).alias("n"), F.avg(F.col("target_score") - F.col("_b")).alias("mean"))
    )
    moved = {r["liked"]: r for r in change.collect()}  # two rows
    liker = d.score(d.after, LIKER)
    gain = moved[True]["mean"] - moved[False]["mean"]
    return Effect(
        "likes everything",
        f"likes everything: one account liked {moved[True]['n']:,} accounts once "
        f"each; their scores moved {moved[True]['mean']:+.2f} on average against "
        f"{moved[False]['mean']:+.2f} for the {moved[False]['n']:,} it did not like (the scale's shift), "
        f"so the likes added {gain:+.2f}; the liker itself scores {liker:.2f}: a reactor's likes are "
        f"discounted by its volume.",
        {"liked": moved[True]["n"], "mean_change": moved[True]["mean"], "gain": gain, "liker": liker},
    )


def celebrity_effect(d: Day) -> Effect:
    c = d.cast
    unknown, control = d.score(d.after, UNKNOWN), d.score(d.after, CONTROL)
    celeb, ordinary = d.score(d.before, c.celebrity), d.score(d.before, c.ordinary)
    return Effect(
        "celebrity reshare",
        f"celebrity reshare: one retweet by {c.network}:{c.celebrity} (score "
        f"{celeb:.2f}) lifts an unknown account to {unknown:.2f}; the same retweet by an ordinary account "
        f"(score {ordinary:.2f}) to {control:.2f}: who reacts matters more than how many.",
        {"unknown": unknown, "control": control, "celebrity": celeb, "ordinary": ordinary},
    )


def effects(spark: SparkSession, cfg: Config, day: dt.date, cast: Cast, before: DataFrame) -> list[Effect]:
    """Compare `day`'s scores after the tricks with `before` (the same partition before them)."""
    wh = Warehouse(spark, cfg)
    d = Day(
        spark, cast, wh[tables.IDENTITIES].read_or_empty(), before, wh[tables.SCORES].required_partition(day, "score")
    )
    liked = (
        wh[tables.INTERACTIONS]
        .read()
        .where((F.col("event_date") == F.lit(day)) & (F.col("actor_id") == LIKER) & (F.col("network") == cast.network))
        .select("network", F.col("target_id").alias("account_id"))
    )
    return [
        bot_ring_effect(d, wh[tables.FEATURES].required_partition(day, "features")),
        bought_followers_effect(d),
        liker_effect(d, liked),
        celebrity_effect(d),
    ]


def run_experiments(
    spark: SparkSession, cfg: Config, day: dt.date, scratch: str, network: str = "twitter"
) -> list[Effect]:
    """Plant the tricks into the warehouse of `cfg` (scored through `day`: use a copy), rerun `day` and say what
    each did."""
    wh = Warehouse(spark, cfg)
    cast = pick_cast(spark, cfg, day, network)
    before = wh[tables.SCORES].required_partition(day, "score").localCheckpoint()
    plant(spark, cfg, day, cast, scratch)
    run_daily(spark, cfg, day)
    return effects(spark, cfg, day, cast, before)
