"""The opt-out exclusion rules every step reads: which accounts privacy/optouts covers, and rows without them.

An opt-out names a person (every account linked to them) or one account; from the next run on, the steps drop
the accounts it resolves to where they read their inputs, as targets and as reactors.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.config import Config
from klout.warehouse import Warehouse


def resolve_accounts(optouts: DataFrame, identities: DataFrame, networks: list[str]) -> DataFrame:
    """(network, account_id) of every account the opt-out rows cover: account rows as named; person rows through
    their identity links, plus the unlinked account whose own person id "<network>:<user_id>" the row names (an
    account linked to someone else is not covered by that form)."""
    accounts = optouts.where(F.col("account_id").isNotNull()).select("network", "account_id")
    persons = optouts.where(F.col("account_id").isNull() & F.col("person_id").isNotNull()).select("person_id")
    links = identities.select("network", F.col("user_id").alias("account_id"), F.col("person_id").alias("_owner"))
    linked = links.join(persons, F.col("_owner") == F.col("person_id")).select("network", "account_id")
    colon = F.instr("person_id", ":")
    own = persons.select(
        "person_id",
        F.substring_index("person_id", ":", 1).alias("network"),
        F.col("person_id").substr(colon + 1, F.length("person_id")).alias("account_id"),
    ).where((colon > 1) & F.col("network").isin(*networks) & (F.col("account_id") != ""))
    unlinked = own.join(links, ["network", "account_id"], "left")
    unlinked = unlinked.where(F.col("_owner").isNull() | (F.col("_owner") == F.col("person_id")))
    return accounts.unionByName(linked).unionByName(unlinked.select("network", "account_id")).distinct()


def without_accounts(df: DataFrame, accounts: DataFrame | None, network_col: str, *account_cols: str) -> DataFrame:
    """`df` without the rows where any of `account_cols` (on `network_col`) is one of `accounts` (network,
    account_id). A plain left anti join per column, never a broadcast hint or a collected list: the opt-out list
    grows. `accounts` None (nobody opted out) returns `df` as it is."""
    if accounts is None:
        return df
    drop = accounts.select(F.col("network").alias("_xn"), F.col("account_id").alias("_xa"))
    for col in account_cols:
        df = df.join(drop, (F.col(network_col) == F.col("_xn")) & (F.col(col) == F.col("_xa")), "left_anti")
    return df


def opted_out_accounts(spark: SparkSession, cfg: Config) -> DataFrame | None:
    """Every opted-out or erased account (network, account_id), resolved against today's identity links; None when
    privacy/optouts does not exist (nobody ever opted out)."""
    wh = Warehouse(spark, cfg)
    optouts = wh[tables.OPTOUTS].try_read()
    if optouts is None:
        return None
    return resolve_accounts(optouts, wh[tables.IDENTITIES].read_or_empty(), list(cfg.networks))
