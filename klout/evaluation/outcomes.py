"""What the predictors are judged against: the reactions people's content receives after the evaluated date (the
Klout paper's test: higher-scored people drew more reactions), and, in the synthetic world, the hidden influence."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.errors import InputError
from klout.persons import with_person_id
from klout.weights import counted


def horizon_days(run_date: dt.date, horizon: int) -> list[dt.date]:
    """The `horizon` days after `run_date`."""
    return [run_date + dt.timedelta(days=i) for i in range(1, horizon + 1)]


def future_reactions(
    interactions: DataFrame, identities: DataFrame, run_date: dt.date, horizon: int, cfg: Config
) -> DataFrame:
    """(person_id, future_reactions): reactions (self-reactions excluded, as the features do) received by each
    person's accounts in the `horizon` days after `run_date`. InputError (exit 3) when one of those days has no
    interactions in bronze: an outcome missing a day would understate everyone."""
    days = horizon_days(run_date, horizon)
    after = interactions.where(F.col("event_date").between(F.lit(days[0]), F.lit(days[-1])))
    present = {r[0] for r in after.select("event_date").distinct().collect()}  # at most `horizon` rows
    missing = [d.isoformat() for d in days if d not in present]
    if missing:
        raise InputError(
            f"bronze/interactions has no rows for {', '.join(missing)}: the {horizon}-day horizon "
            f"after {run_date} needs every day ingested (or a shorter --horizon)"
        )
    received = (
        counted(after, cfg).groupBy("network", F.col("target_id").alias("account_id")).agg(F.count(F.lit(1)).alias("n"))
    )
    return (
        with_person_id(received, identities, user_id="account_id")
        .groupBy("person_id")
        .agg(F.sum("n").cast("double").alias("future_reactions"))
    )


def true_owner(truth_accounts: DataFrame) -> DataFrame:
    """(network, account_id, true_person) from the synthetic world's truth/accounts."""
    return truth_accounts.select(
        "network", F.col("user_id").alias("account_id"), F.col("person_id").alias("true_person")
    )


def hidden_influence(truth_people: DataFrame) -> DataFrame:
    """(true_person, hidden_influence, is_bot) from the synthetic world's truth/people."""
    return truth_people.select(
        F.col("person_id").alias("true_person"), F.col("influence").cast("double").alias("hidden_influence"), "is_bot"
    )
