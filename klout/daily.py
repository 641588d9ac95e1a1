"""The daily step an orchestrator calls: features → graph → score for one run date, in that order."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession

from klout.config import Config
from klout.features.run import run_features
from klout.graph.run import run_graph
from klout.progress import step
from klout.score.run import run_score


def run_daily(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, dict]:
    """Run every step of `run_date`; returns each step's counts. Each step replaces only its own partitions, so a
    rerun (after a failure at any point) recomputes the same tables."""
    with step("daily", date=run_date.isoformat()):
        return {"features": run_features(spark, cfg, run_date),
                "graph": run_graph(spark, cfg, run_date),
                "score": run_score(spark, cfg, run_date)}
