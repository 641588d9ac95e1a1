"""Shared by the benchmark scripts: their arguments, a scratch workspace with a Spark session, and a synthetic world
of a given total size, generated and ingested a day at a time."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from klout.config import Config, load_config
from klout.ingest.run import ingest
from klout.progress import setup_logging
from klout.session import get_spark
from klout.synth import generate_world, write_world
from klout.synth.population import Plan

T = TypeVar("T")


def bench_args(doc: str, extra: bool = True, options: list[tuple[str, dict]] = ()) -> argparse.Namespace:
    """Parse a script's arguments: --workdir and --set always; the world's size (--interactions, --days, --people)
    with `extra`; the script's own `options` (flag, add_argument keywords). Also turns klout's progress logging on."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, kwargs in options:
        ap.add_argument(flag, **kwargs)
    if extra:
        ap.add_argument("--interactions", type=int, default=1_000_000, help="total interactions in the world")
        ap.add_argument("--days", type=int, help="days of data (default: features.window_days + 1)")
        ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--workdir", help="keep (or reuse) data here (default: a temporary directory, removed)")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    args = ap.parse_args()
    setup_logging()
    return args


@contextmanager
def workspace(workdir: str | None) -> Iterator[Path]:
    """`workdir`, or a temporary directory removed when the block ends."""
    path = Path(workdir or tempfile.mkdtemp(prefix="klout-bench-"))
    try:
        yield path
    finally:
        if not workdir:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def bench_session(args: argparse.Namespace) -> Iterator[tuple[Path, Config, int, object]]:
    """(workspace, config of a world of args.interactions over `days`, days, Spark session); the session is stopped
    and a temporary workspace removed when the block ends."""
    with workspace(args.workdir) as work:
        days = args.days or load_config(sets=args.sets).features.window_days + 1
        cfg = world_config(work, args.interactions, days, args.people, args.sets)
        spark = get_spark(cfg)
        try:
            yield work, cfg, days, spark
        finally:
            spark.stop()


def world_config(work: Path, interactions: int, days: int, people: int, sets: list[str]) -> Config:
    """Config for a world of about `interactions` in total (honest reactions plus the bot rings' own) over `days`."""
    base = [f"warehouse={work}/warehouse", f"synth.days={days}", f"synth.people={people}", *sets]
    cfg = load_config(sets=base)
    s = cfg.synth
    n_bots = int(round(s.people * s.bot_share / s.ring_size)) * s.ring_size
    honest = max(1, interactions // days - n_bots * s.ring_reactions_per_bot_per_day)
    return load_config(sets=[*base, f"synth.interactions_per_day={honest}"])


def jvm_peak_rss_mb(spark) -> float:
    """Peak resident memory (VmHWM) of the driver JVM, in MiB (local mode: the whole of Spark)."""
    for line in Path(f"/proc/{_jvm_pid(spark)}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _jvm_pid(spark) -> int:
    return spark.sparkContext._gateway.proc.pid


def shuffle_bytes(spark) -> int:
    """Shuffle bytes written so far by every executor of the application, from Spark's status store (what its UI
    shows), once the listener bus has delivered every finished task's metrics."""
    sc = spark.sparkContext._jsc.sc()
    sc.listenerBus().waitUntilEmpty()
    executors = sc.statusStore().executorList(False)
    return sum(executors.apply(i).totalShuffleWrite() for i in range(executors.size()))


@dataclass
class Measured:
    """What one measured call cost: wall seconds, shuffle bytes written, and the driver JVM's peak resident memory
    during the call (its high-water mark reset before it; local mode: the whole of Spark)."""

    seconds: float
    shuffle_bytes: int
    peak_mib: float


def measured(spark, fn: Callable[..., T], *args) -> tuple[T, Measured]:
    """`fn(*args)` and what it cost (`Measured`)."""
    Path(f"/proc/{_jvm_pid(spark)}/clear_refs").write_text("5")  # resets VmHWM to the current resident memory
    shuffled, started = shuffle_bytes(spark), time.monotonic()
    out = fn(*args)
    seconds = time.monotonic() - started
    return out, Measured(seconds, shuffle_bytes(spark) - shuffled, jvm_peak_rss_mb(spark))


def build_world(spark, cfg: Config, work: Path) -> dict[dt.date, int]:
    """Generate the world under `work/world` and ingest it as production would: profiles and identities, then
    each day's interactions on their own. Returns the interactions ingested per day."""
    started = time.monotonic()
    plan = Plan.of(spark, cfg)
    counts = write_world(generate_world(spark, cfg), str(work / "world"))
    print(
        f"generated {counts['interactions']:,} interactions over {cfg.synth.days} days "
        f"({plan.n_bots:,} bots in rings) in {time.monotonic() - started:.1f}s",
        flush=True,
    )
    started = time.monotonic()
    for kind in ("identities", "profiles"):
        ingest(spark, cfg, str(work / "world" / kind), "parquet", kind)
    per_day = {}
    for i in range(cfg.synth.days):
        day = cfg.synth.start_date + dt.timedelta(days=i)
        per_day[day] = ingest(spark, cfg, str(work / "world" / "interactions" / f"day={day}"), "parquet").accepted
    print(f"ingested {sum(per_day.values()):,} interactions in {time.monotonic() - started:.1f}s", flush=True)
    return per_day
