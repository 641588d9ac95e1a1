"""Readers: turn a source (CSV, JSON lines, Parquet, or a real-data adapter) into canonical string columns.

Every reader returns the canonical columns of its kind as strings, plus `raw` (the record as read, kept for the
quarantine) and `malformed` (the record could not be split into fields at all). Parsing and validation of the
values happen later, in `klout.ingest.validate`, the same way for every format.
"""

from __future__ import annotations

import logging

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from klout import paths, schemas
from klout.config import Config
from klout.errors import InputError
from klout.paths import resolved

FORMATS = ("csv", "jsonl", "parquet", "higgs", "klout-opendata")
ADAPTERS = ("higgs", "klout-opendata")  # formats for the real data sets; interactions only
KINDS = ("interactions", "profiles", "identities")

log = logging.getLogger(__name__)

_KEEP_NULLS = {"ignoreNullFields": "false"}  # raw records show every column, nulls included

COLUMNS = {
    "interactions": (schemas.INTERACTION_COLUMNS, schemas.INTERACTION_REQUIRED),
    "profiles": (schemas.PROFILE_COLUMNS, schemas.PROFILE_REQUIRED),
    "identities": (schemas.IDENTITY_COLUMNS, schemas.IDENTITY_REQUIRED),
}


def source_name(path: str) -> str:
    """A stable name for a source: absolute local path, or the URI as given."""
    return resolved(path)


def guess_format(path: str) -> str:
    """Format from the file name when --format is not given."""
    name = paths.basename(path).lower()
    if name.startswith("higgs-"):
        return "higgs"
    if name.startswith("user_timestamp_open_set") or name == "klout_opendata":
        return "klout-opendata"
    for suffix, fmt in (
        (".csv", "csv"),
        (".jsonl", "jsonl"),
        (".json", "jsonl"),
        (".ndjson", "jsonl"),
        (".parquet", "parquet"),
    ):
        if name.endswith(suffix) or name.endswith(suffix + ".gz"):
            return fmt
    return "parquet"  # a directory of Parquet files, as Spark writes them


def read_source(
    spark: SparkSession, cfg: Config, path: str, fmt: str, kind: str, network: str | None = None
) -> DataFrame:
    """Read `path` as `fmt` into canonical string columns of `kind` plus `raw` and `malformed`."""
    if not paths.exists(spark, path):
        raise InputError(f"source not found: {path}")
    if fmt in ADAPTERS and kind != "interactions":
        raise InputError(f"--format {fmt} holds interactions only, not {kind}")
    columns, required = COLUMNS[kind]
    if fmt == "higgs":
        df = _higgs(spark, cfg, path, network)
    elif fmt == "klout-opendata":
        df = _klout_opendata(spark, cfg, path, network)
    elif fmt == "csv":
        df = _csv(spark, path, columns, required)
    elif fmt == "jsonl":
        df = _jsonl(spark, path, columns)
    elif fmt == "parquet":
        df = _parquet(spark, path, columns, required)
    else:
        raise InputError(f"--format {fmt!r} is not supported; allowed: {', '.join(FORMATS)}")
    if network and "network" in columns and fmt not in ADAPTERS:
        df = df.withColumn("network", F.coalesce(_blank_to_null(F.col("network")), F.lit(network)))
    return _spread_gzip(spark, df.select(*columns, "raw", "malformed"), path)


def _spread_gzip(spark: SparkSession, df: DataFrame, path: str) -> DataFrame:
    """A gzip file is not splittable: one task decompresses and parses each. Fewer such files than the session's
    shuffle partitions are spread over them (round robin) after the read, so validation and the MERGE run in
    parallel; the read itself stays one task per file (bzip2, or many smaller files, read in parallel)."""
    files = df.inputFiles()  # the listing Spark made for the plan: no job
    gzipped = sum(f.endswith(".gz") for f in files)
    spread = int(spark.conf.get("spark.sql.shuffle.partitions") or "1")
    if not gzipped or len(files) >= spread:
        return df
    log.warning(
        "%s: %d gzip file(s) of %d; gzip is not splittable, so each is read by one task, then spread over %d "
        "partitions (bzip2 or several smaller files read in parallel)",
        path,
        gzipped,
        len(files),
        spread,
    )
    return df.repartition(spread)


def _blank_to_null(c: Column) -> Column:
    return F.when(F.trim(c) != "", c)


