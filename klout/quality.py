"""Data-quality gates: checks a run date must pass before its scores are published (thresholds: `quality.*`).

Input gates look at the run date's interactions (quarantine share, volume against the trailing days); score gates
compare the scores about to be published with the previously published ones (distribution drift as a population
stability index over ten 10-point bins, and how many persons jumped). Each gate is a small aggregate in Spark; the
driver sees a handful of numbers. Results go to ops/quality_gates; a failed gate raises QualityGateError (exit 4)
before anything is written, so the published scores stay as they were.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import tables
from klout.clock import now_utc
from klout.config import Config, QualityConfig
from klout.errors import QualityGateError
from klout.progress import log
from klout.runlog import RUN_ID
from klout.warehouse import Warehouse

SCORE_BINS = 10  # bins of 10 points: [1, 10), [10, 20), ... [90, 100]
_PSI_FLOOR = 1e-4  # an empty bin counts as this share, so the index stays finite


@dataclass(frozen=True)
class GateResult:
    gate: str
    value: float | None  # what was measured; None when there was nothing to compare with (the gate passes)
    threshold: float
    passed: bool
    detail: str


# ---- the gates: pure functions of a few aggregates ----------------------------------------------------------------


def quarantine_share(loaded: int, quarantined: int, q: QualityConfig) -> GateResult:
    """Share of the day's interaction rows that went to quarantine instead of bronze."""
    total = loaded + quarantined
    share = quarantined / total if total else 0.0
    return GateResult(
        "quarantine_share",
        share,
        q.max_quarantine_share,
        share <= q.max_quarantine_share,
        f"{quarantined:,} of {total:,} interaction rows quarantined ({share:.2%}; "
        f"at most {q.max_quarantine_share:.2%})",
    )


def volume_drop(loaded: int, trailing: list[int], q: QualityConfig) -> GateResult:
    """How far the day's interactions fell below the median of the trailing days that have any (a median, so one
    shock day, like the Higgs announcement, does not make every later day look like a collapse)."""
    if not trailing:
        return GateResult(
            "volume_drop",
            None,
            q.max_volume_drop,
            True,
            f"{loaded:,} interactions; no earlier day within {q.volume_trailing_days} days to compare",
        )
    median = statistics.median(trailing)
    drop = max(0.0, 1.0 - loaded / median)
    return GateResult(
        "volume_drop",
        drop,
        q.max_volume_drop,
        drop <= q.max_volume_drop,
        f"{loaded:,} interactions against a median of {median:,.0f} over the {len(trailing)} earlier "
        f"day(s) ({drop:.1%} below; at most {q.max_volume_drop:.0%})",
    )


def score_drift(today: dict[int, int], before: dict[int, int], q: QualityConfig) -> GateResult:
    """Population stability index of the score histogram against the previously published day's:
    sum over bins of (p - p0) * ln(p / p0); under 0.1 is stable, above 0.25 a large shift."""
    if not before or not today:
        return GateResult("score_drift", None, q.max_score_drift, True, "no previously published scores to compare")
    n, n0 = sum(today.values()), sum(before.values())
    psi = 0.0
    for b in range(SCORE_BINS):
        p = max(today.get(b, 0) / n, _PSI_FLOOR)
        p0 = max(before.get(b, 0) / n0, _PSI_FLOOR)
        psi += (p - p0) * math.log(p / p0)
    return GateResult(
        "score_drift",
        psi,
        q.max_score_drift,
        psi <= q.max_score_drift,
        f"population stability index {psi:.4f} over {SCORE_BINS} bins ({n:,} persons today, "
        f"{n0:,} before; at most {q.max_score_drift})",
    )


def score_jumps(jumped: int, compared: int, q: QualityConfig) -> GateResult:
    """Share of the persons scored before whose score moved more than `jump_points` since."""
    if not compared:
        return GateResult("score_jumps", None, q.max_jump_share, True, "no person was scored before")
    share = jumped / compared
    return GateResult(
        "score_jumps",
        share,
        q.max_jump_share,
        share <= q.max_jump_share,
        f"{jumped:,} of {compared:,} persons moved more than {q.jump_points:g} points "
        f"({share:.2%}; at most {q.max_jump_share:.2%})",
    )


# ---- the aggregates they need, from the tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class DayVolume:
    """What the input gates measure of a run date: its bronze interactions, those of the trailing days that have any,
    and its quarantined interaction rows."""

    loaded: int
    trailing: list[int]
    quarantined: int


