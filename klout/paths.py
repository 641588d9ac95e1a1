"""Where a path points, and the few things the driver does to a path itself.

A URI (s3a://, gs://, abfss://, hdfs://, file://) is used as given, a local path is made absolute. Data moves only
through Spark's and Delta's readers and writers; the driver's own checks (does a path or a glob exist, delete a
run's folder, move a single-file export into place, write a small report) go through pyarrow's filesystems, from
the driver (or the Spark Connect client) itself: the same calls for a local folder and an object store, with no
JVM behind them, so they work in classic mode and over Spark Connect alike. An `s3a://` path is opened with the
session's `spark.hadoop.fs.s3a.*` settings (endpoint, region, keys, path style), so the driver sees the bucket the
executors see; other stores use pyarrow's own configuration (their environment variables)."""

from __future__ import annotations

import fnmatch
import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the path arithmetic is used before Spark (and pyarrow) are imported
    from pyarrow.fs import FileSystem
    from pyspark.sql import SparkSession

_S3A = "spark.hadoop.fs.s3a."
_GLOB = set("*?[")


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
    """Whether `path` (a file, a folder, or a glob that matches something) exists, as Spark's readers will see it."""
    fs, inner = _filesystem(spark, path)
    return bool(_matches(fs, inner))


def delete(spark: SparkSession, path: str) -> None:
    """Delete `path` and everything under it, wherever it is (nothing when absent)."""
    from pyarrow.fs import FileType

    fs, inner = _filesystem(spark, path)
    kind = fs.get_file_info(inner).type
    if kind == FileType.Directory:
        fs.delete_dir(inner)
    elif kind == FileType.File:
        fs.delete_file(inner)


def write_bytes(spark: SparkSession, path: str, data: bytes) -> None:
    """Write `data` as the file `path`, replacing it, on a local disk or an object store alike: for the few small
    files the driver itself makes (a report and its plot), never for data."""
    fs, inner = _filesystem(spark, path)
    fs.create_dir(inner.rsplit("/", 1)[0], recursive=True)  # a no-op on object stores
    with fs.open_output_stream(inner) as out:
        out.write(data)


def move_single_part(spark: SparkSession, folder: str, target: str) -> None:
    """Move the one data file Spark wrote into `folder` (its `part-*` file) to `target`, replacing what was there,
    then delete `folder` (with Spark's marker and checksum files): how a single-file export gets its name."""
    fs, inner = _filesystem(spark, folder)
    parts = _matches(fs, f"{inner}/part-*")
    if len(parts) != 1:
        raise RuntimeError(f"{folder}: expected one part file, found {len(parts)}")
    _, goal = _filesystem(spark, target)
    delete(spark, target)
    fs.move(parts[0], goal)
    fs.delete_dir(inner)


def _matches(fs: FileSystem, pattern: str) -> list[str]:
    """The existing paths `pattern` names: itself, or with `*`, `?` or `[...]` in its parts, every match, found
    by listing one folder level per part that holds a wildcard (never a recursive listing of the store)."""
    from pyarrow.fs import FileSelector, FileType

    head, *parts = pattern.split("/")
    found, listed_last = [head], False
    for part in parts:
        listed_last = bool(_GLOB & set(part))
        if not listed_last:
            found = [f"{f}/{part}" for f in found]
            continue
        listed = []
        for f in found:
            if fs.get_file_info(f).type == FileType.Directory:
                listed += [
                    i.path for i in fs.get_file_info(FileSelector(f)) if fnmatch.fnmatchcase(basename(i.path), part)
                ]
        found = listed
    # what a listing found exists; a literal last part is looked up
    return found if listed_last else [f for f in found if fs.get_file_info(f).type != FileType.NotFound]


def _filesystem(spark: SparkSession, path: str) -> tuple[FileSystem, str]:
    """(pyarrow FileSystem, the path within it) for a local path or a URI."""
    from pyarrow import fs as pafs

    if not is_uri(path):
        return pafs.LocalFileSystem(), resolved(path).rstrip("/") or "/"
    scheme, rest = path.split("://", 1)
    rest = rest.rstrip("/")
    if scheme == "file":
        return pafs.LocalFileSystem(), rest
    if scheme in ("s3a", "s3"):
        settings = tuple(
            spark.conf.get(_S3A + key, None)
            for key in (
                "endpoint",
                "endpoint.region",
                "access.key",
                "secret.key",
                "path.style.access",
                "connection.ssl.enabled",
            )
        )
        return _s3(*settings), rest
    fs, inner = pafs.FileSystem.from_uri(path)  # gs://, abfs(s)://, hdfs://: pyarrow's own configuration
    return fs, inner.rstrip("/")


@functools.lru_cache(maxsize=8)
def _s3(
    endpoint: str | None,
    region: str | None,
    access_key: str | None,
    secret_key: str | None,
    path_style: str | None,
    ssl: str | None,
) -> FileSystem:
    """pyarrow's S3 filesystem configured as Hadoop's S3A is (unset keys: the AWS SDK's own defaults and chain)."""
    from pyarrow.fs import S3FileSystem

    options: dict[str, object] = {}
    if endpoint:
        scheme, _, host = endpoint.rpartition("://")
        default = "http" if (ssl or "true").lower() == "false" else "https"
        options |= {"endpoint_override": host, "scheme": scheme or default}
    if region:
        options["region"] = region
    if access_key and secret_key:
        options |= {"access_key": access_key, "secret_key": secret_key}
    if path_style is not None:
        options["force_virtual_addressing"] = path_style.lower() != "true"
    return S3FileSystem(**options)
