"""People, their accounts, identity links and profile snapshots of the synthetic world.

Each person is a row of `spark.range(people)` whose attributes (community, hidden influence, activity, bot ring)
are hashes of the person index, so the population is generated in parallel and identically on any cluster.
Accounts are exploded from per-network coin flips; profiles are two snapshots per account whose counters
follow the hidden influence with noise, so scoring has something to find and something to be fooled by.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from klout.config import Config, SynthConfig
from klout.errors import ConfigError
from klout.synth.draws import Draws, pareto_quantile, pick

# Accounts per slot-numbering bucket: above this many people the sampling tables are numbered in parallel buckets.
PEOPLE_PER_BUCKET = 250_000
# Networks whose profiles report list memberships / a verified badge / a job title; others leave them null.
REPORTS_LISTS = frozenset({"twitter"})
REPORTS_VERIFIED = frozenset({"twitter", "facebook", "instagram", "youtube"})
REPORTS_TITLE = frozenset({"linkedin"})
TITLES = ("intern", "engineer", "manager", "director", "vp", "cxo")
DAY_MICROS = 86_400_000_000


@dataclass(frozen=True)
class Plan:
    """The derived constants of one world: sizes, index ranges and lookups computed once on the driver."""

    cfg: SynthConfig
    draws: Draws
    partitions: int | None
    networks: tuple[str, ...]
    n_bots: int
    first_bot: int
    n_rings: int
    n_celebrities: int
    elite_threshold: float
    buckets: int
    start_micros: int

    @staticmethod
    def of(spark: SparkSession, config: Config) -> Plan:
        s = config.synth
        if not s.networks:
            raise ConfigError("synth.networks: needs at least one network")
        n_rings = int(round(s.people * s.bot_share / s.ring_size))
        n_bots = min(n_rings * s.ring_size, s.people - 1)
        n_rings = n_bots // s.ring_size
        n_bots = n_rings * s.ring_size
        start = dt.datetime.combine(s.start_date, dt.time(), tzinfo=dt.timezone.utc)
        return Plan(
            cfg=s,
            draws=Draws(s.seed),
            partitions=s.partitions or None,  # None: spark.range's own default, the cluster's parallelism
            networks=tuple(s.networks),
            n_bots=n_bots,
            first_bot=s.people - n_bots,
            n_rings=n_rings,
            n_celebrities=min(s.celebrities, s.people - n_bots),
            elite_threshold=pareto_quantile(s.influence_alpha, s.elite_share),
            buckets=1 + s.people // PEOPLE_PER_BUCKET,
            start_micros=int(start.timestamp()) * 1_000_000,
        )

    def user_id(self, network: Column, p: Column) -> Column:
        """Network-local account id of person `p`: the network's two-letter prefix and 16 hex digits of a hash."""
        digits = F.lower(F.lpad(F.hex(self.draws.hash("user_id", network, p)), 16, "0"))
        return F.concat(F.substring(network, 1, 2), F.lit("_"), digits)

    def ring_network(self, ring: Column) -> Column:
        """The network a bot ring operates on, drawn by activity share."""
        shares = {n: c.activity_share for n, c in self.cfg.networks.items()}
        return pick(self.draws.uniform("ring_network", ring), shares, "synth.networks.*.activity_share")

    def ring_community(self, ring: Column) -> Column:
        return F.floor(self.draws.uniform("ring_community", ring) * self.cfg.communities).cast("int")

    def date(self, day: Column | int) -> Column:
        """The calendar date of day number `day` (0 = start_date)."""
        return F.date_add(F.lit(self.cfg.start_date), day if isinstance(day, Column) else F.lit(day))


def people(spark: SparkSession, plan: Plan) -> DataFrame:
    """One row per person: index p, person_id, community, bot ring, celebrity flag, hidden influence, activity."""
    s, d = plan.cfg, plan.draws
    p = F.col("p")
    is_bot = p >= F.lit(plan.first_bot)
    ring = F.when(is_bot, F.floor((p - plan.first_bot) / s.ring_size).cast("long"))
    base = d.pareto("influence", s.influence_alpha, p)
    is_celebrity = p < F.lit(plan.n_celebrities)
    influence = F.when(is_bot, F.lit(0.0)).when(is_celebrity, base * s.celebrity_boost).otherwise(base)
    # Bots react to honest people at the minimum activity (camouflage); their bulk reactions go to the ring.
    activity = F.when(is_bot, F.lit(1.0)).otherwise(d.pareto("activity", s.activity_alpha, p))
    community = F.when(is_bot, plan.ring_community(F.col("ring"))).otherwise(
        F.floor(d.uniform("community", p) * s.communities).cast("int")
    )
    return (
        spark.range(0, s.people, numPartitions=plan.partitions)
        .withColumnRenamed("id", "p")
        .withColumns(
            {
                "is_bot": is_bot,
                "ring": ring,
                "is_celebrity": is_celebrity,
                "influence": influence,
                "activity": activity,
                "elite": ~is_bot & (is_celebrity | (base >= F.lit(plan.elite_threshold))),
                "person_id": F.format_string("p%07d", p),
            }
        )
        .withColumn("community", community)
    )


