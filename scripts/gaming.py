"""The gaming experiments on any scored warehouse (the Higgs week of `scripts/demo.sh`, a user's own): copies the
warehouse (a local folder), plants the five tricks (`klout.evaluation.gaming`) on --date in the copy, reruns that
day there and prints what each did; the warehouse itself is left as it was. The last line is one JSON object with
every figure.

    .venv/bin/python scripts/gaming.py --date 2012-07-04 [--network twitter] [--set warehouse=DIR] [--workdir DIR]

A network without profiles (Higgs) has no buyers: the bought-followers line says it was not measured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

from benchworld import bench_args, workspace

from klout.config import load_config
from klout.evaluation.gaming import run_experiments
from klout.session import get_spark


def main() -> None:
    args = bench_args(
        __doc__,
        extra=False,
        options=[
            ("--date", {"required": True, "type": dt.date.fromisoformat, "help": "a scored day with one before it"}),
            ("--network", {"default": "twitter"}),
        ],
    )
    cfg = load_config(sets=args.sets)
    with workspace(args.workdir) as work:
        copy = work / "warehouse"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(Path(cfg.warehouse), copy, ignore=shutil.ignore_patterns("_checkpoints", "reports"))
        gamed = dataclasses.replace(cfg, warehouse=str(copy), quality=dataclasses.replace(cfg.quality, enforce=False))
        spark = get_spark(gamed)
        try:
            effects = run_experiments(spark, gamed, args.date, str(work / "planted"), args.network)
        finally:
            spark.stop()
    print(f"Gaming experiments on {args.date} ({args.network}, on a copy of {cfg.warehouse}):")
    for e in effects:
        print(f"- {e.statement}")
    print(json.dumps({"date": args.date.isoformat(), **{e.experiment: e.numbers for e in effects}}))


if __name__ == "__main__":
    main()
