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
from klout.exclusion import opted_out_accounts
from klout.execution import execution_for, interactions_per_day, window_total
from klout.features.aggregates import AGGREGATED, complete_windows, no_interactions
from klout.features.run import run_features
from klout.graph.run import run_graph
from klout.progress import log, step
from klout.runlog import RUN_ID, DateRun, RunInputs, reusable_steps, successes
from klout.runlog import write as write_log
from klout.score.run import run_score
from klout.warehouse import known_partitions
from klout.window import span

Step = Callable[[SparkSession, Config, dt.date], dict]


def check_inputs(spark: SparkSession, cfg: Config, run_date: dt.date) -> dict[str, int]:
    """Before any work: the run date's interactions must be there (exit 3) and pass the input gates (exit 4); both
    from the same counts."""
    volume = quality.day_volume(spark, cfg, run_date)
    if not volume.loaded:
        raise no_interactions([run_date])
    gates = quality.input_gates(volume, cfg.quality)
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
    interactions = window_total(interactions_per_day(spark, cfg, [run_date]), run_date, cfg)
    with (
        step("daily", date=run_date.isoformat()),
        execution_for(spark, cfg, interactions, run_date.isoformat()),
        known_partitions(),
    ):
        return {name: STEPS[name](spark, cfg, run_date) for name in COMMANDS["daily"].steps}


@dataclass
class DateOutcome:
    date: dt.date
    status: str  # succeeded | skipped
    counts: dict = field(default_factory=dict)
    message: str | None = None


def dates_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


SCORE_DAYS = ("all", "last")  # a range run: every date of it, or only its last date (its window complete)


def run_dates(
    spark: SparkSession,
    cfg: Config,
    command: str,
    dates: list[dt.date],
    run_id: str,
    *,
    resumable: bool = False,
    force: bool = False,
    score_days: str = "all",
) -> Iterator[DateOutcome]:
    """Run `command` for each date in order (`score_days="last"`: only the last, over a complete window), yielding
    each date's outcome. With `resumable` (daily, backfill), a date whose last success had the same inputs
    fingerprint and config is skipped unless `force`; once a date runs, every later one runs (its day before
    changed). The dates that run are aggregated first, in one pass over their days, with any window day that has
    interactions but no aggregates. A failure is logged with its exit code and re-raised, so no later date runs
    on a missing day."""
    if score_days not in SCORE_DAYS:
        raise ValueError(f"score_days must be one of {SCORE_DAYS}, not {score_days!r}")
    runs = dates if score_days == "all" else dates[-1:]
    token = RUN_ID.set(run_id)
    try:
        with known_partitions():  # what a step or a date writes, the next one reads without checking it again
            pending = _plan(spark, cfg, command, runs, run_id, resumable and not force)
            skipped = [p for p in pending if p.skip]
            if skipped:
                write_log(spark, cfg, [row for p in skipped for row in p.run.ended("skipped", 0, p.skip)])
            for p in skipped:
                log.info("%s %s: skipped, %s", command, p.run.run_date, p.skip)
                yield DateOutcome(p.run.run_date, "skipped", message=p.skip)
            todo = [p.run for p in pending if not p.skip]
            reused = _reused(todo[0], COMMANDS[command].steps) if todo and resumable and not force else ()
            fresh = [r.run_date for r in todo[1 if "features" in reused else 0 :]]
            per_day = interactions_per_day(spark, cfg, [r.run_date for r in todo])
            try:
                days = _aggregate(spark, cfg, command, fresh, score_days, sum(per_day.values()))
            except BaseException as e:  # the first date to run is the one this pass failed
                _failed(todo[0], "aggregates", e, {})
                raise
            aggregated = AGGREGATED.set(days)
            try:
                for i, run in enumerate(todo):
                    with execution_for(spark, cfg, window_total(per_day, run.run_date, cfg), run.run_date.isoformat()):
                        counts = _run_steps(run, COMMANDS[command].steps, reused if i == 0 else ())
                    yield DateOutcome(run.run_date, "succeeded", counts)
            finally:
                AGGREGATED.reset(aggregated)
    finally:
        RUN_ID.reset(token)


