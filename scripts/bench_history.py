"""What a long history costs: a synthetic world ingested whole into bronze, then scored from it in one pass.

    scripts/bench.sh history [--days 90] [--per-day 100000] [--people 25000] [--score-days last|all|both]
                             [--workdir DIR] [--set key=value ...]

The defaults are the 90 days of 100,000 interactions; the forum-sized history is
`--days 2372 --per-day 211 --people 25000 --score-days last` (500k interactions over 6.5 years, one score date).
Each measured run starts from bronze alone (the derived tables of the previous run dropped). Ends with one line of
JSON holding every figure printed.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time

from benchworld import bench_args, workspace, world_config

from klout.ingest.run import ingest
from klout.pipeline import dates_between, run_dates
from klout.runlog import new_run_id
from klout.session import get_spark
from klout.synth import generate_world, write_world

DERIVED = ("silver", "gold", "ops", "_checkpoints")


def main() -> None:
    args = bench_args(
        __doc__,
        extra=False,
        options=[
            ("--days", {"type": int, "default": 90}),
            ("--per-day", {"type": int, "default": 100_000}),
            ("--people", {"type": int, "default": 25_000}),
            ("--score-days", {"choices": ("last", "all", "both"), "default": "both"}),
            ("--name", {"default": "backfill_90_days", "help": "prefix of the figures' JSON keys"}),
        ],
    )
    with workspace(args.workdir) as work:
        sets = ["spark.driver_memory=12g", "quality.enforce=false", *args.sets]
        cfg = world_config(work, args.per_day * args.days, args.days, args.people, sets)
        spark = get_spark(cfg)
        try:
            figures = bench(spark, cfg, work, args)
        finally:
            spark.stop()
    print(json.dumps(figures, sort_keys=True))


def bench(spark, cfg, work, args) -> dict:
    s = cfg.synth
    days = dates_between(s.start_date, s.start_date + dt.timedelta(days=s.days - 1))
    figures: dict = {"days": len(days), "cores": spark.sparkContext.defaultParallelism}
    if not (work / "warehouse" / "bronze" / "interactions").exists():
        t0 = time.monotonic()
        counts = write_world(generate_world(spark, cfg), str(work / "world"))
        for kind in ("identities", "profiles", "interactions"):
            ingest(spark, cfg, str(work / "world" / kind), "parquet", kind)
        print(f"generated and ingested {counts['interactions']:,} interactions in {time.monotonic() - t0:.0f}s")
    modes = ("last", "all") if args.score_days == "both" else (args.score_days,)
    for mode in modes:
        for name in DERIVED:
            shutil.rmtree(work / "warehouse" / name, ignore_errors=True)
        t0 = time.monotonic()
        outcomes = list(run_dates(spark, cfg, "daily", days, new_run_id(), resumable=True, score_days=mode))
        secs = time.monotonic() - t0
        key = f"{args.name}_seconds" if mode == "all" else f"{args.name}_last_only_seconds"
        figures[key] = round(secs, 1)
        scored = sum(o.status == "succeeded" for o in outcomes)
        print(f"\n{len(days)} days from bronze, --score-days {mode}: {secs:.1f}s ({scored} date(s) scored)", flush=True)
    return figures


if __name__ == "__main__":
    main()