def _fill_missing(df: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """Add absent optional columns as null strings so every reader yields the same columns."""
    for c in columns:
        if c not in df.columns:
            df = df.withColumn(c, F.lit(None).cast("string"))
    return df


def _require(present: list[str], required: tuple[str, ...], path: str) -> None:
    missing = [c for c in required if c not in present]
    if missing:
        found = printable(", ".join(present)) or "none"
        raise InputError(f"source {path} lacks required column(s) {', '.join(missing)}; it has: {found}")


def printable(text: str, limit: int = 200) -> str:
    """`text` as it can be shown in an error: unprintable characters escaped (`\\x00`, `\\ufffd`), at most
    `limit` characters (a binary file read as CSV has a "header" of any length)."""
    shown = "".join(ch if ch.isprintable() and ch != "\ufffd" else ascii(ch)[1:-1] for ch in text)
    return shown if len(shown) <= limit else shown[:limit] + f"... ({len(shown):,} characters)"


def _csv(spark: SparkSession, path: str, columns: tuple[str, ...], required: tuple[str, ...]) -> DataFrame:
    header = spark.read.option("header", True).csv(path).columns
    _require(header, required, path)
    schema = StructType([StructField(c, StringType()) for c in header] + [StructField("_corrupt", StringType())])
    df = (
        spark.read.option("header", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt")
        .schema(schema)
        .csv(path)
    )
    kept = [c for c in header if c in columns]
    df = df.withColumns(
        {
            "malformed": F.col("_corrupt").isNotNull(),
            "raw": F.coalesce(F.col("_corrupt"), F.to_json(F.struct(*[F.col(c) for c in header]), _KEEP_NULLS)),
        }
    )
    return _fill_missing(df.select(*kept, "raw", "malformed"), columns)


def _jsonl(spark: SparkSession, path: str, columns: tuple[str, ...]) -> DataFrame:
    schema = StructType([StructField(c, StringType()) for c in (*columns, "_corrupt")])
    lines = spark.read.text(path).where(F.trim("value") != "")
    parsed = lines.select(
        F.col("value").alias("raw"), F.from_json("value", schema, {"columnNameOfCorruptRecord": "_corrupt"}).alias("r")
    )
    # from_json keeps a line it cannot parse in _corrupt, but yields all nulls for an object followed by more text
    text = F.trim("raw")
    bad = F.col("r._corrupt").isNotNull() | ~(text.startswith("{") & text.endswith("}"))
    return parsed.select(*[F.col(f"r.{c}").alias(c) for c in columns], "raw", bad.alias("malformed"))


def _parquet(spark: SparkSession, path: str, columns: tuple[str, ...], required: tuple[str, ...]) -> DataFrame:
    df = spark.read.parquet(path)
    _require(df.columns, required, path)
    kept = [c for c in columns if c in df.columns]
    as_text = {c: F.col(c).cast("string") for c in kept}
    df = df.select(
        *[as_text[c].alias(c) for c in kept],
        F.to_json(F.struct(*[F.col(c) for c in kept]), _KEEP_NULLS).alias("raw"),
        F.lit(False).alias("malformed"),
    )
    return _fill_missing(df, columns)


def _split_lines(spark: SparkSession, path: str, sep: str, fields: int) -> DataFrame:
    """Text lines split on `sep`; `malformed` when the count of fields is not `fields`."""
    lines = spark.read.text(path).select(F.col("value").alias("raw"), F.col("_metadata.file_name").alias("file"))
    lines = lines.where((F.trim("raw") != "") & ~F.col("raw").startswith("#"))
    parts = F.split(F.trim("raw"), sep)
    return lines.select(
        "raw",
        "file",
        *[F.get(parts, i).alias(f"f{i}") for i in range(fields)],
        (F.size(parts) != fields).alias("malformed"),
    )


def _higgs(spark: SparkSession, cfg: Config, path: str, network: str | None) -> DataFrame:
    """SNAP Higgs activity: `actor target unix_seconds RT|MT|RE`, one network (twitter by config)."""
    df = _split_lines(spark, path, r"\s+", 4)
    return df.select(
        F.lit(network or cfg.ingest.higgs.network).alias("network"),
        F.col("f0").alias("actor_id"),
        F.col("f1").alias("target_id"),
        F.col("f3").alias("action"),
        F.col("f2").alias("ts"),
        *[F.lit(None).cast("string").alias(c) for c in ("content_id", "content_type", "event_id")],
        "raw",
        "malformed",
    )


def _klout_opendata(spark: SparkSession, cfg: Config, path: str, network: str | None) -> DataFrame:
    """Klout post-reaction samples: author, reactor, post, post ms, reaction ms, timezone (tab-separated).

    The network comes from --network or the file name's code (`..._tw.tsv`); the action is the one reaction
    each network's sample records (config `ingest.klout_opendata.actions`)."""
    od = cfg.ingest.klout_opendata
    df = _split_lines(spark, path, "\t", 6)
    if network:
        net = F.lit(network)
    else:
        code = F.regexp_extract("file", r"_([A-Za-z]+)\.tsv", 1)
        net = F.try_element_at(F.create_map(*[F.lit(x) for kv in od.network_codes.items() for x in kv]), code)
    action_map = F.create_map(*[F.lit(x) for kv in od.actions.items() for x in kv])
    return df.withColumn("network", net).select(
        "network",
        F.col("f1").alias("actor_id"),
        F.col("f0").alias("target_id"),
        F.try_element_at(action_map, F.col("network")).alias("action"),
        F.col("f4").alias("ts"),
        F.col("f2").alias("content_id"),
        F.lit(None).cast("string").alias("content_type"),
        F.lit(None).cast("string").alias("event_id"),
        "raw",
        "malformed",
    )
