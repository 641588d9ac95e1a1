"""The Delta tables klout keeps, where they live, and the idempotent ways we write them.

Writes are MERGEs keyed on each table's natural key (insert what is new, update what changed), so rerunning
an ingest is a no-op and a killed run leaves no partial commit visible (Delta commits atomically).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from klout import schemas
from klout.config import Config
from klout.errors import ConcurrentRunError, InputError


@dataclass(frozen=True)
class Table:
    name: str                      # path under the warehouse root
    schema: StructType
    key: tuple[str, ...]           # natural key: MERGE condition
    partition_by: tuple[str, ...] = ()

    def path(self, cfg: Config) -> str:
        root = cfg.warehouse if "://" in cfg.warehouse else str(cfg.warehouse_path)
        return f"{root.rstrip('/')}/{self.name}"


INTERACTIONS = Table("bronze/interactions", schemas.INTERACTIONS, ("event_id",), ("event_date",))
PROFILES_HISTORY = Table("bronze/profiles_history", schemas.PROFILES, schemas.PROFILE_KEY)
PROFILES_LATEST = Table("bronze/profiles_latest", schemas.PROFILES, schemas.PROFILE_LATEST_KEY)
IDENTITIES = Table("bronze/identities", schemas.IDENTITIES, schemas.IDENTITY_KEY)
QUARANTINE = Table("bronze/quarantine", schemas.QUARANTINE, ("quarantine_id",))

EDGES_DAILY = Table("silver/edges_daily", schemas.EDGES_DAILY, ("date", "network", "actor_id", "target_id"), ("date",))
ACCOUNT_DAILY = Table("silver/account_daily", schemas.ACCOUNT_METRICS, ("date", "network", "account_id", "metric"),
                      ("date",))
FEATURE_STATE = Table("silver/feature_state", schemas.ACCOUNT_METRICS, ("date", "network", "account_id", "metric"),
                      ("date",))
FEATURES = Table("gold/features", schemas.FEATURES_BASE, ("date", "network", "account_id"), ("date",))
ACCOUNT_INFLUENCE = Table("gold/account_influence", schemas.ACCOUNT_INFLUENCE, ("date", "network", "account_id"),
                          ("date",))

SCORES = Table("gold/scores", schemas.SCORES, ("date", "person_id"), ("date",))
SCORE_EXPLANATIONS = Table("gold/score_explanations", schemas.SCORE_EXPLANATIONS, ("date", "person_id"), ("date",))

OPTOUTS = Table("privacy/optouts", schemas.OPTOUTS, ("subject_id",))  # opt-outs and erasure suppressions

RUN_LOG = Table("ops/run_log", schemas.RUN_LOG, ("run_id", "date", "step"))
QUALITY_GATES = Table("ops/quality_gates", schemas.QUALITY_GATES, ("date", "gate"))

EVALUATIONS = Table("eval/evaluations", schemas.EVALUATIONS, ("date", "horizon_days", "target", "predictor"))

ALL = (INTERACTIONS, PROFILES_HISTORY, PROFILES_LATEST, IDENTITIES, QUARANTINE, EDGES_DAILY, ACCOUNT_DAILY,
       FEATURE_STATE, FEATURES, ACCOUNT_INFLUENCE, SCORES, SCORE_EXPLANATIONS, RUN_LOG, QUALITY_GATES, OPTOUTS,
       EVALUATIONS)


def exists(spark: SparkSession, cfg: Config, table: Table) -> bool:
    return DeltaTable.isDeltaTable(spark, table.path(cfg))


def read(spark: SparkSession, cfg: Config, table: Table) -> DataFrame:
    """The table's current version; InputError (exit 3) naming the path when it does not exist yet."""
    if not exists(spark, cfg, table):
        raise InputError(f"table {table.name} does not exist at {table.path(cfg)}; run the step that writes it first")
    return spark.read.format("delta").load(table.path(cfg))


def read_or_empty(spark: SparkSession, cfg: Config, table: Table) -> DataFrame:
    """The table's current version, or no rows of its schema when it does not exist (an optional input)."""
    return read(spark, cfg, table) if exists(spark, cfg, table) else spark.createDataFrame([], table.schema)


