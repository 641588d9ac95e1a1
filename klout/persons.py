"""Accounts to persons: a person who linked accounts owns them all; any other account is its own person."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def own_person_id(network: Column | str, user_id: Column | str) -> Column:
    """The person id of an unlinked account: "<network>:<user_id>"."""
    return F.concat_ws(":", network, user_id)


def with_person_id(
    accounts: DataFrame,
    identities: DataFrame,
    network: str = "network",
    user_id: str = "user_id",
    linked: str | None = None,
) -> DataFrame:
    """`accounts` plus a `person_id` column, from the identity links where they exist; with `linked`, also a boolean
    column of that name, true where an identity link names the account (false: the account is a person alone)."""
    links = identities.select(F.col("network").alias("_ln"), F.col("user_id").alias("_lu"), "person_id")
    joined = accounts.join(links, (F.col(network) == F.col("_ln")) & (F.col(user_id) == F.col("_lu")), "left")
    if linked is not None:
        joined = joined.withColumn(linked, F.col("_ln").isNotNull())
    return joined.withColumn("person_id", F.coalesce("person_id", own_person_id(F.col(network), F.col(user_id)))).drop(
        "_ln", "_lu"
    )
