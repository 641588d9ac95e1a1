"""The Delta tables klout keeps: each one's path under the warehouse, schema, natural key and partitioning.

Definitions only; every operation on a table (read, MERGE, partition replace, DELETE, UPDATE, history, VACUUM)
goes through `klout.warehouse.Warehouse`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import StructType

from klout import schemas


@dataclass(frozen=True)
class Table:
    name: str  # path under the warehouse root
    schema: StructType
    key: tuple[str, ...]  # natural key: MERGE condition (a log's: what its current rows are unique on)
    partition_by: tuple[str, ...] = ()
    evolves: bool = False  # its columns follow the config (new columns are added on write); others are fixed
    # an append-only log: rows are appended, never updated; the current row of a key is the one with the latest
    # value of this column (a null is the oldest), so a log write is a blind append that never conflicts
    newest_by: str | None = None


INTERACTIONS = Table("bronze/interactions", schemas.INTERACTIONS, ("event_id",), ("event_date",))
PROFILES_HISTORY = Table("bronze/profiles_history", schemas.PROFILES, schemas.PROFILE_KEY)
PROFILES_LATEST = Table("bronze/profiles_latest", schemas.PROFILES, schemas.PROFILE_LATEST_KEY)
IDENTITIES = Table("bronze/identities", schemas.IDENTITIES, schemas.IDENTITY_KEY)
QUARANTINE = Table("bronze/quarantine", schemas.QUARANTINE, ("quarantine_id",))

EDGES_DAILY = Table("silver/edges_daily", schemas.EDGES_DAILY, ("date", "network", "actor_id", "target_id"), ("date",))
ACCOUNT_DAILY = Table(
    "silver/account_daily", schemas.ACCOUNT_METRICS, ("date", "network", "account_id", "metric"), ("date",)
)
FEATURE_STATE = Table(
    "silver/feature_state", schemas.ACCOUNT_METRICS, ("date", "network", "account_id", "metric"), ("date",)
)
WINDOW_EDGES = Table(
    "silver/window_edges", schemas.WINDOW_EDGES, ("date", "network", "actor_id", "target_id"), ("date",)
)
FEATURES = Table(
    "gold/features", schemas.FEATURES_BASE, ("date", "network", "account_id"), ("date",), evolves=True
)  # a weighted_<action> column per configured action
ACCOUNT_INFLUENCE = Table(
    "gold/account_influence", schemas.ACCOUNT_INFLUENCE, ("date", "network", "account_id"), ("date",)
)

SCORES = Table("gold/scores", schemas.SCORES, ("date", "person_id"), ("date",))
SCORE_EXPLANATIONS = Table("gold/score_explanations", schemas.SCORE_EXPLANATIONS, ("date", "person_id"), ("date",))

OPTOUTS = Table("privacy/optouts", schemas.OPTOUTS, ("subject_id",))  # opt-outs and erasure suppressions

RUN_LOG = Table("ops/run_log", schemas.RUN_LOG, ("run_id", "date", "step"), newest_by="ended_at")
QUALITY_GATES = Table("ops/quality_gates", schemas.QUALITY_GATES, ("date", "gate"), newest_by="evaluated_at")

EVALUATIONS = Table("eval/evaluations", schemas.EVALUATIONS, ("date", "horizon_days", "target", "predictor"))

# The tables with a partition per run date, in the order the date steps write them.
RUN_DATE_OUTPUTS = (
    EDGES_DAILY,
    ACCOUNT_DAILY,
    FEATURE_STATE,
    FEATURES,
    WINDOW_EDGES,
    ACCOUNT_INFLUENCE,
    SCORES,
    SCORE_EXPLANATIONS,
)
# The running window states: a date's partition is built from the day before's, so a day whose per-day aggregates
# change makes them stale from that day on (they are dropped, and the next run rebuilds them from the per-day tables).
WINDOW_STATES = (FEATURE_STATE, WINDOW_EDGES)

# What ingest writes: the inputs of every date step.
BRONZE = (INTERACTIONS, PROFILES_HISTORY, PROFILES_LATEST, IDENTITIES, QUARANTINE)

ALL = (
    *BRONZE,
    *RUN_DATE_OUTPUTS,
    RUN_LOG,
    QUALITY_GATES,
    OPTOUTS,
    EVALUATIONS,
)
