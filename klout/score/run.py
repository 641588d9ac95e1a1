"""The score step for one run date: gold/account_influence → gold/scores and gold/score_explanations.

Reads the run date's account_influence and features (exit 3 when missing), the identity links, and the previous
published scores (smoothing, changes); checks the score gates (exit 4, nothing written, when one fails) and
replaces the run date's partitions of both outputs atomically.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import quality, schemas, tables
from klout.caching import Cache
from klout.config import Config
from klout.progress import step
from klout.score import explain
from klout.score.formula import accounts_of_persons, classic_subscores, network_share, network_values, person_raw
from klout.score.scale import SCORE_DECIMALS, percentile, quantile_points, rank_and_percentile, smoothed, target_score
from klout.warehouse import Warehouse


def score_tables(
    accounts: DataFrame,
    features: DataFrame,
    previous: DataFrame | None,
    day_before: DataFrame | None,
    week_before: DataFrame | None,
    cfg: Config,
    cache: Cache,
) -> tuple[DataFrame, DataFrame]:
    """(scores, explanations) without the date column, from the accounts' influence with person ids, the run
    date's features and earlier published scores (`previous`: the latest before the run date, for smoothing and
    what changed; `day_before`/`week_before`: exactly 1 and 7 days before, for the changes)."""
    values = cache(network_values(accounts, cfg))
    raw = cache(person_raw(values, cfg))
    points = quantile_points(raw, "raw", cfg.score)
    people = percentile(raw, "raw", points, "_pct").withColumn("target_score", target_score(F.col("_pct"), cfg.score))
    networks = cache(
        percentile(values, "value", points, "_pct")
        .withColumn("score", F.round(target_score(F.col("_pct"), cfg.score), SCORE_DECIMALS))
        .drop("_pct")
    )

    if previous is not None:
        people = people.join(previous.select("person_id", F.col("score").alias("_prev")), "person_id", "left")
    else:
        people = people.withColumn("_prev", F.lit(None).cast("double"))
    people = people.withColumn("score", smoothed(F.col("target_score"), F.col("_prev"), cfg.score))
    for name, before in (("change_1d", day_before), ("change_7d", week_before)):
        if before is None:
            people = people.withColumn(name, F.lit(None).cast("double"))
        else:
            b = before.select("person_id", F.col("score").alias("_b"))
            change = F.round(F.col("score") - F.col("_b"), SCORE_DECIMALS)
            people = people.join(b, "person_id", "left").withColumn(name, change).drop("_b")
    network_map = networks.groupBy("person_id").agg(
        F.map_from_entries(F.array_sort(F.collect_list(F.struct("network", "score")))).alias("network_scores")
    )
    scores = (
        rank_and_percentile(people)
        .join(network_map, "person_id")
        .join(classic_subscores(accounts, features), "person_id", "left")
        .select(*[c for c in schemas.SCORES.fieldNames() if c != "date"], "_prev")
    )
    scores = cache(scores.withColumn("true_reach", F.coalesce("true_reach", F.lit(0)).cast("long")))

    k = cfg.score.explain_top
    parts = [
        explain.top_networks(networks.join(raw, "person_id"), k, network_share(cfg)),
        explain.top_actions(accounts, features, cfg, k),
        explain.top_reactors(accounts, cfg, cfg.graph.top_reactors),
        explain.network_changes(
            networks,
            None
            if previous is None
            else previous.select("person_id", F.explode("network_scores").alias("network", "score")),
        ),
    ]
    why = scores.select("person_id", "score", F.col("_prev").alias("previous_score"))
    for part in parts:
        why = why.join(part, "person_id", "left")
    empty = {
        f.name: F.array().cast(f.dataType)
        for f in schemas.SCORE_EXPLANATIONS.fields
        if f.name.startswith(("top_", "network_changes"))
    }
    why = why.withColumns({name: F.coalesce(name, e) for name, e in empty.items()})
    why = why.withColumn(
        "summary",
        explain.summary(
            F.col("score"), F.col("previous_score"), F.col("top_networks"), F.col("top_actions"), F.col("top_reactors")
        ),
    )
    return scores.drop("_prev"), why.select(*[c for c in schemas.SCORE_EXPLANATIONS.fieldNames() if c != "date"])


def run_score(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, object]:
    """Compute and write gold/scores and gold/score_explanations for `run_date`; returns row counts."""
    wh = Warehouse(spark, cfg)
    with step("score", date=run_date.isoformat()) as progress:
        influence = wh[tables.ACCOUNT_INFLUENCE].required_partition(run_date, "graph")
        features = wh[tables.FEATURES].required_partition(run_date, "features")
        identities = wh[tables.IDENTITIES].read_or_empty()
        previous, before = _earlier_scores(wh, run_date)
        with Cache() as cache:
            accounts = cache(accounts_of_persons(influence, identities))
            scores, why = score_tables(accounts, features, previous, before[1], before[7], cfg, cache)
            # the score gates before anything of the date is written: a failed gate leaves the published scores as
            # they were (the input gates are the pipeline's `inputs` step, checked before any work)
            quality.enforce(spark, cfg, run_date, quality.score_gates(scores, previous, cfg))
            dated = lambda df: df.withColumn("date", F.lit(run_date))  # noqa: E731
            progress["persons"] = wh[tables.SCORES].replace_partition(dated(scores), run_date)
            progress["explanations"] = wh[tables.SCORE_EXPLANATIONS].replace_partition(dated(why), run_date)
        return dict(progress)


def _earlier_scores(wh: Warehouse, run_date: dt.date) -> tuple[DataFrame | None, dict[int, DataFrame | None]]:
    """The latest published scores before `run_date` and those of exactly 1 and 7 days before (None where there are
    none), found by one aggregate over the earlier dates' partitions instead of a job per lookup."""
    published = wh[tables.SCORES].try_read()
    if published is None:
        return None, {1: None, 7: None}
    earlier = published.where(F.col("date") < F.lit(run_date))
    back = {days: run_date - dt.timedelta(days=days) for days in (1, 7)}
    found = earlier.agg(
        F.max("date").alias("latest"), *[F.max(F.col("date") == F.lit(d)).alias(f"d{n}") for n, d in back.items()]
    ).first()
    assert found is not None  # a global aggregate: always exactly one row
    on = lambda d: published.where(F.col("date") == F.lit(d)).drop("date")  # noqa: E731
    previous = None if found["latest"] is None else on(found["latest"])
    return previous, {n: on(d) if found[f"d{n}"] else None for n, d in back.items()}
