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

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.persons import with_person_id
from klout.weights import exact_sum, where_weight


def accounts_of_persons(influence: DataFrame, identities: DataFrame) -> DataFrame:
    """gold/account_influence rows (without date) plus each account's `person_id`."""
    return with_person_id(influence, identities, user_id="account_id")


def network_values(accounts: DataFrame, cfg: Config) -> DataFrame:
    """(person_id, network, value): the network's weight times what the person's accounts there add."""
    added = F.greatest(F.col("from_profile") + F.col("from_reactions"), F.lit(0.0))
    return accounts.groupBy("person_id", "network").agg((exact_sum(added) * where_weight(cfg)).alias("value"))


def person_raw(values: DataFrame, cfg: Config) -> DataFrame:
    """(person_id, raw): the p-norm of the person's network values."""
    p = float(cfg.score.combine_power)
    return values.groupBy("person_id").agg(F.pow(exact_sum(F.pow("value", F.lit(p))), F.lit(1.0 / p)).alias("raw"))


def network_share(cfg: Config) -> F.Column:
    """A network's share of its person's raw score: value^p / raw^p (the shares of a person sum to 1)."""
    p = float(cfg.score.combine_power)
    return F.when(F.col("raw") > 0, F.pow(F.col("value") / F.col("raw"), F.lit(p))).otherwise(F.lit(0.0))


def classic_subscores(accounts: DataFrame, features: DataFrame) -> DataFrame:
    """(person_id, true_reach, amplification, network_impact) over the person's accounts.

    true_reach: distinct engaged reactors in the window (per account exact, summed over accounts);
    amplification: weighted reactions per post created in the window; network_impact: the engagement-weighted
    mean influence of the reactors (null without engagement)."""
    per_account = accounts.join(
        features.select("network", "account_id", "weighted_reactions", "posts"), ["network", "account_id"], "left"
    )
    return per_account.groupBy("person_id").agg(
        F.sum("reactors").cast("long").alias("true_reach"),
        F.try_divide(exact_sum("weighted_reactions"), exact_sum("posts")).alias("amplification"),
        F.try_divide(
            exact_sum(F.col("audience_influence") * F.col("engaged_weight")), exact_sum("engaged_weight")
        ).alias("network_impact"),
    )
