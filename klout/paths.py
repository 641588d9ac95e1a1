"""Where a path points: a URI (s3a://, hdfs://, file://) is used as given, a local path is made absolute; and the
few things the driver does to a path itself (does it exist, delete a run's files), through Hadoop's FileSystem, so
a local folder and an object store behave alike."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the path arithmetic is used before Spark is imported
    from pyspark.sql import SparkSession


def is_uri(path: str) -> bool:
    """True for a URI with a scheme (object storage, HDFS, file://); False for a plain local path."""
    return "://" in path


def resolved(path: str) -> str:
    """A URI as given, a local path absolute (with ~ expanded): what Spark and Delta are handed."""
    return path if is_uri(path) else str(Path(path).expanduser().resolve())


def joined(root: str, *parts: str) -> str:
    """`root`/`parts` for a URI or a local path alike (no doubled slashes)."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def basename(path: str) -> str:
    """The last part of a local path or a URI (`s3a://b/in/x.jsonl.gz` → `x.jsonl.gz`)."""
    return path.rstrip("/").rsplit("/", 1)[-1]


def exists(spark: SparkSession, path: str) -> bool:
    """Whether `path` (a file, a folder, or a glob that matches something) exists, through its Hadoop FileSystem,
    as Spark's readers will see it: the same call for a local path and an object store."""
    fs, hpath = _filesystem(spark, resolved(path))
    found = fs.globStatus(hpath)
    return found is not None and len(found) > 0


def delete(spark: SparkSession, path: str) -> None:
    """Delete `path` and everything under it, wherever it is (nothing when absent)."""
    fs, hpath = _filesystem(spark, resolved(path))
    fs.delete(hpath, True)


def move_single_part(spark: SparkSession, folder: str, target: str) -> None:
    """Move the one data file Spark wrote into `folder` (its `part-*` file) to `target`, replacing what was there,
    then delete `folder`: how a single-file export gets its name (a rename within the store, no data through the
    driver)."""
    fs, hfolder = _filesystem(spark, resolved(folder))
    parts = [status.getPath() for status in fs.globStatus(hfolder.suffix("/part-*")) or []]
    if len(parts) != 1:
        raise RuntimeError(f"{folder}: expected one part file, found {len(parts)}")
    _, htarget = _filesystem(spark, resolved(target))
    fs.delete(htarget, True)
    # the local FileSystem keeps a .crc beside each file: move the file alone, the checksum goes with the folder
    mover = fs.getRawFileSystem() if fs.getScheme() == "file" else fs
    if not mover.rename(parts[0], htarget):
        raise RuntimeError(f"could not move {parts[0]} to {target}")
    fs.delete(hfolder, True)


def _filesystem(spark: SparkSession, path: str):
    """(Hadoop FileSystem, Hadoop Path) of `path`, through the session's JVM and Hadoop configuration."""
    sc = spark.sparkContext
    jvm = sc._jvm
    assert jvm is not None  # set for as long as the SparkContext is alive
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(sc._jsc.hadoopConfiguration()), hpath