@dataclass(frozen=True)
class _Planned:
    run: DateRun
    skip: str | None  # why the date is skipped; None: it runs


def _plan(
    spark: SparkSession, cfg: Config, command: str, dates: list[dt.date], run_id: str, resumable: bool
) -> list[_Planned]:
    """Each date's run-log entry and whether it is skipped, from one read of the run log and of the inputs."""
    if not dates:
        return []
    done = successes(spark, cfg, command, [dates[0] - dt.timedelta(days=1), *dates])
    inputs = RunInputs.of(spark, cfg, dates)
    planned: list[_Planned] = []
    runs = False  # once a date runs, the later dates' day before is this run's
    for day in dates:
        before = run_id if runs else (done.get(day - dt.timedelta(days=1)) or {}).get("run_id")
        day_inputs = inputs.day(day, before, cfg)
        last = done.get(day) if resumable and not runs else None
        why = None
        if last and (last["inputs_fingerprint"], last["config_hash"]) == (day_inputs.fingerprint, cfg.fingerprint()):
            why = f"succeeded in run {last['run_id']} with the same inputs and config (--force reruns it)"
        runs = runs or why is None
        planned.append(_Planned(DateRun(spark, cfg, run_id, day, command, day_inputs), why))
    return planned


def _reused(run: DateRun, steps: tuple[str, ...]) -> tuple[str, ...]:
    """The leading steps of `run`'s date that its last run (failed, same inputs and config) completed: not redone."""
    earlier = reusable_steps(run.spark, run.cfg, run.step, run.run_date, run.inputs)
    reused: list[str] = []
    for name in steps[:-1]:  # the last step is the one to run again
        if name not in earlier["steps"]:
            break
        reused.append(name)
    if reused:
        log.info(
            "%s %s: %s done in run %s with the same inputs and config, not recomputed",
            run.step,
            run.run_date,
            ", ".join(reused),
            earlier["run_id"],
        )
        run.reused_from = earlier["run_id"]
    return tuple(reused)


def _aggregate(
    spark: SparkSession, cfg: Config, command: str, days: list[dt.date], score_days: str, interactions: int
) -> frozenset:
    """The one pass over the days that run (when the command computes features): their per-day aggregates and
    their windows' missing days (at most `interactions` rows); with `score_days="last"` the whole window of the
    last date is recomputed. Returns the dates aggregated (a date without interactions fails in its own turn)."""
    if "features" not in COMMANDS[command].steps or not days:
        return frozenset()
    with execution_for(spark, cfg, interactions, f"of the aggregates of {span(days)}"):
        _, aggregated = complete_windows(
            spark, cfg, days, opted_out_accounts(spark, cfg), strict=False, recompute=score_days == "last"
        )
    return aggregated


def _run_steps(run: DateRun, steps: tuple[str, ...], reused: tuple[str, ...] = ()) -> dict:
    """Run the steps of one date (but the `reused` ones, done by its failed last run), logging the date as running,
    then each step and the date's end in one commit."""
    run.start()
    counts: dict = {}
    for name in steps:
        started = now_utc()
        if name in reused:
            counts[name] = {}
            run.step_done(name, started, {}, "succeeded", f"reused: done in run {run.reused_from}")
            continue
        try:
            counts[name] = STEPS[name](run.spark, run.cfg, run.run_date)
        except BaseException as e:  # also a KeyboardInterrupt: the log says how the date ended
            run.step_done(name, started, {}, "failed", _message(name, e))
            _failed(run, name, e, counts)
            raise
        run.step_done(name, started, counts[name])
    run.finish("succeeded", 0, None, counts)
    return counts[steps[0]] if len(steps) == 1 else counts


def _message(name: str, e: BaseException) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{name}: {type(e).__name__}: {first}"


def _failed(run: DateRun, name: str, e: BaseException, counts: dict) -> None:
    """Log `run`'s date as failed in `name` with the error's exit code (the run's error matters more than the log's)."""
    code = e.exit_code if isinstance(e, KloutError) else 1
    try:
        run.finish("failed", code, _message(name, e), counts)
    except Exception as log_error:
        log.error("run log: could not record the failure of %s: %s", run.run_date, log_error)
