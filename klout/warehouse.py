"""The one table API: every read, write, append, MERGE, DELETE, UPDATE, version, history, OPTIMIZE and VACUUM of klout's
Delta tables, on an object bound to the Spark session and the warehouse root.

    wh = Warehouse(spark, cfg)
    wh[tables.SCORES].read()                               # the current version
    wh[tables.SCORES].replace_partition(df, run_date)       # atomic replaceWhere of one date
    wh[tables.OPTOUTS].merge(rows, update_when="...")      # MERGE INTO on the table's key
    wh[tables.RUN_LOG].append(rows)                          # an append-only log: a blind append
    wh[tables.RUN_LOG].current()                             # ... and its current row per key

Every Delta operation is a DataFrame write or Delta's SQL (CREATE TABLE, MERGE INTO, DESCRIBE HISTORY, OPTIMIZE,
VACUUM), so the same calls run over Spark Connect, where delta's Python table API needs a server plugin; DELETE and
UPDATE take Column predicates, so they are MERGEs of the matching rows' keys.
Every commit runs in `committing`, which turns a Delta commit conflict into ConcurrentRunError (exit 5).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import os
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, StructType

from klout import paths
from klout.config import Config
from klout.errors import ConcurrentRunError, InputError
from klout.paths import is_uri, joined
from klout.tables import Table
from klout.window import span

# Test hook: "<table name>=<flag file>" makes this process's partition replace of that table wait inside its Delta
# write (after the snapshot, before the commit) until the flag file exists, so a test can force a commit conflict.
HOLD_WRITE_ENV = "KLOUT_TEST_HOLD_WRITE"

# Tables this process created or found, by path: `ensure` needs no SQL for them again.
_EXISTING: set[str] = set()

# Within `known_partitions()`: the (table path, date) partitions this process replaced with rows since, which
# `partition`, `required_partition` and `latest_before` then know to be there without a Spark job.
_WRITTEN: contextvars.ContextVar[set[tuple[str, dt.date]] | None] = contextvars.ContextVar(
    "klout_written_partitions", default=None
)


def _known(path: str, date: dt.date) -> bool:
    """True when this run wrote the `date` partition of the table at `path` with rows (see `known_partitions`)."""
    return (path, date) in (_WRITTEN.get() or ())


@contextmanager
def known_partitions() -> Iterator[None]:
    """Within the block, a date partition this process wrote with rows is known to be there: reading it back as an
    input (`required_partition`, `partition`, `latest_before` the day after) costs no job to find it. The pipeline
    opens one per run, whose steps read what the step or the date before wrote. Writing the partition again without
    rows, or a DELETE or UPDATE of its table, forgets it."""
    token = _WRITTEN.set(set())
    try:
        yield
    finally:
        _WRITTEN.reset(token)


class Warehouse:
    """klout's tables under one warehouse root, bound to a Spark session: `wh[table]` is a `BoundTable`."""

    def __init__(self, spark: SparkSession, cfg: Config):
        self.spark = spark
        self.cfg = cfg
        self.root = cfg.warehouse_root

    def __getitem__(self, table: Table) -> BoundTable:
        return BoundTable(self.spark, table, joined(self.root, table.name))


