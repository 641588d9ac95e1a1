"""Where a path points: a URI (s3a://, hdfs://, file://) is used as given, a local path is made absolute."""

from __future__ import annotations

from pathlib import Path


def is_uri(path: str) -> bool:
    """True for a URI with a scheme (object storage, HDFS, file://); False for a plain local path."""
    return "://" in path


def resolved(path: str) -> str:
    """A URI as given, a local path absolute (with ~ expanded): what Spark and Delta are handed."""
    return path if is_uri(path) else str(Path(path).expanduser().resolve())


def joined(root: str, *parts: str) -> str:
    """`root`/`parts` for a URI or a local path alike (no doubled slashes)."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])
