"""What a day costs on the real Higgs week: one small day (1 July) in a warm session, broken down per step with its
seconds and Spark jobs; a day the run log skips; the backfill of the 7 days; the score step of the largest day.

Ingests the Higgs file into a warehouse under --workdir (kept and reused: only the derived tables are dropped
between runs), then measures in one Spark session. Ends with one line of JSON holding every figure printed.

    scripts/bench.sh days [--workdir DIR] [--only small|week] [--set key=value ...]

(--only small: the small day alone; --only week: the backfill, the skipped days and the score step.)
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import shutil
import time
from pathlib import Path

from benchworld import bench_args, workspace

from klout import pipeline
from klout.config import load_config
from klout.ingest.run import ingest
from klout.pipeline import STEPS, run_daily, run_dates
from klout.runlog import new_run_id
from klout.session import get_spark

HIGGS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "higgs" / "higgs-activity_time.txt.gz"
FIRST, LAST, LARGEST = dt.date(2012, 7, 1), dt.date(2012, 7, 7), dt.date(2012, 7, 4)
DERIVED = ("silver", "gold", "ops", "_checkpoints")


class JobCounter:
    """Tags the Spark jobs of each step with a job group, so a step's jobs can be counted afterwards."""

    def __init__(self, spark):
        self.sc = spark.sparkContext
        self.seen: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    def wrap(self) -> None:
        for name, fn in list(STEPS.items()):
            STEPS[name] = self._tagged(name, fn)

    def _tagged(self, name, fn):
        def run(spark, cfg, day):
            group = f"{name}-{day}-{time.monotonic_ns()}"
            self.sc.setJobGroup(group, name)
            t0 = time.monotonic()
            try:
                return fn(spark, cfg, day)
            finally:
                self.seconds[name] = time.monotonic() - t0
                self.seen[name] = len(self.sc.statusTracker().getJobIdsForGroup(group))
                self.sc.setJobGroup("bench", "bench")

        return run


class JvmCpu:
    """CPU seconds of the driver JVM's threads by kind (Linux /proc): the JIT compilers, the task threads, the
    threads that serve Py4J (planning, Delta's driver work) and the rest. A small day's wall time against its CPU
    says whether it waits or computes."""

    KINDS = {r"C\d CompilerThre": "jit", "Executor task": "tasks", r"Thread-\d": "driver"}

    def __init__(self, spark):
        self.pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        self.tick = os.sysconf("SC_CLK_TCK")

    def snapshot(self) -> dict[str, float]:
        out: collections.Counter = collections.Counter()
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                name = Path(f"/proc/{self.pid}/task/{tid}/comm").read_text().strip()
                fields = Path(f"/proc/{self.pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended
                continue
            kind = next((k for pattern, k in self.KINDS.items() if re.match(pattern, name)), "other")
            out[f"{tid}/{kind}"] = (int(fields[11]) + int(fields[12])) / self.tick
        return out

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        by_kind: collections.Counter = collections.Counter()
        for key, secs in after.items():
            by_kind[key.split("/", 1)[1]] += secs - before.get(key, 0.0)
        return {k: round(by_kind[k], 2) for k in ("jit", "tasks", "driver", "other")}


def timed(fn, *args, **kwargs):
    t0 = time.monotonic()
    out = fn(*args, **kwargs)
    return out, time.monotonic() - t0


def main() -> None:
    args = bench_args(__doc__, extra=False, options=[("--only", {"choices": ("small", "week")})])
    with workspace(args.workdir) as work:
        sets = [f"warehouse={work}/warehouse", "quality.enforce=false", *args.sets]
        cfg = load_config(sets=sets)
        spark = get_spark(cfg)
        try:
            figures = bench(spark, cfg, work, args.only)
        finally:
            spark.stop()
    print(json.dumps(figures, sort_keys=True))


def bench(spark, cfg, work: Path, only: str | None = None) -> dict:
    warehouse = work / "warehouse"
    if not (warehouse / "bronze" / "interactions").exists():
        _, secs = timed(ingest, spark, cfg, str(HIGGS), "higgs")
        print(f"ingested {HIGGS.name} in {secs:.1f}s", flush=True)
    for name in DERIVED:
        shutil.rmtree(warehouse / name, ignore_errors=True)
    cores = spark.sparkContext.defaultParallelism
    counter = JobCounter(spark)
    counter.wrap()
    figures: dict = {"cores": cores}

    # one small day: the first run warms the session (and creates the tables), the next runs are measured
    run_daily(spark, cfg, FIRST)
    if only != "week":
        figures |= small_day(spark, cfg, counter)
    if only != "small":
        figures |= week(spark, cfg, counter)
    return figures


def small_day(spark, cfg, counter: JobCounter) -> dict:
    figures = {}
    cores = spark.sparkContext.defaultParallelism
    runs = []
    cpu = JvmCpu(spark) if Path("/proc/self/task").is_dir() else None
    for _ in range(3):
        before = cpu.snapshot() if cpu else {}
        _, secs = timed(run_daily, spark, cfg, FIRST)
        spent = cpu.spent(before, cpu.snapshot()) if cpu else {}
        runs.append((secs, dict(counter.seconds), dict(counter.seen), spent))
    runs.sort(key=lambda r: r[0])
    secs, per_step, jobs, spent = runs[len(runs) // 2]
    figures["small_day_seconds"] = round(secs, 2)
    print(f"\none small day ({FIRST}, daily step, warm session), median of {len(runs)}: {secs:.1f}s")
    print(f"{'step':10}  {'seconds':>8}  {'jobs':>5}")
    for name in pipeline.COMMANDS["daily"].steps:
        print(f"{name:10}  {per_step[name]:>8.2f}  {jobs[name]:>5}")
        figures[f"small_day_{name}_seconds"] = round(per_step[name], 2)
        figures[f"small_day_{name}_jobs"] = jobs[name]
    if spent:
        print(
            f"driver JVM CPU over that day: {sum(spent.values()):.1f}s on {cores} cores in {secs:.1f}s of wall time ("
            + ", ".join(f"{kind} {s:.1f}s" for kind, s in spent.items())
            + ")"
        )
        figures |= {f"small_day_cpu_{kind}_seconds": s for kind, s in spent.items()}

    return figures


def week(spark, cfg, counter: JobCounter) -> dict:
    figures = {}
    # the backfill of the week, then a resumed backfill whose days are all skipped
    _, secs = timed(lambda: list(run_dates(spark, cfg, "daily", _week(), new_run_id(), resumable=True, force=True)))
    figures["higgs_backfill_seconds"] = round(secs, 1)
    print(f"\nbackfill of the 7 Higgs days: {secs:.1f}s")
    outcomes, secs = timed(lambda: list(run_dates(spark, cfg, "daily", _week(), new_run_id(), resumable=True)))
    assert all(o.status == "skipped" for o in outcomes), [o.status for o in outcomes]
    figures["skip_seconds"] = round(secs / len(outcomes), 2)
    print(f"resumed backfill, every day skipped: {secs / len(outcomes):.2f}s per day")

    # the score step of the largest day
    samples = [timed(STEPS["score"], spark, cfg, LARGEST) for _ in range(2)]
    counts, secs = min(samples, key=lambda s: s[1])
    figures["score_step_seconds"] = round(secs, 1)
    figures["score_step_persons"] = counts["persons"]
    print(f"score step of {LARGEST}: {secs:.1f}s for {counts['persons']:,} persons ({counter.seen['score']} jobs)")
    return figures


def _week() -> list[dt.date]:
    return pipeline.dates_between(FIRST, LAST)


if __name__ == "__main__":
    main()
