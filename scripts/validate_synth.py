"""The evaluation on the synthetic world: does the score recover the hidden influence, and what does gaming do?

Generates the `synth` world (conf/default.yaml plus any --set), ingests it, runs the daily step for every day, then
`klout evaluate`s the second-to-last day against the last (--horizon 1) and, per true person, against the hidden
influence, with the three baselines. Then, on a copy of the warehouse, plants the five gaming experiments
(`klout.evaluation.gaming`) on the last day and adds what each did to the report as a line.

    .venv/bin/python scripts/validate_synth.py [--set synth.days=10] [--workdir DIR]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

from benchworld import bench_args, workspace

from klout.config import load_config
from klout.evaluation.gaming import run_experiments
from klout.evaluation.report import LABELS
from klout.evaluation.run import run_evaluate
from klout.ingest.run import ingest
from klout.pipeline import run_daily
from klout.session import get_spark
from klout.synth import generate_world, write_world


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
    """Generate and ingest the world, run every day, evaluate the second-to-last day, run the gaming experiments
    on a copy and write the report with their lines."""
    write_world(generate_world(spark, cfg), str(work / "world"))
    for kind in ("identities", "profiles", "interactions"):
        ingest(spark, cfg, str(work / "world" / kind), "parquet", kind)
    days = [cfg.synth.start_date + dt.timedelta(days=i) for i in range(cfg.synth.days)]
    for day in days:
        run_daily(spark, cfg, day)

    copy = work / "gaming"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(work / "warehouse", copy / "warehouse")
    gamed = dataclasses.replace(
        cfg, warehouse=str(copy / "warehouse"), quality=dataclasses.replace(cfg.quality, enforce=False)
    )
    effects = run_experiments(spark, gamed, days[-1], str(copy / "planted"))
    notes = [f"Gaming experiments on {days[-1]} (`klout.evaluation.gaming`, on a copy of the warehouse):", ""]
    notes += [f"- {e.statement}" for e in effects]

    ev, out = run_evaluate(spark, cfg, days[-2], 1, truth_dir=str(work / "world" / "truth"), notes=notes)
    s = cfg.synth
    print(
        f"\nworld: {s.people:,} people, {s.days} days, {s.interactions_per_day:,} honest reactions a day, "
        f"seed {s.seed}; scores of {days[-2]}"
    )
    for target, qs in ev.results.items():
        print(
            f"{target} ({qs[0].persons:,} compared): "
            + "; ".join(
                f"{LABELS[q.predictor]} spearman {q.spearman:.3f} ndcg@{q.k} {q.ndcg_at_k or 0:.3f} "
                f"precision@{q.k} {q.precision_at_k:.2f}"
                for q in qs
            )
        )
    print("\n".join(notes))
    print(f"report: {out}/report.md")


if __name__ == "__main__":
    main()