@dataclass(frozen=True)
class BoundTable:
    """One Delta table at its path, with the operations klout performs on it."""

    spark: SparkSession
    table: Table
    path: str

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def _sql_name(self) -> str:
        return f"delta.`{self.path}`"

    # ---- reads ------------------------------------------------------------------------------------------------

    def try_read(self) -> DataFrame | None:
        """The current version, or None when the table does not exist (one snapshot load either way). The schema is
        asked for so that a missing table fails here over Spark Connect too, where reading is lazy (in classic mode
        the load already resolved it)."""
        try:
            df = self.spark.read.format("delta").load(self.path)
            df.schema  # noqa: B018 - resolves the read on the server
            return df
        except AnalysisException:
            return None

    def exists(self) -> bool:
        return self.try_read() is not None

    def read(self) -> DataFrame:
        """The current version; InputError (exit 3) naming the path when the table does not exist yet."""
        df = self.try_read()
        if df is None:
            raise InputError(f"table {self.name} does not exist at {self.path}; run the step that writes it first")
        return df

    def read_or_empty(self) -> DataFrame:
        """The current version, or no rows of the table's schema when it does not exist (an optional input)."""
        df = self.try_read()
        return df if df is not None else self.spark.createDataFrame([], self.table.schema)

    def current(self) -> DataFrame | None:
        """An append-only log's current rows: per key, the newest by `table.newest_by`; None when there is no table.

        wh[tables.RUN_LOG].current().where("status = 'running'")   # dates whose run never ended"""
        df = self.try_read()
        if df is None:
            return None
        if self.table.newest_by is None:
            raise TypeError(f"{self.name} is not an append-only log")
        newest = Window.partitionBy(*self.table.key).orderBy(F.col(self.table.newest_by).desc_nulls_last())
        return df.withColumn("_newest", F.row_number().over(newest)).where(F.col("_newest") == 1).drop("_newest")

    def partition(self, date: dt.date) -> DataFrame | None:
        """The rows of one `date`, or None when the table or the partition does not exist."""
        df = self.try_read()
        if df is None:
            return None
        rows = df.where(F.col("date") == F.lit(date))
        return rows if _known(self.path, date) or not rows.isEmpty() else None

    def required_partition(self, date: dt.date, step: str) -> DataFrame:
        """The rows of `date` without the date column; InputError (exit 3) naming the missing partition and the
        step that writes it."""
        rows = self.partition(date)
        if rows is None:
            raise InputError(f"{self.name} has no partition for {date}: run `klout {step} --date {date}` first")
        return rows.drop("date")

    def latest_before(self, date: dt.date) -> DataFrame | None:
        """The latest `date` partition before `date` (without the date column), or None when there is none."""
        df = self.try_read()
        if df is None:
            return None
        day_before = date - dt.timedelta(days=1)
        if _known(self.path, day_before):  # written by this run: no job to find the latest
            return df.where(F.col("date") == F.lit(day_before)).drop("date")
        rows = df.where(F.col("date") < F.lit(date))
        latest = rows.agg(F.max("date")).first()
        assert latest is not None  # a global aggregate: always exactly one row
        last = latest[0]
        return None if last is None else rows.where(F.col("date") == F.lit(last)).drop("date")

    def version(self) -> int:
        """The current Delta version; -1 when the table does not exist."""
        try:
            newest = self.history(1).select("version").first()
        except AnalysisException:
            return -1
        assert newest is not None  # a Delta table has at least its creating commit
        return int(newest[0])

    def history(self, limit: int | None = None) -> DataFrame:
        """Delta's DESCRIBE HISTORY, newest first (`limit` commits)."""
        return self.spark.sql(f"DESCRIBE HISTORY {self._sql_name}" + (f" LIMIT {int(limit)}" if limit else ""))

    def committed(self, after: int, operation: str, metric: str) -> int:
        """Sum of `metric` over this table's `operation` commits after version `after` (Delta's own counts)."""
        rows = (
            self.history(20)
            .where((F.col("version") > after) & (F.col("operation") == operation))
            .select(F.col("operationMetrics")[metric].alias("n"))
            .collect()
        )  # a few commits
        return sum(int(r["n"] or 0) for r in rows)

    # ---- writes -----------------------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the table empty with its schema and partitioning if it does not exist. A table this process
        created or found before needs no SQL again (a local one is checked to be still there: tests delete them)."""
        if self.path in _EXISTING and (is_uri(self.path) or paths.exists(self.spark, f"{self.path}/_delta_log")):
            return
        parts = f" PARTITIONED BY ({', '.join(self.table.partition_by)})" if self.table.partition_by else ""
        with committing(self.table, "creating it"):
            self.spark.sql(
                f"CREATE TABLE IF NOT EXISTS {self._sql_name} ({_ddl(self.table.schema)}) USING DELTA" + parts
            )
        _EXISTING.add(self.path)

    def merge(self, source: DataFrame, *, prune: str | None = None, update_when: str | None = None) -> dict[str, int]:
        """MERGE `source` into the table on its key: insert new keys; update matched rows where `update_when` holds.

        `prune` is an extra SQL predicate on the target (e.g. the batch's partitions) so Delta reads only those files.
        Returns Delta's own row counts for the commit (inserted, updated)."""
        self.ensure()
        cond = " AND ".join(f"t.{k} = s.{k}" for k in self.table.key)
        if prune:
            cond = f"({cond}) AND ({prune})"
        matched = f"WHEN MATCHED AND ({update_when}) THEN UPDATE SET * " if update_when is not None else ""
        counts = self._merge_sql(
            source.select(*self.table.schema.fieldNames()),
            cond,
            f"{matched}WHEN NOT MATCHED THEN INSERT *",
            "merging into it",
        )
        return {"inserted": counts["num_inserted_rows"], "updated": counts["num_updated_rows"]}

    def append(self, df: DataFrame) -> None:
        """Append `df`'s rows to an append-only log: a blind append, which never conflicts with another run's commit
        (Delta retries it over any commit that came first) and costs a fraction of a MERGE."""
        self.ensure()
        with committing(self.table, "appending to it"):
            df.select(*self.table.schema.fieldNames()).write.format("delta").mode("append").save(self.path)

    def replace_partition(self, df: DataFrame, date: dt.date) -> int:
        """Atomically replace the `date` partition with `df` (Delta replaceWhere): reruns give the same table.
        Returns the rows written (see `replace_dates`)."""
        return self.replace_dates(df, [date])

    def replace_dates(self, df: DataFrame, dates: Collection[dt.date]) -> int:
        """Atomically replace the partitions of `dates` with `df` (one replaceWhere commit, however many days).

        Only a table that `evolves` may gain columns; a stray column elsewhere fails the write. Returns the rows
        written, observed while the write ran (no second job, no re-read of the table)."""
        self.ensure()
        days = ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(set(dates)))
        written = Observation(f"klout_{uuid.uuid4().hex}")
        observed = df.observe(written, F.count(F.lit(1)).alias("rows"))
        writer = (
            _held(observed, self.name)
            .write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"date IN ({days})")
        )
        if self.table.evolves:
            writer = writer.option("mergeSchema", "true")
        with committing(self.table, f"replacing its {span(dates)} partition(s)"):
            writer.save(self.path)
        rows = int(written.get["rows"])
        if (known := _WRITTEN.get()) is not None:
            known.difference_update((self.path, d) for d in dates)
            if rows and len(dates) == 1:  # several dates: which of them got rows is not known
                known.update((self.path, d) for d in dates)
        return rows

    @staticmethod
    def replace_together(writes: list[tuple[BoundTable, DataFrame, dt.date]]) -> list[int]:
        """Replace each `(table, rows, date)` partition with its writes running at once, each table its own atomic
        commit as with `replace_partition`; returns the rows written, in order. A small day's writes wait on their
        few tasks and on Delta's commit more than on the cores, so two at once cost less than two one after the other.

            BoundTable.replace_together([(wh[tables.SCORES], scores, d), (wh[tables.SCORE_EXPLANATIONS], why, d)])
        """
        from pyspark import InheritableThread  # the Spark job group and properties of the calling thread

        written = [0] * len(writes)
        failed: list[BaseException] = []

        def write(i: int, context: contextvars.Context) -> None:
            table, rows, date = writes[i]
            try:
                written[i] = context.run(table.replace_partition, rows, date)
            except BaseException as e:  # raised in the calling thread, once every write has ended
                failed.append(e)

        # each thread runs in a copy of the caller's context: `known_partitions` holds what it writes
        # (and, over Spark Connect, the session's thread-local state, which InheritableThread copies from `session`)
        session = writes[0][0].spark
        threads = [
            InheritableThread(target=write, args=(i, contextvars.copy_context()), session=session)
            for i in range(len(writes))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failed:
            raise failed[0]
        return written

    def delete(self, cond: Column) -> int:
        """Delete the rows where `cond` holds (one atomic commit); returns the rows deleted (0: no table).

        A MERGE of the keys of those rows with WHEN MATCHED THEN DELETE: Delta's SQL, so it runs over Spark Connect
        too, with `cond` any Column (SQL text cannot carry one)."""
        if not self.exists():
            return 0
        return self._merge_matched(self.read().where(cond).select(*self.table.key), "DELETE", "deleting from it")[
            "num_deleted_rows"
        ]

    def update(self, cond: Column, values: dict[str, Column]) -> int:
        """Set `values` (column -> Column over the row) where `cond` holds (one atomic commit); returns the rows
        updated (0: no table). A MERGE of the rows' keys and new values, as `delete` is."""
        if not self.exists():
            return 0
        changed = self.read().where(cond).select(*self.table.key, *(v.alias(c) for c, v in values.items()))
        assignments = ", ".join(f"t.`{c}` = s.`{c}`" for c in values)
        return self._merge_matched(changed, f"UPDATE SET {assignments}", "updating it")["num_updated_rows"]

    def _merge_matched(self, source: DataFrame, action: str, what: str) -> dict[str, int]:
        """MERGE `source` (keys of this table, unique) into it: `action` on every matched row; Delta's counts."""
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in self.table.key)
        counts = self._merge_sql(source, on, f"WHEN MATCHED THEN {action}", what)
        self._forget()
        return counts

    def _merge_sql(self, source: DataFrame, on: str, clauses: str, what: str) -> dict[str, int]:
        """`MERGE INTO` this table (t) `USING` `source` (s, as a temporary view) `ON` `on` with `clauses`, in one
        commit (`committing`, saying `what` it was doing); Delta's row counts of the commit."""
        view = f"_klout_merge_{uuid.uuid4().hex}"
        source.createOrReplaceTempView(view)
        try:
            with committing(self.table, what):
                result = self.spark.sql(f"MERGE INTO {self._sql_name} AS t USING {view} AS s ON {on} {clauses}").first()
        finally:
            self.spark.catalog.dropTempView(view)
        counts = ("num_inserted_rows", "num_updated_rows", "num_deleted_rows")
        return {k: int(result[k] or 0) if result else 0 for k in counts}

    # ---- maintenance ------------------------------------------------------------------------------------------

    def optimize(self) -> dict[str, int]:
        """OPTIMIZE (compact small files); returns the files removed and added."""
        result = self.spark.sql(f"OPTIMIZE {self._sql_name}").first()
        assert result is not None  # OPTIMIZE returns one row: the path and its metrics
        metrics = result["metrics"]
        return {"files_compacted": int(metrics["numFilesRemoved"]), "files_written": int(metrics["numFilesAdded"])}

    def vacuum(self, retention_hours: float) -> int:
        """VACUUM, keeping what versions of the last `retention_hours` need; returns the files deleted (Delta's own
        count, from the VACUUM END commit that vacuum logging adds: see klout.maintain.vacuum_settings)."""
        before = self.version()
        self.spark.sql(f"VACUUM {self._sql_name} RETAIN {float(retention_hours)} HOURS")
        return self.committed(before, "VACUUM END", "numDeletedFiles")

    def vacuumed_last(self) -> bool:
        """True when the latest commit is a VACUUM's end: nothing changed since, so nothing new to vacuum."""
        last = self.history(1).first()
        return last is not None and last["operation"] == "VACUUM END"

    def _forget(self) -> None:
        """After a DELETE or UPDATE: no partition of this table is known to have rows any more."""
        if (known := _WRITTEN.get()) is not None:
            known.difference_update({k for k in known if k[0] == self.path})


