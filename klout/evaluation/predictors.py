"""What each person looked like on the evaluated date, to every predictor: our score (the published, smoothed one,
and the day's unsmoothed `target_score`) and the three baselines.

The baselines see the same data the score does, and are computed the same way for everyone:
- `log_followers`: ln(1 + followers summed over the person's accounts) from the date's features;
- `reactions`: raw reactions received in the window, summed over the person's accounts;
- `pagerank`: plain PageRank over the window's reactor → account pairs, unweighted (each pair counts once, a
  reactor's vote is split evenly over the accounts it reacted to, uniform teleport, the graph pass's damping),
  summed over the person's accounts.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.checkpoints import run_folder
from klout.config import Config
from klout.graph.iterate import converge, persist_edges, persist_vertices
from klout.persons import with_person_id
from klout.warehouse import Warehouse
from klout.window import in_window

PREDICTORS = ("score", "target_score", "log_followers", "reactions", "pagerank")


def unweighted_pagerank(
    pairs: DataFrame, accounts: DataFrame, spark: SparkSession, cfg: Config, name: str
) -> DataFrame:
    """(network, account_id, pagerank) for `accounts` (network, account_id) over the reactor → account `pairs`
    (network, actor_id, target_id, distinct), iterated to the graph pass's tolerance with its damping."""
    partitions = cfg.spark.shuffle_partitions
    out_degree = pairs.groupBy("network", "actor_id").agg(F.count(F.lit(1)).alias("_deg"))
    edges = persist_edges(
        pairs.join(out_degree, ["network", "actor_id"]).select(
            "network", "actor_id", "target_id", (F.lit(1.0) / F.col("_deg")).alias("share")
        ),
        partitions,
    )
    vertices = persist_vertices(accounts.select("network", "account_id", F.lit(1.0).alias("prior")), partitions)
    try:
        with run_folder(spark, cfg, name) as checkpoints:
            result = converge(vertices, edges, None, cfg.graph, partitions, checkpoints)
            return result.state.select("network", "account_id", F.col("raw").alias("pagerank")).localCheckpoint()
    finally:
        edges.unpersist()
        vertices.unpersist()


def window_pairs(edges_daily: DataFrame, run_date: dt.date, cfg: Config) -> DataFrame:
    """The distinct reactor → account pairs of the window ending on `run_date`."""
    return in_window(edges_daily, run_date, cfg.features).select("network", "actor_id", "target_id").distinct()


def account_predictors(features: DataFrame, pagerank: DataFrame) -> DataFrame:
    """(network, account_id, followers, reactions, pagerank) per account of the date's features (an unknown
    follower count is 0; every account of the features is a vertex of the PageRank graph)."""
    return features.select(
        "network", "account_id", F.coalesce(F.expm1("log_followers"), F.lit(0.0)).alias("followers"), "reactions"
    ).join(pagerank, ["network", "account_id"])


def per_unit(accounts: DataFrame, unit: str) -> DataFrame:
    """Accounts (with `unit`, followers, reactions, pagerank, score) → one row per `unit` with every predictor:
    the best score among its accounts' persons, the baselines summed over its accounts."""
    return accounts.groupBy(unit).agg(
        F.max("score").alias("score"),
        F.max("target_score").alias("target_score"),
        F.log1p(F.sum("followers")).alias("log_followers"),
        F.sum("reactions").alias("reactions"),
        F.sum("pagerank").alias("pagerank"),
    )


def person_accounts(spark: SparkSession, cfg: Config, run_date: dt.date) -> DataFrame:
    """Every scored account of `run_date` with its person, the person's score and the account's baselines."""
    wh = Warehouse(spark, cfg)
    features = wh[tables.FEATURES].required_partition(run_date, "features")
    scores = wh[tables.SCORES].required_partition(run_date, "score")
    pairs = window_pairs(wh[tables.EDGES_DAILY].read(), run_date, cfg)
    pagerank = unweighted_pagerank(
        pairs, features.select("network", "account_id"), spark, cfg, f"evaluate-pagerank-{run_date.isoformat()}"
    )
    identities = wh[tables.IDENTITIES].read_or_empty()
    accounts = with_person_id(account_predictors(features, pagerank), identities, user_id="account_id")
    return accounts.join(scores.select("person_id", "score", "target_score"), "person_id")
