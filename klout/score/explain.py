"""Why a person has their score: top networks, actions and reactors, and what moved since the day before.

All lists are built per person with bounded arrays (a person has few networks, few actions and at most
`graph.top_reactors` reactors per account), never by sorting everyone."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.weights import EXACT, exact_sum, where_weight


def _top(items: Column, key: str, k: int, fields: list[str]) -> Column:
    """The k structs of `items` with the largest `key` (ties: by the other fields, descending), as `fields`."""
    ordered = F.sort_array(items, asc=False)
    return F.transform(F.slice(ordered, 1, k), lambda s: F.struct(*[s[f].alias(f) for f in fields]))


def top_networks(networks: DataFrame, k: int, share: Column) -> DataFrame:
    """(person_id, top_networks) from (person_id, network, value, score, raw); `share` is a network's share."""
    return (
        networks.groupBy("person_id")
        .agg(
            F.collect_list(F.struct(F.col("value"), F.col("network"), F.col("score"), share.alias("share"))).alias("_n")
        )
        .select("person_id", _top(F.col("_n"), "value", k, ["network", "score", "share"]).alias("top_networks"))
    )


def top_actions(accounts: DataFrame, features: DataFrame, cfg: Config, k: int) -> DataFrame:
    """(person_id, top_actions): the person's weighted reactions per action, largest first, with shares."""
    per_action = F.explode(
        F.array(*[F.struct(F.lit(a).alias("action"), F.col(f"weighted_{a}").alias("weight")) for a in cfg.actions])
    )
    rows = (
        accounts.select("person_id", "network", "account_id")
        .join(features, ["network", "account_id"])
        .select("person_id", per_action.alias("a"))
        .groupBy("person_id", F.col("a.action").alias("action"))
        .agg(exact_sum("a.weight").alias("weight"))
        .where(F.col("weight") > 0)
    )
    # exact: collect_list's order follows the shuffle, and a sum of doubles in that order would not be reproducible
    total = F.aggregate(
        F.col("_a"), F.lit(0).cast(EXACT), lambda acc, s: (acc + s["weight"].cast(EXACT)).cast(EXACT)
    ).cast("double")
    return (
        rows.groupBy("person_id")
        .agg(F.collect_list(F.struct("weight", "action")).alias("_a"))
        .select(
            "person_id",
            F.transform(
                _top(F.col("_a"), "weight", k, ["action", "weight"]),
                lambda s: F.struct(
                    s["action"].alias("action"), s["weight"].alias("weight"), (s["weight"] / total).alias("share")
                ),
            ).alias("top_actions"),
        )
    )


def top_reactors(accounts: DataFrame, cfg: Config, k: int) -> DataFrame:
    """(person_id, top_reactors) from the accounts' top reactors, each contribution times the network weight."""
    each = accounts.select("person_id", "network", F.explode("top_reactors").alias("r")).select(
        "person_id",
        (F.col("r.contribution") * where_weight(cfg)).alias("contribution"),
        "network",
        F.col("r.reactor_id").alias("reactor_id"),
    )
    return (
        each.groupBy("person_id")
        .agg(F.collect_list(F.struct("contribution", "network", "reactor_id")).alias("_r"))
        .select(
            "person_id",
            _top(F.col("_r"), "contribution", k, ["network", "reactor_id", "contribution"]).alias("top_reactors"),
        )
    )


def network_changes(today: DataFrame, previous: DataFrame | None) -> DataFrame:
    """(person_id, network_changes): each network's score today against the previous published day, the largest
    absolute change first. `today` and `previous` hold (person_id, network, score)."""
    now = today.select("person_id", "network", F.col("score").alias("after"))
    if previous is None:
        both = now.withColumn("before", F.lit(None).cast("double"))
    else:
        both = now.join(
            previous.select("person_id", "network", F.col("score").alias("before")), ["person_id", "network"], "full"
        )
    delta = F.coalesce("after", F.lit(0.0)) - F.coalesce("before", F.lit(0.0))
    return (
        both.groupBy("person_id")
        .agg(
            F.collect_list(
                F.struct(
                    F.abs(delta).alias("_abs"), F.col("network"), F.col("before"), F.col("after"), delta.alias("delta")
                )
            ).alias("_c")
        )
        .select(
            "person_id",
            F.transform(
                F.sort_array("_c", asc=False),
                lambda s: F.struct(*[s[f].alias(f) for f in ("network", "before", "after", "delta")]),
            ).alias("network_changes"),
        )
    )


def summary(score: Column, previous: Column, networks: Column, actions: Column, reactors: Column) -> Column:
    """One sentence: the score and its change, the strongest network, action and reactor."""
    change = F.when(previous.isNull(), F.lit("first score")).otherwise(
        F.format_string("%+.2f since the previous score", score - previous)
    )
    net = F.when(
        F.size(networks) > 0,
        F.format_string("; strongest network %s (%.0f%% of it)", networks[0]["network"], networks[0]["share"] * 100),
    ).otherwise("")
    act = F.when(
        F.size(actions) > 0,
        F.format_string("; most weight from %s (%.0f%%)", actions[0]["action"], actions[0]["share"] * 100),
    ).otherwise("")
    who = F.when(
        F.size(reactors) > 0, F.format_string("; top reactor %s:%s", reactors[0]["network"], reactors[0]["reactor_id"])
    ).otherwise("")
    return F.concat(F.format_string("score %.2f (", score), change, F.lit(")"), net, act, who)
