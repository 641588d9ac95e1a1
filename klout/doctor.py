"""`klout doctor`'s probes: can this session write, read and delete a Delta table in the configured warehouse, and
checkpoint into the configured checkpoint directory? Each probe cleans up after itself and reports what failed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pyspark.sql import SparkSession

from klout import checkpoints, paths
from klout.config import Config


@dataclass(frozen=True)
class Probe:
    """One place checked: what it is for, where it is, and the first line of the error (None: it works)."""

    place: str
    path: str
    error: str | None = None


def probe_warehouse(spark: SparkSession, cfg: Config) -> Probe:
    """Write a three-row Delta table under `<warehouse>/_doctor/`, count it back and delete it."""
    path = paths.joined(cfg.warehouse_root, "_doctor", uuid.uuid4().hex[:12])
    try:
        spark.range(3).write.format("delta").save(path)
        rows = spark.read.format("delta").load(path).count()
        paths.delete(spark, path)
        if rows != 3:
            return Probe("warehouse", path, f"wrote 3 rows, read back {rows}")
        if paths.exists(spark, path):
            return Probe("warehouse", path, "the probe table could not be deleted")
    except Exception as e:  # noqa: BLE001 - the probe reports any failure by its place instead of a stack trace
        return Probe("warehouse", path, _first_line(e))
    return Probe("warehouse", path)


def probe_checkpoints(spark: SparkSession, cfg: Config) -> Probe:
    """Checkpoint a three-row frame into a run folder of the checkpoint directory, as the graph pass does, and read it
    back (then deleted)."""
    where = checkpoints.directory(cfg)
    try:
        with checkpoints.run_folder(spark, cfg, "doctor") as folder:
            saved = paths.joined(folder, "probe")
            rows = checkpoints.save(spark.range(3), saved, 1, ["id"]).count()
            written = paths.exists(spark, f"{saved}/*")
        if rows != 3 or not written:
            return Probe("checkpoints", where, f"checkpointed {rows} rows, files written: {written}")
    except Exception as e:  # noqa: BLE001
        return Probe("checkpoints", where, _first_line(e))
    return Probe("checkpoints", where)


def _first_line(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]
