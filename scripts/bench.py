"""The pipeline's speed at given daily volumes, and a single-machine reference for its feature aggregation.

For each --scale (interactions a day; several: each in turn, in its own session and folder), generates the synthetic
world over a window of --window-days days plus the day before it (so the measured day, the last, has a full window of
history and expires a day), runs the daily step (features, graph, score) for every earlier day, then measures the
last day's ingest, features, graph and score: per step seconds, rows/s per core, shuffle bytes written and the driver
JVM's peak memory, and the graph's iterations (seconds each, edges/s per core, the time outside them). Then the same
day's feature aggregation (the features step's day part: edges and per-account metrics) runs in DuckDB over the
same Parquet files (the bronze table's current version, as `inputFiles()` lists them) with as many threads as Spark
has cores, and the ratio Spark / DuckDB is printed from this run, with both sides' metric totals to show they
computed the same thing. With several scales, each step's time(last scale) / time(first) beside the inputs' ratio.
The last line is one JSON object: every scale's figures, and the ratios.

    scripts/bench.sh --scale 1000000 [10000000] [--window-days 3] [--people N] [--workdir DIR] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import time

from bench_duckdb import run_day_aggregation
from benchworld import measured, workspace, world_config
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

STEPS = ("ingest", "features", "graph", "score")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--scale", type=int, nargs="+", required=True, metavar="N", help="interactions a day (several: each in turn)"
    )
    ap.add_argument(
        "--window-days",
        type=int,
        default=3,
        help="features.window_days for the run (default 3: the measured day has 3 days in its window)",
    )
    ap.add_argument("--people", type=int, help="people in the world (default: scale / 20, at least 2,000)")
    ap.add_argument("--workdir", help="keep data here, a folder per scale (default: a temporary directory, removed)")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    args = ap.parse_args()
    setup_logging()
    return args


def main() -> None:
    args = parse_args()
    days = args.window_days + 1
    figures: dict[str, dict] = {}
    with workspace(args.workdir) as work:
        for scale in args.scale:
            people = args.people or max(2_000, scale // 20)
            sets = ["spark.driver_memory=12g", f"features.window_days={args.window_days}", *args.sets]
            cfg = world_config(work / f"scale-{scale}", scale * days, days, people, sets)
            spark = get_spark(cfg)
            try:
                figures[str(scale)] = bench(spark, cfg, work / f"scale-{scale}", days)
            finally:
                spark.stop()
    out: dict[str, object] = {"scales": figures}
    if len(args.scale) > 1:
        out["ratios"] = scaling(figures[str(args.scale[0])], figures[str(args.scale[-1])])
    print(json.dumps(out, sort_keys=True))


def scaling(small: dict, large: dict) -> dict[str, float]:
    """time(large) / time(small) per step beside the ratio of their inputs, printed and returned."""
    ratios = {"rows": large["rows"] / small["rows"]}
    print(f"\nscaling: {large['rows']:,} / {small['rows']:,} interactions a day = {ratios['rows']:.2f}x the input")
    print(f"{'step':10}  {'time ratio':>10}  {'shuffle ratio':>13}  grew faster than its input")
    for name in (*STEPS, "total"):
        ratios[f"{name}_seconds"] = large[f"{name}_seconds"] / small[f"{name}_seconds"]
        shuffled = large[f"{name}_shuffle_bytes"] / max(1, small[f"{name}_shuffle_bytes"])
        print(
            f"{name:10}  {ratios[f'{name}_seconds']:>10.2f}  {shuffled:>13.2f}  "
            f"{'yes' if ratios[f'{name}_seconds'] > ratios['rows'] else 'no'}"
        )
    return {k: round(v, 3) for k, v in ratios.items()}


def timed(fn, *args):
    t0 = time.monotonic()
    out = fn(*args)
    return out, time.monotonic() - t0


def bench(spark, cfg, work, days) -> dict:
    """Build the world at one scale, time its last day step by step and against DuckDB; returns the figures."""
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

    cost = {}
    report, cost["ingest"] = measured(
        spark, ingest, spark, cfg, str(work / "world" / "interactions" / f"day={last}"), "parquet"
    )
    rows = report.accepted
    check_inputs(spark, cfg, last)
    feats, cost["features"] = measured(spark, run_features, spark, cfg, last)
    seen = []
    graph, cost["graph"] = measured(spark, run_graph, spark, cfg, last, seen.append)
    scored, cost["score"] = measured(spark, run_score, spark, cfg, last)
    conv = seen[0]
    total = sum(c.seconds for c in cost.values())

    print(
        f"\nday {last}: {rows:,} interactions; window of {cfg.features.window_days} days: {graph['edges']:,} window "
        f"edges; {feats['features']:,} accounts with features; {scored.get('persons', 0):,} persons scored; "
        f"{cores} cores, driver memory {cfg.spark.driver_memory}"
    )
    print(f"{'step':10}  {'seconds':>8}  {'rows/s':>10}  {'rows/s/core':>11}  {'shuffle MiB':>11}  {'peak MiB':>8}")
    for name, c in cost.items():
        print(
            f"{name:10}  {c.seconds:>8.1f}  {rows / c.seconds:>10,.0f}  {rows / c.seconds / cores:>11,.0f}  "
            f"{c.shuffle_bytes / 2**20:>11,.1f}  {c.peak_mib:>8,.0f}"
        )
    print(f"{'total':10}  {total:>8.1f}  {rows / total:>10,.0f}  {rows / total / cores:>11,.0f}")
    per_iteration = sum(conv.seconds) / len(conv.seconds)
    edges_rate = graph["edges"] / per_iteration / cores
    outside = cost["graph"].seconds - sum(conv.seconds)
    print(
        f"graph: {conv.iterations} iterations (converged={conv.converged}, warm start), {per_iteration:.2f}s per "
        f"iteration, {edges_rate:,.0f} edges/s per core; outside the iterations {outside:.1f}s",
        flush=True,
    )

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
    figures: dict[str, float] = {"rows": rows, "cores": cores, "total_seconds": round(total, 2)}
    figures["total_shuffle_bytes"] = sum(c.shuffle_bytes for c in cost.values())
    for name, c in cost.items():
        figures |= {
            f"{name}_seconds": round(c.seconds, 2),
            f"{name}_rows_per_s_per_core": round(rows / c.seconds / cores),
        }
        figures |= {f"{name}_shuffle_bytes": c.shuffle_bytes, f"{name}_peak_mib": round(c.peak_mib)}
    figures |= {"graph_iterations": conv.iterations, "graph_window_edges": graph["edges"]}
    figures |= {"graph_seconds_per_iteration": round(per_iteration, 3), "graph_edges_per_s_per_core": round(edges_rate)}
    figures |= {"graph_outside_iterations_seconds": round(outside, 2)}
    figures |= {"graph_iteration_last_over_first": round(conv.seconds[-1] / conv.seconds[0], 3)}
    figures |= {"spark_aggregation_seconds": round(t_spark, 2), "duckdb_aggregation_seconds": round(t_duck, 2)}
    figures |= {"spark_duckdb_ratio": round(t_spark / t_duck, 3)}
    return figures


if __name__ == "__main__":
    main()
