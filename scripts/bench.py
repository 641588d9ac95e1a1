"""The pipeline's speed at a given daily volume, and a single-machine reference for its feature aggregation.

Generates the synthetic world at --scale interactions a day over a window of --window-days days plus the day
before it (so the measured day, the last, has a full window of history and expires a day), runs the daily step
(features, graph, score) for every earlier day, then times the last day's ingest, features, graph and score and
prints per-step seconds, rows/s per core, the driver JVM's peak memory and the graph's iterations. Then the same
day's feature aggregation (the features step's day part: edges and per-account metrics) runs in DuckDB over the
same Parquet files (the bronze table's current version, as `inputFiles()` lists them) with as many threads as Spark
has cores, and the ratio Spark / DuckDB is printed from this run, with both sides' metric totals to show they
computed the same thing.

    scripts/bench.sh --scale 1000000 [--window-days 3] [--people N] [--workdir DIR] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import time

from bench_duckdb import run_day_aggregation
from benchworld import jvm_peak_rss_mb, workspace, world_config
from pyspark.sql import functions as F

from klout import tables
from klout.features.aggregates import aggregate_days
from klout.features.run import run_features
from klout.graph.run import run_graph
from klout.ingest.run import ingest
from klout.pipeline import check_inputs, run_daily
from klout.progress import setup_logging
from klout.score.run import run_score
from klout.session import get_spark
from klout.synth import generate_world, write_world
from klout.warehouse import Warehouse


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, required=True, metavar="N", help="interactions a day")
    ap.add_argument(
        "--window-days",
        type=int,
        default=3,
        help="features.window_days for the run (default 3: the measured day has 3 days in its window)",
    )
    ap.add_argument("--people", type=int, help="people in the world (default: scale / 20, at least 2,000)")
    ap.add_argument("--workdir", help="keep data here (default: a temporary directory, removed)")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    args = ap.parse_args()
    setup_logging()
    return args


def main() -> None:
    args = parse_args()
    days = args.window_days + 1
    people = args.people or max(2_000, args.scale // 20)
    with workspace(args.workdir) as work:
        sets = ["spark.driver_memory=12g", f"features.window_days={args.window_days}", *args.sets]
        cfg = world_config(work, args.scale * days, days, people, sets)
        spark = get_spark(cfg)
        try:
            bench(spark, cfg, work, days)
        finally:
            spark.stop()


def timed(fn, *args):
    t0 = time.monotonic()
    out = fn(*args)
    return out, time.monotonic() - t0


def bench(spark, cfg, work, days) -> None:
    cores = spark.sparkContext.defaultParallelism
    s = cfg.synth
    last = s.start_date + dt.timedelta(days=days - 1)
    counts, secs = timed(write_world, generate_world(spark, cfg), str(work / "world"))
    print(
        f"generated {counts['interactions']:,} interactions over {days} days ({s.people:,} people) in {secs:.0f}s",
        flush=True,
    )
    for kind in ("identities", "profiles"):
        ingest(spark, cfg, str(work / "world" / kind), "parquet", kind)
    t0 = time.monotonic()
    for i in range(days - 1):
        day = s.start_date + dt.timedelta(days=i)
        ingest(spark, cfg, str(work / "world" / "interactions" / f"day={day}"), "parquet")
        run_daily(spark, cfg, day)
    print(f"history: {days - 1} days ingested and run in {time.monotonic() - t0:.0f}s", flush=True)

    report, t_ingest = timed(ingest, spark, cfg, str(work / "world" / "interactions" / f"day={last}"), "parquet")
    rows = report.accepted
    check_inputs(spark, cfg, last)
    feats, t_features = timed(run_features, spark, cfg, last)
    seen = []
    _, t_graph = timed(run_graph, spark, cfg, last, seen.append)
    scored, t_score = timed(run_score, spark, cfg, last)
    conv = seen[0]
    window_edges = (
        Warehouse(spark, cfg)[tables.EDGES_DAILY]
        .read()
        .where(F.col("date") > F.lit(last - dt.timedelta(days=cfg.features.window_days)))
        .count()
    )

    print(
        f"\nday {last}: {rows:,} interactions; window of {cfg.features.window_days} days: {window_edges:,} daily "
        f"edges; {feats['features']:,} accounts with features; {scored.get('persons', 0):,} persons scored; "
        f"{cores} cores, driver memory {cfg.spark.driver_memory}"
    )
    print(f"{'step':10}  {'seconds':>8}  {'rows/s':>10}  {'rows/s/core':>11}")
    steps = (("ingest", t_ingest), ("features", t_features), ("graph", t_graph), ("score", t_score))
    for name, secs in (*steps, ("total", sum(t for _, t in steps))):
        print(f"{name:10}  {secs:>8.1f}  {rows / secs:>10,.0f}  {rows / secs / cores:>11,.0f}")
    print(
        f"graph: {conv.iterations} iterations (converged={conv.converged}, warm start), "
        f"{sum(conv.seconds) / len(conv.seconds):.2f}s per iteration"
    )
    print(f"peak memory: driver JVM {jvm_peak_rss_mb(spark):,.0f} MiB", flush=True)

    # the same day's aggregation, Spark (aggregate_days: edges + metrics, written to Delta) against DuckDB (to Parquet)
    events = Warehouse(spark, cfg)[tables.INTERACTIONS].read().where(F.col("event_date") == F.lit(last)).inputFiles()
    _, t_spark = timed(aggregate_days, spark, cfg, [last], None)
    spark_totals = dict(
        Warehouse(spark, cfg)[tables.ACCOUNT_DAILY]
        .read()
        .where(F.col("date") == F.lit(last))
        .groupBy("metric")
        .agg(F.sum("value"))
        .collect()
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t_duck, duck_totals = run_day_aggregation(cfg, events, work / "duckdb", cores)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nday aggregation over {len(events)} Parquet files of bronze ({rows:,} rows): Spark {t_spark:.1f}s, "
        f"DuckDB {t_duck:.1f}s ({cores} threads): ratio Spark/DuckDB {t_spark / t_duck:.2f}"
    )
    print(f"peak memory: Python process (DuckDB in it) {max(rss_before, rss_after):,.0f} MiB")
    print(f"{'metric':28}  {'Spark total':>18}  {'DuckDB total':>18}")
    for metric in sorted(spark_totals):
        print(f"{metric:28}  {spark_totals[metric]:>18,.3f}  {duck_totals.get(metric, float('nan')):>18,.3f}")
    print(f"host: {os.cpu_count()} CPUs, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB")
    figures = {f"{name}_seconds": round(secs, 2) for name, secs in steps}
    figures |= {"total_seconds": round(sum(t for _, t in steps), 2), "rows": rows, "cores": cores}
    figures |= {"graph_iterations": conv.iterations, "spark_aggregation_seconds": round(t_spark, 2)}
    figures |= {"duckdb_aggregation_seconds": round(t_duck, 2), "ratio_spark_duckdb": round(t_spark / t_duck, 3)}
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
