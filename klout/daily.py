"""The daily step an orchestrator calls: inputs checked → features → graph → score for one run date, in that order."""

from __future__ import annotations

import datetime as dt
from typing import Callable

from pyspark.sql import SparkSession

from klout import quality
from klout.config import Config
from klout.features.run import day_events, run_features
from klout.graph.run import run_graph
from klout.progress import step
from klout.score.run import run_score


def check_inputs(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, int]:
    """Before any work: the run date's interactions must be there (exit 3) and pass the input gates (exit 4)."""
    day_events(spark, cfg, run_date)
    gates = quality.input_gates(spark, cfg, run_date)
    quality.enforce(spark, cfg, run_date, gates)
    return {"gates_passed": sum(g.passed for g in gates)}


STEPS: tuple[tuple[str, Callable[[SparkSession, Config, dt.date], dict]], ...] = (
    ("inputs", check_inputs), ("features", run_features), ("graph", run_graph), ("score", run_score))


def run_daily(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, dict]:
    """Run every step of `run_date`; returns each step's counts. Each step replaces only its own partitions, so a
    rerun (after a failure at any point) recomputes the same tables."""
    with step("daily", date=run_date.isoformat()):
        return {name: fn(spark, cfg, run_date) for name, fn in STEPS}
