"""`klout evaluate`: score the scores. For a run date D and a horizon K, every predictor (our score and the three
baselines of `predictors`) is compared with the reactions each person receives in the K days after D, and, given the
synthetic world's truth, with the hidden influence per true person. Results are MERGEd into `eval/evaluations` (a
rerun replaces the date's rows) and written as a Markdown report with a PNG plot (`report`)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.clock import now_utc
from klout.config import Config
from klout.evaluation.metrics import Evaluation, agreement
from klout.evaluation.outcomes import future_reactions, hidden_influence, true_owner
from klout.evaluation.predictors import PREDICTORS, per_unit, person_accounts
from klout.evaluation.report import score_bins, write_report
from klout.evaluation.stability import daily_change
from klout.paths import joined, resolved
from klout.progress import step
from klout.runlog import RUN_ID
from klout.version import code_version
from klout.warehouse import Warehouse, values_differ


def people_frame(accounts: DataFrame, outcomes: DataFrame) -> DataFrame:
    """One row per scored person: every predictor and `future_reactions` (0 for people who received none)."""
    return per_unit(accounts, "person_id").join(outcomes, "person_id", "left").fillna(0.0, subset=["future_reactions"])


def truth_frame(accounts: DataFrame, truth_people: DataFrame, truth_accounts: DataFrame) -> DataFrame:
    """One row per true person with a scored account: every predictor (our best score among the persons its accounts
    resolved to; baselines summed over its accounts, which only helps them) and its hidden influence."""
    owned = accounts.join(true_owner(truth_accounts), ["network", "account_id"])
    return per_unit(owned, "true_person").join(hidden_influence(truth_people), "true_person")


def evaluate(
    spark: SparkSession, cfg: Config, run_date: dt.date, horizon: int, k: int, truth: dict[str, DataFrame] | None = None
) -> Evaluation:
    """Compare the predictors of `run_date` with the next `horizon` days' reactions (and `truth`, the synthetic
    world's people and accounts, when given)."""
    wh = Warehouse(spark, cfg)
    identities = wh[tables.IDENTITIES].read_or_empty()
    outcomes = future_reactions(wh[tables.INTERACTIONS].read(), identities, run_date, horizon, cfg)
    accounts = person_accounts(spark, cfg, run_date).cache()
    people = people_frame(accounts, outcomes).cache()
    try:
        results = {"future_reactions": agreement(people, "person_id", PREDICTORS, "future_reactions", k)}
        totals = people.agg(
            F.count(F.lit(1)).alias("persons"),
            F.count_if(F.col("future_reactions") > 0).alias("reacted_to"),
            F.sum("future_reactions").alias("future_reactions"),
        ).first()
        assert totals is not None  # a global aggregate: always exactly one row
        counts = totals.asDict() | daily_change(wh[tables.SCORES].read(), run_date)
        bins = score_bins(people)
        if truth is not None:
            results["hidden_influence"] = agreement(
                truth_frame(accounts, truth["people"], truth["accounts"]),
                "true_person",
                PREDICTORS,
                "hidden_influence",
                k,
            )
    finally:
        people.unpersist()
        accounts.unpersist()
    return Evaluation(run_date, horizon, results, bins, counts)


def evaluation_rows(spark: SparkSession, ev: Evaluation) -> DataFrame:
    """The `eval/evaluations` rows of an Evaluation."""
    now, run_id, version = now_utc(), RUN_ID.get(), code_version()
    rows = [
        (
            ev.run_date,
            ev.horizon,
            target,
            q.predictor,
            q.persons,
            q.spearman,
            q.ndcg_at_k,
            q.precision_at_k,
            q.k,
            run_id,
            now,
            version,
        )
        for target, qs in ev.results.items()
        for q in qs
    ]
    return spark.createDataFrame(rows, tables.EVALUATIONS.schema)


def report_dir(cfg: Config, run_date: dt.date, horizon: int, given: str | None) -> str:
    """Where the report goes: `given`, or <warehouse>/reports/evaluation/<date>-h<horizon> (a path or a URI)."""
    if given:
        return resolved(given)
    return joined(cfg.warehouse_root, "reports", "evaluation", f"{run_date.isoformat()}-h{horizon}")


def run_evaluate(
    spark: SparkSession,
    cfg: Config,
    run_date: dt.date,
    horizon: int,
    k: int = 100,
    truth_dir: str | None = None,
    out_dir: str | None = None,
    notes: list[str] | None = None,
) -> tuple[Evaluation, str]:
    """Evaluate, MERGE the results into eval/evaluations and write the report; returns both."""
    wh = Warehouse(spark, cfg)
    target_dir = report_dir(cfg, run_date, horizon, out_dir)
    with step("evaluate", date=run_date.isoformat(), horizon=horizon) as progress:
        truth = (
            {n: spark.read.parquet(f"{truth_dir.rstrip('/')}/{n}") for n in ("people", "accounts")}
            if truth_dir
            else None
        )
        ev = evaluate(spark, cfg, run_date, horizon, k, truth)
        metrics = ["persons", "spearman", "ndcg_at_k", "precision_at_k", "k", "code_version"]
        progress.update(wh[tables.EVALUATIONS].merge(evaluation_rows(spark, ev), update_when=values_differ(metrics)))
        write_report(spark, ev, target_dir, notes or [])
        progress["report"] = joined(target_dir, "report.md")
    return ev, target_dir
