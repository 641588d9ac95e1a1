"""Shared by the benchmarks: a synthetic world of a given total size, generated and ingested a day at a time."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from klout.config import Config, load_config
from klout.ingest.run import ingest
from klout.synth import generate_world, write_world
from klout.synth.population import Plan


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
    pid = spark.sparkContext._gateway.proc.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_world(spark, cfg: Config, work: Path) -> dict[dt.date, int]:
    """Generate the world under `work/world` and ingest it as production would: profiles and identities, then
    each day's interactions on their own. Returns the interactions ingested per day."""
    started = time.monotonic()
    plan = Plan.of(spark, cfg)
    counts = write_world(generate_world(spark, cfg), str(work / "world"))
    print(f"generated {counts['interactions']:,} interactions over {cfg.synth.days} days "
          f"({plan.n_bots:,} bots in rings) in {time.monotonic() - started:.1f}s", flush=True)
    started = time.monotonic()
    for kind in ("identities", "profiles"):
        ingest(spark, cfg, str(work / "world" / kind), "parquet", kind)
    per_day = {}
    for i in range(cfg.synth.days):
        day = cfg.synth.start_date + dt.timedelta(days=i)
        per_day[day] = ingest(spark, cfg, str(work / "world" / "interactions" / f"day={day}"), "parquet").accepted
    print(f"ingested {sum(per_day.values()):,} interactions in {time.monotonic() - started:.1f}s", flush=True)
    return per_day
