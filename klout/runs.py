"""Running a command over dates for an orchestrator: in order, logged in ops/run_log, resumable, stopping at the
first date that fails (a later date builds on the earlier ones' state)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterator

from pyspark.sql import SparkSession

from klout import daily
from klout.config import Config
from klout.errors import KloutError
from klout.features.run import run_features
from klout.graph.run import run_graph
from klout.progress import log
from klout.runlog import RUN_ID, DateRun, day_inputs, last_success, now_utc
from klout.score.run import run_score

Step = Callable[[SparkSession, Config, dt.date], dict]

# the commands that run dates, and their steps in order
COMMANDS: dict[str, tuple[tuple[str, Step], ...]] = {
    "features": (("features", run_features),),
    "graph": (("graph", run_graph),),
    "score": (("score", run_score),),
    "daily": daily.STEPS,
}


@dataclass
class DateOutcome:
    date: dt.date
    status: str                      # succeeded | skipped
    counts: dict = field(default_factory=dict)
    message: str | None = None


def dates_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def run_dates(spark: SparkSession, cfg: Config, command: str, dates: list[dt.date], run_id: str, *,
              resumable: bool = False, force: bool = False) -> Iterator[DateOutcome]:
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
            yield DateOutcome(day, "succeeded", _run_steps(run, COMMANDS[command]))
    finally:
        RUN_ID.reset(token)


def _run_steps(run: DateRun, steps: tuple[tuple[str, Step], ...]) -> dict:
    """Run the steps of one date, logging the date as running, then each step and the date's end in one commit."""
    run.start()
    counts: dict = {}
    for name, fn in steps:
        started = now_utc()
        try:
            counts[name] = fn(run.spark, run.cfg, run.run_date)
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
    return counts[steps[0][0]] if len(steps) == 1 else counts
