"""Reactions of the synthetic world, drawn from the hidden influence and activity by slot sampling in Spark.

Honest reactions: event e of `spark.range(days * interactions_per_day)` gets its day and network from its index
(networks split each day by activity_share). Its reactor is a uniform slot of the network's reactor table,
where each account holds slots in proportion to its activity; the reactor's community is kept with
community_affinity, else another community is drawn uniformly; its target is a uniform slot of that
(network, community) target table, where each honest account holds slots in proportion to its influence
(elite reactors draw from the elite-only tier with elite_affinity). Both picks are equi-joins on
(cell, slot), so the work is two shuffles whatever the size. Self-reactions are dropped.

Bot rings: each bot gives ring_reactions_per_bot_per_day reactions a day to uniformly drawn ring mates on the
ring's network, in an hour-long burst; ids are pure functions of the person index, so this needs no join.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from klout.synth.draws import pick, slot_table
from klout.synth.population import DAY_MICROS, Plan

INTERACTION_OUTPUT = ("network", "actor_id", "target_id", "action", "ts", "content_id", "content_type")


def _network_of_index(plan: Plan, r: Column) -> Column:
    """Split each day's `interactions_per_day` events into contiguous per-network runs by activity_share."""
    s = plan.cfg
    shares = [(n, s.networks[n].activity_share) for n in plan.networks]
    total = sum(w for _, w in shares)
    expr, acc = None, 0.0
    for n, w in shares[:-1]:
        acc += w
        bound = F.lit(int(round(s.interactions_per_day * acc / total)))
        expr = F.when(r < bound, F.lit(n)) if expr is None else expr.when(r < bound, F.lit(n))
    last = F.lit(shares[-1][0])
    return last if expr is None else expr.otherwise(last)


def honest(spark: SparkSession, plan: Plan, accounts_df: DataFrame) -> DataFrame:
    """Honest reactions: reactor by activity, target by influence within the chosen community (see module doc)."""
    s, d = plan.cfg, plan.draws
    reactors = accounts_df.select("network", "p", "user_id", "community", "elite", "activity")
    r_slots, r_cells = slot_table(
        d, reactors, ["network"], "activity", ["p"], s.slot_resolution, plan.buckets, "reactor_slots"
    )
    honest_accounts = accounts_df.where(~F.col("is_bot")).select(
        "network", "community", "p", "user_id", "influence", "elite"
    )
    targets = honest_accounts.withColumn("tier", F.lit(0)).unionByName(
        honest_accounts.where("elite").withColumn("tier", F.lit(1))
    )
    t_slots, t_cells = slot_table(
        d,
        targets,
        ["network", "community", "tier"],
        "influence",
        ["p"],
        s.slot_resolution,
        plan.buckets,
        "target_slots",
    )
    t_totals = t_cells.groupBy("network", "community").agg(
        F.sum(F.when(F.col("tier") == 0, F.col("slots"))).alias("slots0"),
        F.sum(F.when(F.col("tier") == 1, F.col("slots"))).alias("slots1"),
    )

    eid = F.col("eid")
    c = s.communities
    own = F.col("actor_community")
    other = F.pmod(own + 1 + F.floor(d.uniform("other_community", eid) * (c - 1)).cast("int"), F.lit(c))
    wants_elite = (
        F.col("actor_elite") & (d.uniform("elite", eid) < F.lit(s.elite_affinity)) & F.col("slots1").isNotNull()
    )

    events = (
        spark.range(0, s.days * s.interactions_per_day, numPartitions=plan.partitions)
        .select(F.col("id").alias("eid"))
        .select(
            "eid",
            (eid / F.lit(s.interactions_per_day)).cast("int").alias("day"),
            _network_of_index(plan, F.pmod(eid, F.lit(s.interactions_per_day))).alias("network"),
        )
    )
    events = (
        events.join(F.broadcast(r_cells), "network")
        .select("eid", "day", "network", F.floor(d.uniform("reactor", eid) * F.col("slots")).cast("long").alias("slot"))
        .join(
            r_slots.select(
                "network",
                "slot",
                F.col("p").alias("actor_p"),
                F.col("user_id").alias("actor_id"),
                F.col("community").alias("actor_community"),
                F.col("elite").alias("actor_elite"),
            ),
            ["network", "slot"],
        )
        .select(
            "eid",
            "day",
            "network",
            "actor_p",
            "actor_id",
            "actor_elite",
            F.when((d.uniform("affinity", eid) < F.lit(s.community_affinity)) | F.lit(c == 1), own)
            .otherwise(other)
            .alias("community"),
        )
        .join(F.broadcast(t_totals), ["network", "community"])
        .select(
            "eid",
            "day",
            "network",
            "community",
            "actor_p",
            "actor_id",
            F.when(wants_elite, F.lit(1)).otherwise(F.lit(0)).alias("tier"),
            F.floor(d.uniform("target", eid) * F.when(wants_elite, F.col("slots1")).otherwise(F.col("slots0")))
            .cast("long")
            .alias("slot"),
        )
        .join(
            t_slots.select(
                "network",
                "community",
                "tier",
                "slot",
                F.col("p").alias("target_p"),
                F.col("user_id").alias("target_id"),
            ),
            ["network", "community", "tier", "slot"],
        )
        .where(F.col("actor_p") != F.col("target_p"))
    )
    return events.select(
        "eid",
        F.lit("honest").alias("kind"),
        "day",
        "network",
        "actor_id",
        "target_id",
        (d.uniform("time_of_day", eid) * DAY_MICROS).cast("long").alias("tod"),
    )


