"""Why a person has their score: top networks, actions and reactors, and what moved since the day before.

Each is a column over the person's row (`klout.score.formula.persons`): bounded arrays (a person has few networks,
few actions and at most `graph.top_reactors` reactors per account) sorted within the row, never by sorting everyone."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from klout import schemas
from klout.config import Config
from klout.score.formula import network_share
from klout.weights import exact_total


def explanations(people: DataFrame, cfg: Config) -> DataFrame:
    """gold/score_explanations' rows without the date, from the scored rows of `klout.score.run.score_tables`
    (score, previous_score, raw, networks with their scores, network_scores, previous_networks, weighted_<action>,
    reactors)."""
    k = cfg.score.explain_top
    why = people.select(
        "person_id",
        "score",
        "previous_score",
        top_networks(F.col("networks"), F.col("raw"), k, cfg).alias("top_networks"),
        top_actions(cfg, k).alias("top_actions"),
        top_reactors(F.col("reactors"), cfg.graph.top_reactors).alias("top_reactors"),
        network_changes(F.col("network_scores"), F.col("previous_networks")).alias("network_changes"),
    )
    parts = [F.col(c) for c in ("score", "previous_score", "top_networks", "top_actions", "top_reactors")]
    return why.withColumn("summary", summary(*parts)).select(
        *[c for c in schemas.SCORE_EXPLANATIONS.fieldNames() if c != "date"]
    )


def _top(items: Column, k: int, fields: list[str]) -> Column:
    """The k largest structs of `items` (compared field by field, so ties fall to the later fields), as `fields`."""
    ordered = F.sort_array(items, asc=False)
    return F.transform(F.slice(ordered, 1, k), lambda s: F.struct(*[s[f].alias(f) for f in fields]))


def top_networks(networks: Column, raw: Column, k: int, cfg: Config) -> Column:
    """The k strongest of the person's [(value, network, score)], with each one's share of the raw score."""
    with_share = F.transform(
        networks,
        lambda n: F.struct(
            *[n[f].alias(f) for f in ("value", "network", "score")],
            network_share(n["value"], raw, cfg).alias("share"),
        ),
    )
    return _top(with_share, k, ["network", "score", "share"])


def top_actions(cfg: Config, k: int) -> Column:
    """The person's weighted reactions per action (columns `weighted_<action>`), the k largest, with shares."""
    each = F.array(*[F.struct(F.col(f"weighted_{a}").alias("weight"), F.lit(a).alias("action")) for a in cfg.actions])
    given = F.filter(each, lambda s: s["weight"] > 0)
    total = exact_total(given, lambda s: s["weight"])
    return F.transform(
        _top(given, k, ["action", "weight"]),
        lambda s: F.struct(
            s["action"].alias("action"), s["weight"].alias("weight"), (s["weight"] / total).alias("share")
        ),
    )


def top_reactors(reactors: Column, k: int) -> Column:
    """The k largest of the person's [(contribution × network weight, network, reactor_id)]."""
    return _top(reactors, k, ["network", "reactor_id", "contribution"])


def network_changes(today: Column, previous: Column) -> Column:
    """Each network's score today (map `today`) against the previous published day's (map `previous`, null when
    none), the largest absolute change first."""
    before = F.coalesce(previous, F.create_map().cast("map<string,double>"))
    keys = F.array_union(F.map_keys(today), F.map_keys(before))

    def change(network: Column) -> Column:
        b, a = F.try_element_at(before, network), F.try_element_at(today, network)
        delta = F.coalesce(a, F.lit(0.0)) - F.coalesce(b, F.lit(0.0))
        return F.struct(
            F.abs(delta).alias("_abs"),
            network.alias("network"),
            b.alias("before"),
            a.alias("after"),
            delta.alias("delta"),
        )

    return F.transform(
        F.sort_array(F.transform(keys, change), asc=False),
        lambda s: F.struct(*[s[f].alias(f) for f in ("network", "before", "after", "delta")]),
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