@contextmanager
def committing(table: Table, what: str) -> Iterator[None]:
    """Turn a Delta commit conflict (another run committed to `table` first) into ConcurrentRunError (exit 5):
    Delta commits atomically, so this run's write is simply not there, and the other run's is whole."""
    from delta import exceptions as dx

    conflicts = (
        dx.ConcurrentAppendException,
        dx.ConcurrentDeleteDeleteException,
        dx.ConcurrentDeleteReadException,
        dx.ConcurrentTransactionException,
        dx.ConcurrentWriteException,
        dx.DeltaConcurrentModificationException,
        dx.MetadataChangedException,
        dx.ProtocolChangedException,
    )
    try:
        yield
    except conflicts as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConcurrentRunError(
            f"another run committed to {table.name} while this one was {what}; nothing of "
            f"this write is visible, rerun when the other run has ended ({first})"
        ) from e


def values_differ(columns: list[str] | tuple[str, ...]) -> str:
    """SQL condition true when any of `columns` differs between target t and source s (null-safe)."""
    return "NOT (" + " AND ".join(f"t.{c} <=> s.{c}" for c in columns) + ")"


def _ddl(schema: StructType) -> str:
    """The column list of CREATE TABLE for `schema`, nested nullability included."""
    return ", ".join(f"`{f.name}` {_ddl_type(f.dataType)}{'' if f.nullable else ' NOT NULL'}" for f in schema.fields)


def _ddl_type(t: DataType) -> str:
    if isinstance(t, StructType):
        return (
            "STRUCT<"
            + ", ".join(f"`{f.name}`: {_ddl_type(f.dataType)}{'' if f.nullable else ' NOT NULL'}" for f in t.fields)
            + ">"
        )
    if isinstance(t, ArrayType):
        return f"ARRAY<{_ddl_type(t.elementType)}>"
    if isinstance(t, MapType):
        return f"MAP<{_ddl_type(t.keyType)}, {_ddl_type(t.valueType)}>"
    return t.simpleString()


def _held(df: DataFrame, table_name: str) -> DataFrame:
    """`df`, made to wait inside its write for the flag file of HOLD_WRITE_ENV when that names `table_name`."""
    name, _, flag = os.environ.get(HOLD_WRITE_ENV, "").partition("=")
    if name != table_name or not flag:
        return df

    def wait(_: object) -> bool:
        import pathlib
        import time

        pathlib.Path(f"{flag}.waiting").touch()
        deadline = time.monotonic() + 600  # the test touches the flag when it is done, also on failure
        while not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    hold = F.udf(wait, "boolean").asNondeterministic()
    return df.where(hold(F.lit(1)))
