"""Benchmark the graph pass and the score step on a synthetic world with a full window of features.

With a fresh --workdir it generates a world of --interactions over --days days and runs the features step for each
day (as scripts/bench_features.py does; point --workdir at that benchmark's kept workdir to reuse it). Then, on the
last day D, it prints:
  - a cold graph pass (from the prior, the window's edges rebuilt): iterations to converge, seconds per iteration;
  - a warm pass: the pass of D-1 (cold), then D warm-started from it, its window edges advanced from D-1's;
  - 30 forced iterations (tolerance 0): seconds per iteration, first five against last five (no lineage growth);
  - the score step's seconds;
  - true reach counted exactly (count of the window's unique reactor pairs) against approx_count_distinct.

    .venv/bin/python scripts/bench_graph.py --interactions 10000000 --workdir /tmp/bench/f10m
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import statistics
import time

from benchworld import bench_args, bench_session, build_world, jvm_peak_rss_mb
from pyspark.sql import functions as F

from klout import tables
from klout.features.run import run_features
from klout.graph.run import run_graph
from klout.graph.window import window_edges
from klout.score.run import run_score
from klout.warehouse import Warehouse


def timed_pass(spark, cfg, day):
    """run_graph of `day`: (the pass's Convergence, the step's seconds)."""
    seen = []
    t0 = time.monotonic()
    run_graph(spark, cfg, day, on_converged=seen.append)
    return seen[0], time.monotonic() - t0


FIGURES: dict = {}  # every figure printed, for the closing JSON line


def describe(name, result, seconds):
    per = result.seconds
    key = name.split(" ")[0] if not name[0].isdigit() else "forced"
    FIGURES.update({f"{key}_seconds": round(seconds, 2), f"{key}_iterations": result.iterations})
    FIGURES[f"{key}_seconds_per_iteration"] = round(statistics.mean(per), 3)
    print(
        f"{name}: {result.iterations} iterations, converged={result.converged}, step {seconds:.1f}s, "
        f"per iteration mean {statistics.mean(per):.2f}s (min {min(per):.2f}, max {max(per):.2f})",
        flush=True,
    )


def main() -> None:
    with bench_session(bench_args(__doc__)) as (work, cfg, days, spark):
        run(spark, cfg, work, days)
    print(json.dumps(FIGURES, sort_keys=True))


def run(spark, cfg, work, days) -> None:
    last = cfg.synth.start_date + dt.timedelta(days=days - 1)
    if Warehouse(spark, cfg)[tables.FEATURES].partition(last) is None:
        build_world(spark, cfg, work)
        t0 = time.monotonic()
        for i in range(days):
            run_features(spark, cfg, cfg.synth.start_date + dt.timedelta(days=i))
        print(f"features for {days} days in {time.monotonic() - t0:.0f}s", flush=True)
    cores = spark.sparkContext.defaultParallelism
    window = window_edges(Warehouse(spark, cfg)[tables.EDGES_DAILY].read(), last, cfg).cache()
    in_window = (
        Warehouse(spark, cfg)[tables.INTERACTIONS]
        .read()
        .where(F.col("event_date") > F.lit(last - dt.timedelta(days=cfg.features.window_days)))
        .count()
    )
    pairs = window.count()
    biggest = window.groupBy("network", "target_id").count().agg(F.max("count")).first()[0]
    print(
        f"\nwindow ending {last}: {in_window:,} interactions -> {pairs:,} reactor->account edges; "
        f"largest in-degree {biggest:,} (a celebrity); cores {cores}",
        flush=True,
    )

    cold_cfg = dataclasses.replace(cfg, graph=dataclasses.replace(cfg.graph, warm_start=False))
    # cold: no influence to start from, and the window's edges rebuilt from its daily edges (no state of the day
    # before); the warm pass then advances the day before's window edges by a day
    Warehouse(spark, cfg)[tables.WINDOW_EDGES].delete(F.lit(True))
    result, secs = timed_pass(spark, cold_cfg, last)
    describe("cold start", result, secs)
    timed_pass(spark, cold_cfg, last - dt.timedelta(days=1))
    result, secs = timed_pass(spark, cfg, last)
    describe("warm start (from the day before)", result, secs)
    forced_cfg = dataclasses.replace(cfg, graph=dataclasses.replace(cfg.graph, tolerance=0.0, max_iterations=30))
    result, secs = timed_pass(spark, forced_cfg, last)
    describe("30 forced iterations", result, secs)
    first, final = statistics.mean(result.seconds[:5]), statistics.mean(result.seconds[-5:])
    print(f"  per-iteration seconds: {' '.join(f'{s:.2f}' for s in result.seconds)}")
    print(f"  first five {first:.2f}s, last five {final:.2f}s: ratio {final / first:.2f}", flush=True)
    # the warm pass wrote account_influence for `last` again with the default config: score from it
    run_graph(spark, cfg, last)
    t0 = time.monotonic()
    counts = run_score(spark, cfg, last)
    FIGURES.update(score_step_seconds=round(time.monotonic() - t0, 2), score_step_persons=counts.get("persons", 0))
    print(f"score step: {counts.get('persons', 0):,} persons in {FIGURES['score_step_seconds']:.1f}s", flush=True)

    t0 = time.monotonic()
    exact = window.groupBy("network", "target_id").count().agg(F.sum("count")).first()[0]
    t_exact = time.monotonic() - t0
    edges_daily = (
        Warehouse(spark, cfg)[tables.EDGES_DAILY]
        .read()
        .where(F.col("date") > F.lit(last - dt.timedelta(days=cfg.features.window_days)))
    )
    t0 = time.monotonic()
    approx = (
        edges_daily.groupBy("network", "target_id")
        .agg(F.approx_count_distinct("actor_id").alias("n"))
        .agg(F.sum("n"))
        .first()[0]
    )
    t_approx = time.monotonic() - t0
    t0 = time.monotonic()
    distinct = (
        edges_daily.groupBy("network", "target_id")
        .agg(F.countDistinct("actor_id").alias("n"))
        .agg(F.sum("n"))
        .first()[0]
    )
    t_distinct = time.monotonic() - t0
    print(
        f"true reach over all accounts: unique window pairs counted {exact:,} in {t_exact:.1f}s (the pairs are "
        f"cached by the pass); countDistinct over daily edges {distinct:,} in {t_distinct:.1f}s; "
        f"approx_count_distinct {approx:,} in {t_approx:.1f}s",
        flush=True,
    )
    FIGURES.update(
        {
            "edges": pairs,
            "reach_exact_seconds": round(t_exact, 2),
            "reach_distinct_seconds": round(t_distinct, 2),
        }
    )
    FIGURES.update(reach_approx_seconds=round(t_approx, 2), peak_jvm_mib=round(jvm_peak_rss_mb(spark)))
    print(f"peak JVM RSS {jvm_peak_rss_mb(spark):,.0f} MiB")


if __name__ == "__main__":
    main()
