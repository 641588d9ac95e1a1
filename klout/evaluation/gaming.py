"""Gaming experiments: plant five known tricks in a scored warehouse on one day (`klout.evaluation.tricks`), rerun
that day, and state what each did to the scores involved: a bot ring, bought followers, an account that likes
everything, a celebrity reshare and sybils. The day's unsmoothed `target_score` is compared."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.evaluation.tricks import (
    BOUGHT_FOLLOWERS,
    CONTROL,
    LIKER,
    RING_REPEATS,
    SYBILS,
    UNKNOWN,
    Cast,
    pick_cast,
    plant,
    ring_accounts,
    sybil_accounts,
)
from klout.persons import with_person_id
from klout.pipeline import run_daily
from klout.warehouse import Warehouse


@dataclass(frozen=True)
class Effect:
    """What one experiment did: a sentence for the report and the numbers behind it."""

    experiment: str
    statement: str
    numbers: dict[str, float] = field(default_factory=dict)


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
        return self.persons(*ring_accounts(), *sybil_accounts(), LIKER, UNKNOWN, CONTROL)


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
    if c.buyer is None or c.unflagged is None:
        return Effect("bought followers", f"bought followers: not measured ({net} has no profiles here).")
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


def sybil_effect(d: Day) -> Effect:
    """The lift of SYBILS fresh accounts' retweets against that of as many established accounts' (targets alike)."""
    c, net = d.cast, d.cast.network
    f0, f1 = d.score(d.before, c.sybil_target), d.score(d.after, c.sybil_target)
    r0, r1 = d.score(d.before, c.real_target), d.score(d.after, c.real_target)
    ratio = (f1 - f0) / (r1 - r0) if r1 != r0 else float("nan")
    return Effect(
        "sybils",
        f"sybils: {SYBILS} accounts never seen before, each retweeting {net}:{c.sybil_target} once, moved it from "
        f"{f0:.2f} to {f1:.2f} ({f1 - f0:+.2f}); {SYBILS} established median accounts doing the same for "
        f"{net}:{c.real_target} moved it from {r0:.2f} to {r1:.2f} ({r1 - r0:+.2f}): the fresh accounts lift "
        f"{ratio:.2f} times as much.",
        {"fresh_before": f0, "fresh_after": f1, "real_before": r0, "real_after": r1, "ratio": ratio},
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
        sybil_effect(d),
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