def accounts(people_df: DataFrame, plan: Plan) -> DataFrame:
    """One row per (person, network) account; people with two or more accounts link them with link_probability.

    A person has an account on a network with that network's account_probability; a bot always has one on its
    ring's network; someone who drew none gets one on the most likely network, so nobody is invisible.
    """
    s, d = plan.cfg, plan.draws
    p = F.col("p")
    ring_net = plan.ring_network(F.col("ring"))
    fallback = max(plan.networks, key=lambda n: (s.networks[n].account_probability, n))
    flags = {
        n: (d.uniform("account", F.lit(n), p) < F.lit(s.networks[n].account_probability))
        | (F.col("is_bot") & (ring_net == F.lit(n)))
        for n in plan.networks
    }
    none = ~functools.reduce(operator.or_, flags.values())
    nets = F.filter(
        F.array(*[F.when(flags[n] | (none & F.lit(n == fallback)), F.lit(n)) for n in plan.networks]),
        lambda x: x.isNotNull(),
    )
    linked = (F.size(nets) >= 2) & (d.uniform("link", p) < F.lit(s.link_probability))
    return people_df.select("*", linked.alias("linked"), F.explode(nets).alias("network")).withColumn(
        "user_id", plan.user_id(F.col("network"), p)
    )


def identities(accounts_df: DataFrame) -> DataFrame:
    """The identity links a data source would give: every account of each person who linked theirs."""
    return accounts_df.where("linked").select("person_id", "network", "user_id")


def profiles(accounts_df: DataFrame, plan: Plan) -> DataFrame:
    """Two profile snapshots per account (start_date and the last day), with the canonical profile columns.

    Followers are followers_per_influence * influence * lognormal noise, growing a little between snapshots;
    bots add bought followers (mostly spam). Fields a network does not report are null.
    """
    s, d = plan.cfg, plan.draws
    key = (F.col("network"), F.col("p"))
    net, bot = F.col("network"), F.col("is_bot")
    last_day = max(s.days - 1, 1)
    snap_day = F.col("snap") * F.lit(last_day)

    sigma = s.follower_sigma
    noise = F.exp(d.normal("followers", *key) * sigma - sigma * sigma / 2)
    organic = F.lit(s.followers_per_influence) * noise * F.when(bot, F.lit(0.5)).otherwise(F.col("influence"))
    growth = F.lit(1.0) + d.uniform("growth", *key) * 0.002 * snap_day
    bought = F.when(bot, F.lit(s.bought_followers)).otherwise(F.lit(0))
    followers = F.round(organic * growth).cast("long") + bought

    following = F.when(bot, F.lit(2000.0) + d.uniform("following", *key) * 3000.0).otherwise(
        F.exp(F.lit(5.0) + d.normal("following", *key))
    )
    age_days = F.when(bot, F.lit(5.0) + d.uniform("age", *key) * 120.0).otherwise(
        F.lit(30.0) + d.uniform("age", *key) * 3600.0
    )
    created_micros = F.lit(plan.start_micros) - (age_days * DAY_MICROS).cast("long")
    posts_rate = F.lit(s.posts_per_day) * F.when(bot, F.lit(3.0)).otherwise(F.lit(0.5) + d.uniform("posts", *key))
    posts = F.round(posts_rate * (age_days + snap_day)).cast("long")

    verified = F.when(
        net.isin(*REPORTS_VERIFIED), F.col("is_celebrity") | (F.col("elite") & (d.uniform("verified", *key) < 0.5))
    )
    level = (
        F.when(F.col("is_celebrity"), F.lit(len(TITLES) - 1))
        .when(bot, F.floor(d.uniform("title", *key) * 2))
        .otherwise(F.floor(F.log(F.col("influence")) + d.uniform("title", *key) * 1.5))
    )
    level = F.least(F.greatest(level.cast("int"), F.lit(0)), F.lit(len(TITLES) - 1))
    title = F.when(net.isin(*REPORTS_TITLE), F.element_at(F.array(*map(F.lit, TITLES)), level + 1))
    authority = F.when(
        F.col("elite"), F.round(F.log1p(F.col("influence")) * F.exp(d.normal("authority", F.col("p")) * 0.3), 4)
    )
    spam_share = F.when(bot, (bought + F.lit(0.05) * organic) / F.greatest(followers, F.lit(1))).otherwise(
        F.lit(0.01) + d.uniform("spam", *key) * 0.04
    )
    inactive_share = F.when(bot, F.lit(0.3) + d.uniform("inactive", *key) * 0.4).otherwise(
        F.lit(0.05) + d.uniform("inactive", *key) * 0.15
    )

    return accounts_df.withColumn("snap", F.explode(F.array(F.lit(0), F.lit(1)))).select(
        "network",
        "user_id",
        plan.date(snap_day).alias("snapshot_date"),
        followers.alias("followers"),
        F.round(following).cast("long").alias("following"),
        F.when(
            net.isin(*REPORTS_LISTS), F.round(followers * 0.005 * (F.lit(0.5) + d.uniform("lists", *key))).cast("long")
        ).alias("lists"),
        posts.alias("posts"),
        verified.alias("verified"),
        F.timestamp_micros(created_micros).alias("created_at"),
        title.alias("title_seniority"),
        authority.cast("double").alias("external_authority"),
        F.least(spam_share, F.lit(1.0)).cast("double").alias("spam_follower_share"),
        inactive_share.cast("double").alias("inactive_follower_share"),
    )


def truth_people(people_df: DataFrame) -> DataFrame:
    """Ground truth per person, for validating that scores recover the hidden influence and catch the bots."""
    return people_df.select(
        "person_id", "influence", "is_bot", "is_celebrity", "community", F.col("ring").alias("ring_id")
    )


def truth_accounts(accounts_df: DataFrame) -> DataFrame:
    """Ground truth per account: which person owns it (linked or not)."""
    return accounts_df.select("network", "user_id", "person_id")
