"""Benchmark the incremental features step: a cold day versus a day with a full window of history.

Generates a synthetic world of `--interactions` reactions spread over `--days` days (default: the window plus one,
so the last day both has a full window of history and expires a day), ingests it, runs the features step day by
day in order, and prints per-day seconds, rows/s and the driver JVM's peak memory, then the cold/full ratio.

    .venv/bin/python scripts/bench_features.py --interactions 10000000 [--people 200000] [--set key=value ...]
"""

from __future__ import annotations

import datetime as dt
import json
import time

from benchworld import bench_args, bench_session, build_world, jvm_peak_rss_mb
from pyspark.sql import functions as F

from klout import tables
from klout.features.run import run_features
from klout.warehouse import Warehouse


def main() -> None:
    with bench_session(bench_args(__doc__)) as (work, cfg, days, spark):
        per_day = build_world(spark, cfg, work)
        cores = spark.sparkContext.defaultParallelism
        print(
            f"\n{'day':>4}  {'date':10}  {'history':>7}  {'rows':>10}  {'seconds':>8}  {'rows/s':>9}  "
            f"{'rows/s/core':>11}  {'peak MiB':>8}"
        )
        results = []
        for i in range(days):
            day = cfg.synth.start_date + dt.timedelta(days=i)
            t0 = time.monotonic()
            run_features(spark, cfg, day)
            secs = time.monotonic() - t0
            rows = per_day.get(day, 0)
            history = min(i, cfg.features.window_days - 1)
            results.append((i + 1, day, history, rows, secs))
            print(
                f"{i + 1:>4}  {day}  {history:>7}  {rows:>10,}  {secs:>8.2f}  {rows / secs:>9,.0f}  "
                f"{rows / secs / cores:>11,.0f}  {jvm_peak_rss_mb(spark):>8,.0f}",
                flush=True,
            )
        cold = results[0]
        full = [r for r in results if r[2] == cfg.features.window_days - 1]
        warm = results[1:4]  # the first days after the cold one (JIT warm-up done), same daily volume
        if full:
            f = full[-1]
            w = sum(r[4] for r in warm) / len(warm) if warm else cold[4]
            print(
                f"\ncold day: {cold[4]:.2f}s; day with {f[2]} days of history: {f[4]:.2f}s; "
                f"ratio full/cold {f[4] / cold[4]:.2f}; ratio full/early-warm (days 2-4) {f[4] / w:.2f}; "
                f"cores {cores}; peak JVM RSS {jvm_peak_rss_mb(spark):,.0f} MiB"
            )
        state_rows = (
            Warehouse(spark, cfg)[tables.FEATURE_STATE].read().groupBy("date").count().agg(F.max("count")).first()[0]
        )
        print(f"largest feature_state partition: {state_rows:,} rows")
        figures = {f"day_{r[0]}_seconds": round(r[4], 2) for r in results}
        figures |= {"cold_seconds": round(cold[4], 2), "largest_state_rows": state_rows, "cores": cores}
        if full:
            figures |= {
                "full_window_seconds": round(full[-1][4], 2),
                "ratio_full_cold": round(full[-1][4] / cold[4], 3),
            }
        print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
