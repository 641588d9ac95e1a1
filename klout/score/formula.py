"""The score hierarchy: account influence → network value → person raw score, and the classic sub-scores.

    value(person, network) = networks.<network> × Σ (from_profile + from_reactions) of the person's accounts there
    raw(person)            = (Σ_network value(person, network) ^ p) ^ (1 / p),   p = score.combine_power

An account counts for what its profile and its reactions add to a bare account's influence (the graph pass's
mean-1 scale), so an account that brings nothing adds nothing. Values are non-negative, so a person's networks
accumulate: connecting another account can only raise the raw score (and so the 1–100 score, a monotone map of
it; `klout.score.scale`). p = 1 adds networks up; a larger p leans towards the strongest network (p = 2: a second
network as strong as the first adds 41 %), so having many accounts is not in itself influence.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.persons import with_person_id
from klout.weights import exact_sum, exact_total, exact_value, where_weight


def accounts_of_persons(influence: DataFrame, identities: DataFrame) -> DataFrame:
    """gold/account_influence rows (without date) plus each account's `person_id` and whether an identity link
    names it (`linked`; an unlinked account is a person alone)."""
    return with_person_id(influence, identities, user_id="account_id", linked="linked")


def persons(accounts: DataFrame, features: DataFrame, cfg: Config) -> DataFrame:
    """One row per person with everything the scores and explanations are made of: `raw`; `networks` [(value,
    network)] by network; the classic sub-scores `true_reach`, `amplification`, `network_impact` (true reach:
    distinct engaged reactors per account, summed; amplification: weighted reactions per post in the window;
    network impact: the engagement-weighted mean influence of the reactors, null without engagement);
    `weighted_<action>` over the accounts with features; `reactors` [(contribution × network weight, network,
    reactor_id)] of every account. Every sum is exact.

    `accounts` come from `accounts_of_persons`: the linked accounts are aggregated by person, an unlinked account
    (most of them) is its person's row as it is, with the same values (a sum of one value is that value), so the
    bulk of the accounts needs no shuffle."""
    actions = [f"weighted_{a}" for a in cfg.actions]
    own = features.select("network", "account_id", "weighted_reactions", "posts", *actions)
    both = accounts.join(own, ["network", "account_id"], "left")
    grouped = both.where(F.col("linked")).groupBy("person_id").agg(*_person_columns(actions, cfg, grouped=True))
    alone = both.where(~F.col("linked")).select("person_id", *_person_columns(actions, cfg, grouped=False))
    people = grouped.unionByName(alone)

    def value(network: Column) -> Column:
        """The person's accounts on `network` (few: within the row), their additions summed, times its weight."""
        there = F.filter("_accounts", lambda a: a["network"] == network)
        return exact_total(there, lambda a: a["added"]) * where_weight(cfg, network)

    names = F.array_sort(F.array_distinct(F.transform("_accounts", lambda a: a["network"])))
    networks = F.transform(names, lambda n: F.struct(value(n).alias("value"), n.alias("network")))
    p = float(cfg.score.combine_power)
    raw = F.pow(exact_total(F.col("networks"), lambda n: F.pow(n["value"], F.lit(p))), F.lit(1.0 / p))
    return people.withColumn("networks", networks).withColumn("raw", raw).drop("_accounts")


def _person_columns(actions: list[str], cfg: Config, grouped: bool) -> list[Column]:
    """A person's columns before `networks` and `raw`: aggregates over its accounts (`grouped`), or the same
    values from the one row of a person with a single account."""
    total = F.sum if grouped else (lambda c: c)
    exact = exact_sum if grouped else exact_value
    listed = F.collect_list if grouped else F.array
    concatenated = (lambda c: F.flatten(F.collect_list(c))) if grouped else (lambda c: c)  # top_reactors: never null
    weighted = lambda r: F.struct(  # noqa: E731
        (r["contribution"] * where_weight(cfg)).alias("contribution"),
        F.col("network"),
        r["reactor_id"].alias("reactor_id"),
    )
    added = F.greatest(F.col("from_profile") + F.col("from_reactions"), F.lit(0.0))
    return [
        listed(F.struct(F.col("network"), added.alias("added"))).alias("_accounts"),
        total(F.col("reactors")).cast("long").alias("true_reach"),
        F.try_divide(exact("weighted_reactions"), exact("posts")).alias("amplification"),
        F.try_divide(exact(F.col("audience_influence") * F.col("engaged_weight")), exact("engaged_weight")).alias(
            "network_impact"
        ),
        *[exact(c).alias(c) for c in actions],
        concatenated(F.transform("top_reactors", weighted)).alias("reactors"),
    ]


def network_share(value: Column, raw: Column, cfg: Config) -> Column:
    """A network's share of its person's raw score: value^p / raw^p (the shares of a person sum to 1)."""
    p = float(cfg.score.combine_power)
    return F.when(raw > 0, F.pow(value / raw, F.lit(p))).otherwise(F.lit(0.0))
