"""The date steps and how a run date goes through them: the one registry that the CLI, jobs/ and orchestrators read.

A command runs its steps in order for each date: `daily` is inputs → features → graph → score. The pipeline owns
the order, the run log (ops/run_log: a date is skipped when it already succeeded with the same inputs and config)
and the gates: the input gates are checked once, before any work (the `inputs` step); the score gates inside the
score step, before anything of the date is published. Each gate is computed and recorded once per run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from klout import quality
from klout.clock import now_utc
from klout.config import Config
from klout.errors import KloutError
from klout.features.run import day_events, run_features
from klout.graph.run import run_graph
from klout.progress import log, step
from klout.runlog import RUN_ID, DateRun, day_inputs, last_success
from klout.score.run import run_score

Step = Callable[[SparkSession, Config, dt.date], dict]


def check_inputs(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, int]:
    """Before any work: the run date's interactions must be there (exit 3) and pass the input gates (exit 4)."""
    day_events(spark, cfg, run_date)
    gates = quality.input_gates(spark, cfg, run_date)
    quality.enforce(spark, cfg, run_date, gates)
    return {"gates_passed": sum(g.passed for g in gates)}


@dataclass(frozen=True)
class Command:
    """A command that runs dates: its steps in order, and its help in the CLI."""

    steps: tuple[str, ...]
    summary: str
    description: str


# every date step by name, and the commands that run dates
STEPS: dict[str, Step] = {"inputs": check_inputs, "features": run_features, "graph": run_graph, "score": run_score}
COMMANDS: dict[str, Command] = {
    "features": Command(
        ("features",),
        "compute the features of a run date (or each date of a range, in order)",
        "Long-lasting and dynamic features for the window ending on each run date: writes silver/edges_daily, "
        "silver/account_daily, silver/feature_state and gold/features partitions for the date, replacing them "
        "atomically.",
    ),
    "graph": Command(
        ("graph",),
        "run the influence graph pass of a run date (or each date of a range)",
        "Personalised PageRank per network over the window's reactor -> account edges, iterated to convergence "
        "(warm start from the previous run): writes the date's gold/account_influence partition. Needs the date's "
        "features.",
    ),
    "score": Command(
        ("score",),
        "score every person of a run date (or each date of a range)",
        "Account influence -> network sub-scores -> person score on 1-100 with the classic sub-scores and "
        "explanations: writes the date's gold/scores and gold/score_explanations partitions. Needs the date's "
        "graph pass; the score gates are checked before anything is written (the input gates are daily's).",
    ),
    "daily": Command(
        ("inputs", "features", "graph", "score"),
        "inputs checked -> features -> graph -> score for a run date (the orchestrator's step)",
        "Every step of a run date in order; each replaces only its own partitions, so rerunning a date gives the "
        "same tables. A date that already succeeded with the same inputs and config is skipped unless --force. "
        "With --end, each date of the range (as `klout backfill`).",
    ),
}


def run_daily(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, dict]:
    """Every step of `run_date` in order, without the run log (tests, experiments, benchmarks); returns each step's
    counts. Each step replaces only its own partitions, so a rerun after a failure recomputes the same tables."""
    with step("daily", date=run_date.isoformat()):
        return {name: STEPS[name](spark, cfg, run_date) for name in COMMANDS["daily"].steps}


@dataclass
class DateOutcome:
    date: dt.date
    status: str  # succeeded | skipped
    counts: dict = field(default_factory=dict)
    message: str | None = None


def dates_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def run_dates(
    spark: SparkSession,
    cfg: Config,
    command: str,
    dates: list[dt.date],
    run_id: str,
    *,
    resumable: bool = False,
    force: bool = False,
) -> Iterator[DateOutcome]:
    """Run `command` for each date in order, yielding each date's outcome. With `resumable` (daily, backfill), a
    date whose last success had the same inputs fingerprint and config is skipped unless `force`. A failure is
    logged with its exit code and re-raised, so no later date runs on a missing day."""
    token = RUN_ID.set(run_id)
    try:
        for day in dates:
            before = last_success(spark, cfg, day - dt.timedelta(days=1), command)
            inputs = day_inputs(spark, cfg, day, before["run_id"] if before else None)
            run = DateRun(spark, cfg, run_id, day, command, inputs)
            done = last_success(spark, cfg, day, command) if resumable and not force else None
            if done and done["inputs_fingerprint"] == inputs.fingerprint and done["config_hash"] == cfg.fingerprint():
                why = f"succeeded in run {done['run_id']} with the same inputs and config (--force reruns it)"
                log.info("%s %s: skipped, %s", command, day, why)
                run.finish("skipped", 0, why)
                yield DateOutcome(day, "skipped", message=why)
                continue
            yield DateOutcome(day, "succeeded", _run_steps(run, COMMANDS[command].steps))
    finally:
        RUN_ID.reset(token)


def _run_steps(run: DateRun, steps: tuple[str, ...]) -> dict:
    """Run the steps of one date, logging the date as running, then each step and the date's end in one commit."""
    run.start()
    counts: dict = {}
    for name in steps:
        started = now_utc()
        try:
            counts[name] = STEPS[name](run.spark, run.cfg, run.run_date)
        except BaseException as e:  # also a KeyboardInterrupt: the log says how the date ended
            code = e.exit_code if isinstance(e, KloutError) else 1
            message = f"{name}: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
            run.step_done(name, started, {}, "failed", message)
            try:
                run.finish("failed", code, message, counts)
            except Exception as log_error:  # the run's own error matters more than the log's
                log.error("run log: could not record the failure of %s: %s", run.run_date, log_error)
            raise
        run.step_done(name, started, counts[name])
    run.finish("succeeded", 0, None, counts)
    return counts[steps[0]] if len(steps) == 1 else counts
