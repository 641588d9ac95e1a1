"""The run log (ops/run_log): what ran for which date, with what inputs, config and code, and how it ended.

An append-only log: a run appends a `running` row when a date starts and, when it ends, the final row of the date
and one row per step (counts, seconds) in one append; a key's current row is its newest (`read`), and a run killed
on the way stays `running`. Appends never conflict, so concurrent runs log without retries. The inputs fingerprint
lets a daily or backfill run skip a date that already succeeded with the same inputs and config.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.clock import now_utc
from klout.config import Config
from klout.version import code_version
from klout.warehouse import Warehouse

# The run id of the command in progress; steps that record something of their own (the quality gates) read it.
RUN_ID: ContextVar[str] = ContextVar("klout_run_id", default="adhoc")

# Tables whose whole content a run date depends on (a change anywhere may change the date's result).
WHOLE_INPUTS = (tables.PROFILES_HISTORY, tables.IDENTITIES, tables.OPTOUTS)


def new_run_id() -> str:
    """A sortable, unique run id: UTC start time plus a random suffix."""
    return f"{now_utc():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class DayInputs:
    """What a run date reads, as recorded in the run log."""

    versions: dict[str, int]
    fingerprint: str


@dataclass(frozen=True)
class RunInputs:
    """What the dates of one run read, looked up once for the run: the versions of the input tables (the run
    writes none of them) and each date's bronze/interactions data files (one job over the dates' partitions)."""

    versions: dict[str, int]
    files: dict[dt.date, tuple[str, ...]]

    @classmethod
    def of(cls, spark: SparkSession, cfg: Config, dates: list[dt.date]) -> RunInputs:
        wh = Warehouse(spark, cfg)
        versions = {t.name: wh[t].version() for t in (tables.INTERACTIONS, *WHOLE_INPUTS)}
        files: dict[dt.date, list[str]] = {}
        if versions[tables.INTERACTIONS.name] >= 0 and dates:
            rows = (
                wh[tables.INTERACTIONS]
                .read()
                .where(F.col("event_date").isin(dates))
                .select("event_date", F.col("_metadata.file_path").alias("file"))
                .distinct()
                .collect()
            )  # the dates' few files each
            for r in rows:
                files.setdefault(r["event_date"], []).append(r["file"].rsplit("/", 1)[-1])
        return cls(versions, {d: tuple(sorted(f)) for d, f in files.items()})

    def day(self, run_date: dt.date, previous_run: str | None, cfg: Config) -> DayInputs:
        """The inputs of `run_date`, fingerprinted: its bronze files (new ones whenever the day is re-ingested with
        changes), the versions of the tables read whole, the run that produced the day before (its state and
        scores feed this day) and the config."""
        basis = {
            "interaction_files": list(self.files.get(run_date, ())),
            "whole_inputs": {t.name: self.versions[t.name] for t in WHOLE_INPUTS},
            "previous_run": previous_run,
            "config": cfg.fingerprint(),
        }
        digest = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]
        return DayInputs(self.versions, digest)


def successes(spark: SparkSession, cfg: Config, step: str, dates: list[dt.date]) -> dict[dt.date, dict]:
    """The latest succeeded run-log row of `step` for each of `dates` that has one (one read of the run log)."""
    log_df = Warehouse(spark, cfg)[tables.RUN_LOG].try_read()  # a succeeded row is final: no need of `read`
    if log_df is None or not dates:
        return {}
    rows = (
        log_df.where(F.col("date").isin(dates) & (F.col("step") == step) & (F.col("status") == "succeeded"))
        .select("date", "run_id", "inputs_fingerprint", "config_hash", "ended_at")
        .collect()
    )  # a few runs per date
    latest: dict[dt.date, dict] = {}
    for r in sorted(rows, key=lambda r: r["ended_at"]):
        latest[r["date"]] = r.asDict()
    return latest


def reusable_steps(spark: SparkSession, cfg: Config, step: str, run_date: dt.date, inputs: DayInputs) -> dict:
    """When the latest run of `step` for `run_date` failed with these same inputs and config (a gate stopped it,
    say), the steps it completed before failing: their partitions are committed and current, so a rerun (the same
    date accepted with `quality.enforce=false`) goes on from the failed step. {run_id, steps}; no steps otherwise."""
    log_df = read(spark, cfg)
    if log_df is None:
        return {"run_id": None, "steps": ()}
    rows = (
        log_df.where(F.col("date") == F.lit(run_date))
        .select("run_id", "step", "status", "started_at", "inputs_fingerprint", "config_hash")
        .collect()
    )  # the date's few runs, a row per step each
    runs = sorted((r for r in rows if r["step"] == step), key=lambda r: r["started_at"])
    last = runs[-1] if runs else None
    if (
        last is None
        or last["status"] != "failed"
        or (last["inputs_fingerprint"], last["config_hash"]) != (inputs.fingerprint, cfg.fingerprint())
    ):
        return {"run_id": None, "steps": ()}
    done = {r["step"] for r in rows if (r["run_id"], r["status"]) == (last["run_id"], "succeeded")} - {step}
    return {"run_id": last["run_id"], "steps": tuple(sorted(done))}


@dataclass
class DateRun:
    """The run-log rows of one date of one run: `start()`, then `step_done()` per step, then `finish()`."""

    spark: SparkSession
    cfg: Config
    run_id: str
    run_date: dt.date
    step: str
    inputs: DayInputs
    started_at: dt.datetime = field(default_factory=now_utc)
    steps: list[tuple] = field(default_factory=list)
    reused_from: str | None = None  # the failed run whose completed steps this one reuses

    def _row(
        self,
        step: str,
        status: str,
        started: dt.datetime,
        ended: dt.datetime | None,
        counts: dict | None = None,
        exit_code: int | None = None,
        message: str | None = None,
    ) -> tuple:
        seconds = None if ended is None else round((ended - started).total_seconds(), 3)
        ints = None if counts is None else {k: int(v) for k, v in _flat(counts).items()}
        return (
            self.run_id,
            self.run_date,
            step,
            status,
            started,
            ended,
            seconds,
            ints,
            self.inputs.versions,
            self.inputs.fingerprint,
            self.cfg.fingerprint(),
            code_version(),
            exit_code,
            message,
        )

    def start(self) -> None:
        self.started_at = now_utc()
        write(self.spark, self.cfg, [self._row(self.step, "running", self.started_at, None)])

    def step_done(
        self, step: str, started: dt.datetime, counts: dict, status: str = "succeeded", message: str | None = None
    ) -> None:
        self.steps.append(self._row(step, status, started, now_utc(), counts, None, message))

    def finish(self, status: str, exit_code: int, message: str | None = None, counts: dict | None = None) -> None:
        write(self.spark, self.cfg, self.ended(status, exit_code, message, counts))

    def ended(self, status: str, exit_code: int, message: str | None = None, counts: dict | None = None) -> list[tuple]:
        """The date's final row and its steps' rows, for `write` (a run logs the skipped dates in one write)."""
        final = self._row(self.step, status, self.started_at, now_utc(), counts, exit_code, message)
        return [final, *self.steps]


def _flat(counts: dict, prefix: str = "") -> dict[str, int]:
    """Nested step counts as one level of integer counts ("graph.iterations": 12); other values are left out."""
    out: dict[str, int] = {}
    for k, v in counts.items():
        if isinstance(v, dict):
            out |= _flat(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float)) and k != "seconds":  # bools too: converged 1/0
            out[f"{prefix}{k}"] = int(v)
    return out


def read(spark: SparkSession, cfg: Config) -> DataFrame | None:
    """The run log's current rows, one per (run_id, date, step): its end once it ended; None before any run."""
    return Warehouse(spark, cfg)[tables.RUN_LOG].current()


def write(spark: SparkSession, cfg: Config, rows: list[tuple]) -> None:
    """Append rows to the run log (one commit, however many dates and steps)."""
    Warehouse(spark, cfg)[tables.RUN_LOG].append(spark.createDataFrame(rows, tables.RUN_LOG.schema))