def ring(spark: SparkSession, plan: Plan) -> DataFrame | None:
    """Bot-ring reactions: every bot reacts ring_reactions_per_bot_per_day times a day to its ring mates (None: no
    bots)."""
    s, d = plan.cfg, plan.draws
    per_bot = s.days * s.ring_reactions_per_bot_per_day
    if plan.n_bots == 0 or per_bot == 0:
        return None
    eid = F.col("eid")
    b = (eid / F.lit(per_bot)).cast("long")  # bot number among bots
    day = (F.pmod(eid, F.lit(per_bot)) / F.lit(s.ring_reactions_per_bot_per_day)).cast("int")
    ring_no = (b / F.lit(s.ring_size)).cast("long")
    pos = F.pmod(b, F.lit(s.ring_size))
    mate = F.pmod(pos + 1 + F.floor(d.uniform("ring_mate", eid) * (s.ring_size - 1)).cast("long"), F.lit(s.ring_size))
    burst = F.floor(d.uniform("ring_burst", F.col("ring"), F.col("day")) * (23 * 3600 * 1_000_000))
    return (
        spark.range(0, plan.n_bots * per_bot, numPartitions=plan.partitions)
        .select(F.col("id").alias("eid"))
        .select("eid", ring_no.alias("ring"), day.alias("day"))
        .withColumn("network", plan.ring_network(F.col("ring")))
        .select(
            "eid",
            F.lit("ring").alias("kind"),
            "day",
            "network",
            plan.user_id(F.col("network"), F.lit(plan.first_bot) + b).alias("actor_id"),
            plan.user_id(F.col("network"), F.lit(plan.first_bot) + ring_no * s.ring_size + mate).alias("target_id"),
            (burst + F.floor(d.uniform("ring_time", eid) * 3600 * 1_000_000)).cast("long").alias("tod"),
        )
    )


def finish(events: DataFrame, plan: Plan) -> DataFrame:
    """Action, timestamp, content id and content type of each event, as the canonical interaction columns.

    The content is one of the target's posts that day (1 to about 2 * posts_per_day of them); its type is a
    hash of the content id, so every reaction to one post agrees on it.
    """
    s, d = plan.cfg, plan.draws
    key = (F.col("kind"), F.col("eid"))
    u_action = d.uniform("action", *key)
    action: Column | None = None
    for n in plan.networks:
        choice = pick(u_action, s.networks[n].actions, f"synth.networks.{n}.actions")
        action = F.when(F.col("network") == n, choice) if action is None else action.when(F.col("network") == n, choice)
    assert action is not None  # Plan.of refuses a config without networks
    n_posts = F.greatest(
        F.lit(1), F.floor(d.uniform("posts", "network", "target_id", "day") * (2 * s.posts_per_day) + 0.5).cast("long")
    )
    post_no = F.floor(d.uniform("post", *key) * n_posts).cast("long")
    content_id = F.concat_ws(
        "_", F.col("target_id"), F.date_format(plan.date(F.col("day")), "yyyyMMdd"), post_no.cast("string")
    )
    ts = F.timestamp_micros(F.lit(plan.start_micros) + F.col("day").cast("long") * DAY_MICROS + F.col("tod"))
    return events.select(
        "network", "actor_id", "target_id", action.alias("action"), ts.alias("ts"), content_id.alias("content_id")
    ).withColumn("content_type", pick(d.uniform("content_type", "content_id"), s.content_types, "synth.content_types"))
