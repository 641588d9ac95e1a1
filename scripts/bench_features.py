"""Benchmark the incremental features step: a cold day versus a day with a full window of history.

Generates a synthetic world of `--interactions` reactions spread over `--days` days (default: the window plus one,
so the last day both has a full window of history and expires a day), ingests it, runs the features step day by
day in order, and prints per-day seconds, rows/s and the driver JVM's peak memory, then the cold/full ratio.

    .venv/bin/python scripts/bench_features.py --interactions 10000000 [--people 200000] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from pyspark.sql import functions as F

from benchworld import build_world, jvm_peak_rss_mb, world_config
from klout import tables
from klout.config import load_config
from klout.features.run import run_features
from klout.progress import setup_logging
from klout.session import get_spark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interactions", type=int, default=1_000_000, help="total interactions in the world")
    ap.add_argument("--days", type=int, help="days of data (default: features.window_days + 1)")
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--workdir", help="keep data here (default: a temporary directory, removed)")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    args = ap.parse_args()
    setup_logging()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="klout-bench-"))
    days = args.days or load_config(sets=args.sets).features.window_days + 1
    cfg = world_config(work, args.interactions, days, args.people, args.sets)
    spark = get_spark(cfg)
    try:
        per_day = build_world(spark, cfg, work)
        cores = spark.sparkContext.defaultParallelism
        print(f"\n{'day':>4}  {'date':10}  {'history':>7}  {'rows':>10}  {'seconds':>8}  {'rows/s':>9}  "
              f"{'rows/s/core':>11}  {'peak MiB':>8}")
        results = []
        for i in range(days):
            day = cfg.synth.start_date + dt.timedelta(days=i)
            t0 = time.monotonic()
            run_features(spark, cfg, day)
            secs = time.monotonic() - t0
            rows = per_day.get(day, 0)
            history = min(i, cfg.features.window_days - 1)
            results.append((i + 1, day, history, rows, secs))
            print(f"{i + 1:>4}  {day}  {history:>7}  {rows:>10,}  {secs:>8.2f}  {rows / secs:>9,.0f}  "
                  f"{rows / secs / cores:>11,.0f}  {jvm_peak_rss_mb(spark):>8,.0f}", flush=True)
        cold = results[0]
        full = [r for r in results if r[2] == cfg.features.window_days - 1]
        warm = results[1:4]  # the first days after the cold one (JIT warm-up done), same daily volume
        if full:
            f = full[-1]
            w = sum(r[4] for r in warm) / len(warm) if warm else cold[4]
            print(f"\ncold day: {cold[4]:.2f}s; day with {f[2]} days of history: {f[4]:.2f}s; "
                  f"ratio full/cold {f[4] / cold[4]:.2f}; ratio full/early-warm (days 2-4) {f[4] / w:.2f}; "
                  f"cores {cores}; peak JVM RSS {jvm_peak_rss_mb(spark):,.0f} MiB")
        state_rows = tables.read(spark, cfg, tables.FEATURE_STATE).groupBy("date").count() \
            .agg(F.max("count")).first()[0]
        print(f"largest feature_state partition: {state_rows:,} rows")
    finally:
        spark.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