def day_volume(spark: SparkSession, cfg: Config, run_date: dt.date) -> DayVolume:
    """The run date's volumes, from one aggregate over bronze/interactions and one over bronze/quarantine."""
    wh = Warehouse(spark, cfg)
    first = run_date - dt.timedelta(days=cfg.quality.volume_trailing_days)
    per_day = {
        r["event_date"]: r["n"]
        for r in (
            wh[tables.INTERACTIONS]
            .read()
            .where(F.col("event_date").between(F.lit(first), F.lit(run_date)))
            .groupBy("event_date")
            .agg(F.count(F.lit(1)).alias("n"))
            .collect()
        )
    }  # at most trailing_days + 1 rows
    quarantined = 0
    quarantine = wh[tables.QUARANTINE].try_read()
    if quarantine is not None:
        total = (
            quarantine.where((F.col("kind") == "interactions") & (F.col("event_date") == F.lit(run_date)))
            .agg(F.sum("occurrences"))
            .first()
        )
        assert total is not None  # a global aggregate: always exactly one row
        quarantined = int(total[0] or 0)
    loaded = per_day.pop(run_date, 0)
    return DayVolume(loaded, list(per_day.values()), quarantined)


def input_gates(volume: DayVolume, q: QualityConfig) -> list[GateResult]:
    """The quarantine-share and volume gates of a run date."""
    return [quarantine_share(volume.loaded, volume.quarantined, q), volume_drop(volume.loaded, volume.trailing, q)]


def score_bin(score: Column) -> Column:
    """The 10-point bin of a score (the top bin holds 90-100); null for no score (`least` alone would put it in the
    top bin)."""
    return F.when(score.isNotNull(), F.least(F.floor(score / 10), F.lit(SCORE_BINS - 1))).cast("int")


def score_gates(compared: DataFrame | None, cfg: Config) -> list[GateResult]:
    """The drift and jump gates of the scores about to be published, against the previously published ones, from
    one aggregate over `compared`: rows of `score` today and `previous_score` before, a row per person, null on a
    day the person was not scored; None when nothing was published before."""
    q = cfg.quality
    if compared is None:
        return [score_drift({}, {}, q), score_jumps(0, 0, q)]
    today, before = F.col("score"), F.col("previous_score")
    bins = range(SCORE_BINS)
    row = compared.agg(
        *[F.count_if(score_bin(today) == b).alias(f"today_{b}") for b in bins],
        *[F.count_if(score_bin(before) == b).alias(f"before_{b}") for b in bins],
        F.count_if(today.isNotNull() & before.isNotNull()).alias("compared"),
        F.count_if(F.abs(today - before) > F.lit(q.jump_points)).alias("jumped"),
    ).first()
    assert row is not None  # a global aggregate: always exactly one row
    histogram = lambda day: {b: row[f"{day}_{b}"] for b in bins if row[f"{day}_{b}"]}  # noqa: E731
    return [
        score_drift(histogram("today"), histogram("before"), q),
        score_jumps(row["jumped"], row["compared"], q),
    ]


# ---- recording and enforcing -----------------------------------------------------------------------------------------


def recorded(spark: SparkSession, cfg: Config) -> DataFrame | None:
    """ops/quality_gates' current rows: each gate's latest evaluation per date (None before any)."""
    return Warehouse(spark, cfg)[tables.QUALITY_GATES].current()


def enforce(spark: SparkSession, cfg: Config, run_date: dt.date, results: list[GateResult]) -> None:
    """Append the results to ops/quality_gates (under the current run id) and log them; with `quality.enforce`,
    raise QualityGateError naming every failed gate (nothing of the run date has been published yet)."""
    wh = Warehouse(spark, cfg)
    now = now_utc()
    rows = [(run_date, r.gate, RUN_ID.get(), now, r.value, float(r.threshold), r.passed, r.detail) for r in results]
    wh[tables.QUALITY_GATES].append(spark.createDataFrame(rows, tables.QUALITY_GATES.schema))
    for r in results:
        (log.info if r.passed else log.error)("gate %s %s: %s", r.gate, "passed" if r.passed else "FAILED", r.detail)
    failed = [r for r in results if not r.passed]
    if failed and cfg.quality.enforce:
        raise QualityGateError(
            f"quality gate(s) failed for {run_date}, nothing published (the previous scores stay): "
            + "; ".join(f"{r.gate}: {r.detail}" for r in failed)
        )
    if failed:
        log.warning("quality.enforce is false: publishing %s despite %d failed gate(s)", run_date, len(failed))