@contextmanager
def committing(table: Table, what: str) -> Iterator[None]:
    """Turn a Delta commit conflict (another run committed to `table` first) into ConcurrentRunError (exit 5):
    Delta commits atomically, so this run's write is simply not there, and the other run's is whole."""
    from delta.exceptions import (ConcurrentAppendException, ConcurrentDeleteDeleteException,
                                  ConcurrentDeleteReadException, ConcurrentTransactionException,
                                  ConcurrentWriteException, DeltaConcurrentModificationException,
                                  MetadataChangedException, ProtocolChangedException)
    try:
        yield
    except (ConcurrentAppendException, ConcurrentDeleteDeleteException, ConcurrentDeleteReadException,
            ConcurrentTransactionException, ConcurrentWriteException, DeltaConcurrentModificationException,
            MetadataChangedException, ProtocolChangedException) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConcurrentRunError(f"another run committed to {table.name} while this one was {what}; nothing of "
                                 f"this write is visible, rerun when the other run has ended ({first})") from e


def ensure(spark: SparkSession, cfg: Config, table: Table) -> DeltaTable:
    """Create the table empty with its schema and partitioning if it does not exist."""
    builder = DeltaTable.createIfNotExists(spark).location(table.path(cfg)).addColumns(table.schema)
    if table.partition_by:
        builder = builder.partitionedBy(*table.partition_by)
    with committing(table, "creating it"):
        return builder.execute()


def merge(spark: SparkSession, cfg: Config, table: Table, source: DataFrame, *, prune: str | None = None,
          update_when: str | None = None) -> dict[str, int]:
    """MERGE `source` into `table` on its key: insert new keys; update matched rows where `update_when` holds.

    `prune` is an extra SQL predicate on the target (e.g. the batch's partitions) so Delta reads only those files.
    Returns Delta's own row counts for the commit (inserted, updated).
    """
    target = ensure(spark, cfg, table)
    cond = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
    if prune:
        cond = f"({cond}) AND ({prune})"
    m = target.alias("t").merge(source.select(*table.schema.fieldNames()).alias("s"), cond)
    if update_when is not None:
        m = m.whenMatchedUpdateAll(condition=update_when)
    with committing(table, "merging into it"):
        result = m.whenNotMatchedInsertAll().execute().first()  # one row of this MERGE's own counts
    return {"inserted": int(result["num_inserted_rows"]) if result else 0,
            "updated": int(result["num_updated_rows"]) if result else 0}


def replace_partition(spark: SparkSession, cfg: Config, table: Table, df: DataFrame, date) -> int:
    """Atomically replace the table's `date` partition with `df` (Delta replaceWhere): reruns give the same table.

    Returns the rows the partition now holds (Delta answers the count from its file statistics). The table is
    created on first use with its partitioning."""
    ensure(spark, cfg, table)
    cond = f"date = DATE'{date.isoformat()}'"
    with committing(table, f"replacing its {date} partition"):
        (df.write.format("delta").mode("overwrite").option("replaceWhere", cond)
         .option("mergeSchema", "true").save(table.path(cfg)))
    return read(spark, cfg, table).where(cond).count()


def partition(spark: SparkSession, cfg: Config, table: Table, date) -> DataFrame | None:
    """The table's rows of one `date`, or None when the table or the partition does not exist."""
    if not exists(spark, cfg, table):
        return None
    rows = read(spark, cfg, table).where(F.col("date") == F.lit(date))
    return rows if not rows.isEmpty() else None


def values_differ(columns: list[str] | tuple[str, ...]) -> str:
    """SQL condition true when any of `columns` differs between target t and source s (null-safe)."""
    return "NOT (" + " AND ".join(f"t.{c} <=> s.{c}" for c in columns) + ")"


def required_partition(spark: SparkSession, cfg: Config, table: Table, date, step: str) -> DataFrame:
    """The table's rows of `date` (without the date column); InputError (exit 3) naming the missing partition and
    the step that writes it."""
    rows = partition(spark, cfg, table, date)
    if rows is None:
        raise InputError(f"{table.name} has no partition for {date}: run `klout {step} --date {date}` first")
    return rows.drop("date")


def latest_before(spark: SparkSession, cfg: Config, table: Table, date) -> DataFrame | None:
    """The table's latest `date` partition before `date` (without the date column), or None when there is none."""
    if not exists(spark, cfg, table):
        return None
    rows = read(spark, cfg, table).where(F.col("date") < F.lit(date))
    last = rows.agg(F.max("date")).first()[0]
    return None if last is None else rows.where(F.col("date") == F.lit(last)).drop("date")
