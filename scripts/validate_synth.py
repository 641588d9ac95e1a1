"""Do the scores recover the synthetic world's hidden influence? Spearman of ours and of two baselines.

Generates the `synth` world (conf/default.yaml plus any --set), ingests it, runs the daily step for every day, then
compares, per true person, the last day's score with the hidden influence, against log followers and the raw count
of reactions received in the window; and the planted bots' scores against honest people's.

    .venv/bin/python scripts/validate_synth.py [--set synth.days=10] [--workdir DIR]
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from benchworld import bench_args, workspace
from klout import tables
from klout.config import load_config
from klout.daily import run_daily
from klout.ingest.run import ingest
from klout.session import get_spark
from klout.synth import generate_world, write_world
from klout.validation import per_true_person, truth_correlations


def main() -> None:
    args = bench_args(__doc__, extra=False)
    with workspace(args.workdir) as work:
        cfg = load_config(sets=[f"warehouse={work}/warehouse", *args.sets])
        spark = get_spark(cfg)
        try:
            validate(spark, cfg, work)
        finally:
            spark.stop()


def validate(spark, cfg, work) -> None:
    """Generate and ingest the world, run the daily step for every day, print how the last day's scores fare."""
    write_world(generate_world(spark, cfg), str(work / "world"))
    for kind in ("identities", "profiles", "interactions"):
        ingest(spark, cfg, str(work / "world" / kind), "parquet", kind)
    days = [cfg.synth.start_date + dt.timedelta(days=i) for i in range(cfg.synth.days)]
    for day in days:
        run_daily(spark, cfg, day)
    last = days[-1]
    truth = {n: spark.read.parquet(str(work / "world" / "truth" / n)) for n in ("people", "accounts")}
    people = per_true_person(tables.partition(spark, cfg, tables.SCORES, last),
                             tables.partition(spark, cfg, tables.FEATURES, last),
                             tables.read(spark, cfg, tables.IDENTITIES), truth["people"], truth["accounts"])
    rho = truth_correlations(people)
    s = cfg.synth
    print(f"\nworld: {s.people:,} people, {s.days} days, {s.interactions_per_day:,} honest reactions a day, "
          f"seed {s.seed}; scores of {last}")
    print("Spearman with the hidden influence (per true person):")
    for name, value in rho.items():
        print(f"  {name:14s} {value:.3f}")
    for row in (people.groupBy("is_bot").agg(F.count(F.lit(1)).alias("n"), F.avg("score").alias("score"),
                                              F.avg("reactions").alias("reactions"))
                .orderBy("is_bot").collect()):
        print(f"  {'bots' if row['is_bot'] else 'honest':6s}: {row['n']:,} people, mean score "
              f"{row['score']:.1f}, mean reactions received {row['reactions']:.1f}")


if __name__ == "__main__":
    main()
