"""The Delta tables klout keeps, where they live, and the idempotent ways we write them.

Writes are MERGEs keyed on each table's natural key (insert what is new, update what changed), so rerunning
an ingest is a no-op and a killed run leaves no partial commit visible (Delta commits atomically).
"""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from klout import schemas
from klout.config import Config
from klout.errors import InputError


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

ALL = (INTERACTIONS, PROFILES_HISTORY, PROFILES_LATEST, IDENTITIES, QUARANTINE)


def exists(spark: SparkSession, cfg: Config, table: Table) -> bool:
    return DeltaTable.isDeltaTable(spark, table.path(cfg))


def read(spark: SparkSession, cfg: Config, table: Table) -> DataFrame:
    """The table's current version; InputError (exit 3) naming the path when it does not exist yet."""
    if not exists(spark, cfg, table):
        raise InputError(f"table {table.name} does not exist at {table.path(cfg)}; run the step that writes it first")
    return spark.read.format("delta").load(table.path(cfg))


def ensure(spark: SparkSession, cfg: Config, table: Table) -> DeltaTable:
    """Create the table empty with its schema and partitioning if it does not exist."""
    builder = DeltaTable.createIfNotExists(spark).location(table.path(cfg)).addColumns(table.schema)
    if table.partition_by:
        builder = builder.partitionedBy(*table.partition_by)
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
    result = m.whenNotMatchedInsertAll().execute().first()  # one row of this MERGE's own counts
    return {"inserted": int(result["num_inserted_rows"]) if result else 0,
            "updated": int(result["num_updated_rows"]) if result else 0}


def values_differ(columns: list[str] | tuple[str, ...]) -> str:
    """SQL condition true when any of `columns` differs between target t and source s (null-safe)."""
    return "NOT (" + " AND ".join(f"t.{c} <=> s.{c}" for c in columns) + ")"
