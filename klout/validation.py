"""How well the scores recover the synthetic world's hidden influence, against two simple baselines.

Everything is compared per true person (the world's `truth/people`): our score is the best score among the
persons we resolved its accounts to (unlinked accounts are persons of their own to us); the baselines get the
true person's accounts summed, which only helps them. Spearman correlation is computed distributed (Spark ML's
Correlation ranks on the executors)."""

from __future__ import annotations

from pyspark.ml.feature import VectorAssembler
from pyspark.ml.stat import Correlation
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout.persons import with_person_id

BASELINES = ("log_followers", "reactions")


def spearman(df: DataFrame, x: str, y: str) -> float:
    """Spearman rank correlation of two numeric columns (rows with a null in either are left out)."""
    vec = VectorAssembler(inputCols=[x, y], outputCol="_v").transform(df.select(
        F.col(x).cast("double"), F.col(y).cast("double")).dropna())
    return float(Correlation.corr(vec, "_v", "spearman").first()[0][0, 1])


def per_true_person(scores: DataFrame, features: DataFrame, identities: DataFrame, truth_people: DataFrame,
                    truth_accounts: DataFrame) -> DataFrame:
    """(person_id, influence, is_bot, score, log_followers, reactions) per true person with a scored account.

    `scores` and `features` are one run date's partitions; identities the bronze links."""
    ours = with_person_id(features.select("network", "account_id", F.expm1("log_followers").alias("followers"),
                                          "reactions"), identities, user_id="account_id")
    ours = ours.join(scores.select(F.col("person_id"), "score"), "person_id")
    owner = truth_accounts.select("network", F.col("user_id").alias("account_id"),
                                  F.col("person_id").alias("true_person"))
    per = (ours.join(owner, ["network", "account_id"])
           .groupBy("true_person")
           .agg(F.max("score").alias("score"), F.log1p(F.sum("followers")).alias("log_followers"),
                F.sum("reactions").alias("reactions")))
    return per.join(truth_people.select(F.col("person_id").alias("true_person"), "influence", "is_bot"),
                    "true_person").withColumnRenamed("true_person", "person_id")


def truth_correlations(people: DataFrame) -> dict[str, float]:
    """Spearman of our score and of each baseline with the hidden influence."""
    people = people.cache()
    try:
        return {name: spearman(people, name, "influence") for name in ("score", *BASELINES)}
    finally:
        people.unpersist()
