"""Trust: how much of its influence a reactor may pass on, from evidence that it is a real account.

    trust(r) = floor + (1 − floor) × min(1, history + received + profile)
    history  = (reacting days in the window − 1) / history_days
    received = weighted reactions received in the window / received_weight
    profile  = (prior − 1) / profile                  (what its profile facts add to a bare account's prior)

An account first seen today, reacting once, with nothing received and no profile facts passes on only `floor` of
what an established account would: thirty fresh accounts created to react once each (sybils) lift their target
far less than thirty real ones. Received reactions count after anti-gaming, so a ring's mutual reactions earn
little trust. Keys are `graph.trust.*` in conf/default.yaml."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.graph.prior import prior


def trust(cfg: Config) -> Column:
    """trust over a gold/features row: in [floor, 1]."""
    t = cfg.graph.trust
    history = F.greatest(F.col("reacting_days") - F.lit(1.0), F.lit(0.0)) / F.lit(float(t.history_days))
    received = F.col("weighted_reactions") / F.lit(float(t.received_weight))
    profile = (prior(cfg) - F.lit(1.0)) / F.lit(float(t.profile))
    evidence = F.least(F.lit(1.0), history + received + profile)
    return F.lit(float(t.floor)) + F.lit(1.0 - float(t.floor)) * evidence


def with_trust(edges: DataFrame, features: DataFrame, cfg: Config) -> DataFrame:
    """`edges` (network, actor_id, …) plus their reactor's `trust`; a reactor without a features row has no
    evidence: `floor`. Built as a hash join on the reactor, so edges already partitioned by reactor
    (`klout.graph.iterate.persist_edges`) are not shuffled again."""
    reactors = features.select("network", F.col("account_id").alias("actor_id"), trust(cfg).alias("trust"))
    return edges.join(reactors.hint("shuffle_hash"), ["network", "actor_id"], "left").withColumn(
        "trust", F.coalesce("trust", F.lit(float(cfg.graph.trust.floor)))
    )
