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
from klout.score import explain, history
from klout.score.formula import accounts_of_persons, persons
from klout.score.history import EARLIER
from klout.score.scale import (
    SCORE_DECIMALS,
    percentile,
    percentile_sql,
    quantile_points,
    rank_and_percentile,
    smoothed,
    target_score,
)
from klout.warehouse import BoundTable, Warehouse


def score_tables(
    accounts: DataFrame, features: DataFrame, earlier: DataFrame | None, cfg: Config, cache: Cache
) -> tuple[DataFrame, DataFrame, DataFrame | None]:
    """(scores, explanations) without the date column, and the (score, previous_score) pairs of every person
    scored today or on an earlier date looked at, null where not scored (for the score gates; None without earlier
    scores), from the accounts' influence with person ids, the run date's features and the earlier published
    scores (`klout.score.history.earlier`, None before any).

    Everything comes from one row per person (`persons`): the scores, the explanations and the gates are
    projections of it, joined once with the earlier scores."""
    people = cache(persons(accounts, features, cfg))
    points = quantile_points(people, "raw", cfg.score)
    score_of = lambda pct: target_score(pct, cfg.score)  # noqa: E731
    if earlier is None:
        both = people.withColumns({f.name: F.lit(None).cast(f.dataType) for f in EARLIER.fields[1:]})
    else:
        both = people.join(earlier, "person_id", "full")
    # the percentile first, in its own column or field: target_score reads it many times
    placed = F.expr(
        "transform(networks, n -> named_struct('value', n.value, 'network', n.network, 'pct', "
        f"{percentile_sql('n.value', points)}))"
    )
    scored = lambda n: F.struct(  # noqa: E731
        *[n[f].alias(f) for f in ("value", "network")], F.round(score_of(n["pct"]), SCORE_DECIMALS).alias("score")
    )
    networks = F.transform(placed, scored)
    change = lambda before: F.round(F.col("score") - before, SCORE_DECIMALS)  # noqa: E731
    both = cache(
        both.withColumn("_pct", percentile("raw", points))
        .withColumn("target_score", score_of(F.col("_pct")))
        .withColumn("networks", networks)
        .withColumns(
            {
                "score": smoothed(F.col("target_score"), F.col("previous_score"), cfg.score),
                "network_scores": F.map_from_entries(
                    F.array_sort(
                        F.transform(
                            "networks", lambda n: F.struct(n["network"].alias("network"), n["score"].alias("score"))
                        )
                    )
                ),
            }
        )
        .withColumns({"change_1d": change(F.col("score_1d")), "change_7d": change(F.col("score_7d"))})
    )
    today = both.where(F.col("raw").isNotNull())
    scores = rank_and_percentile(today).select(*[c for c in schemas.SCORES.fieldNames() if c != "date"])

    compared = None if earlier is None else both.select("score", "previous_score")
    return scores, explain.explanations(today, cfg), compared


def run_score(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, object]:
    """Compute and write gold/scores and gold/score_explanations for `run_date`; returns row counts."""
    wh = Warehouse(spark, cfg)
    with step("score", date=run_date.isoformat()) as progress:
        influence = wh[tables.ACCOUNT_INFLUENCE].required_partition(run_date, "graph")
        features = wh[tables.FEATURES].required_partition(run_date, "features")
        identities = wh[tables.IDENTITIES].read_or_empty()
        published = wh[tables.SCORES].try_read()
        earlier = None if published is None else history.earlier(published, history.earlier_dates(published, run_date))
        with Cache() as cache:
            accounts = accounts_of_persons(influence, identities)
            scores, why, compared = score_tables(accounts, features, earlier, cfg, cache)
            # the score gates before anything of the date is written: a failed gate leaves the published scores as
            # they were (the input gates are the pipeline's `inputs` step, checked before any work)
            quality.enforce(spark, cfg, run_date, quality.score_gates(compared, cfg))
            dated = lambda df: df.withColumn("date", F.lit(run_date))  # noqa: E731
            progress["persons"], progress["explanations"] = BoundTable.replace_together(
                [(wh[tables.SCORES], dated(scores), run_date), (wh[tables.SCORE_EXPLANATIONS], dated(why), run_date)]
            )
        return dict(progress)
