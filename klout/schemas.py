"""Every schema of the product in one place: canonical inputs and the Delta tables klout writes.

Canonical input columns arrive as strings (CSV, JSON lines) or typed (Parquet); ingest parses them into the
typed table schemas below. `REQUIRED_*` lists which input columns a source must have.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


def _schema(*fields: tuple[str, DataType, bool]) -> StructType:
    return StructType([StructField(name, dtype, nullable) for name, dtype, nullable in fields])


# ---- canonical inputs: column names a source provides (all read as strings, then parsed) -------------------------

INTERACTION_COLUMNS = ("network", "actor_id", "target_id", "action", "ts", "content_id", "content_type", "event_id")
INTERACTION_REQUIRED = ("network", "actor_id", "target_id", "action", "ts")

PROFILE_COLUMNS = (
    "network",
    "user_id",
    "snapshot_date",
    "followers",
    "following",
    "lists",
    "posts",
    "verified",
    "created_at",
    "title_seniority",
    "external_authority",
    "spam_follower_share",
    "inactive_follower_share",
)
PROFILE_REQUIRED = ("network", "user_id", "snapshot_date")

IDENTITY_COLUMNS = ("person_id", "network", "user_id")
IDENTITY_REQUIRED = IDENTITY_COLUMNS

# ---- Delta tables ------------------------------------------------------------------------------------------------

# bronze/interactions: one row per distinct event, partitioned by event_date.
INTERACTIONS = _schema(
    ("event_id", StringType(), False),  # source id, or a SHA-256 prefix of the canonical fields
    ("network", StringType(), False),  # a key of `networks` in config
    ("actor_id", StringType(), False),  # who reacted (network-local user id)
    ("target_id", StringType(), False),  # whose content or account received the reaction
    ("action", StringType(), False),  # canonical action (a key of `actions`)
    ("ts", TimestampType(), False),  # event time, UTC
    ("content_id", StringType(), True),  # the post reacted to, when known
    ("content_type", StringType(), True),  # a key of `content_types`, when known
    ("source", StringType(), False),  # where the row was ingested from (file or directory)
    ("ingested_at", TimestampType(), False),  # when the row first landed
    ("event_date", DateType(), False),  # partition: UTC date of ts
)

# bronze/profiles_history: every snapshot ever ingested, one row per (network, user_id, snapshot_date).
PROFILES = _schema(
    ("network", StringType(), False),
    ("user_id", StringType(), False),
    ("snapshot_date", DateType(), False),
    ("followers", LongType(), True),
    ("following", LongType(), True),
    ("lists", LongType(), True),  # list memberships
    ("posts", LongType(), True),  # posts authored to date
    ("verified", BooleanType(), True),
    ("created_at", TimestampType(), True),  # account creation time
    ("title_seniority", StringType(), True),  # job title or level, mapped to a number by the features step
    ("external_authority", DoubleType(), True),  # e.g. Wikipedia page rank, >= 0
    ("spam_follower_share", DoubleType(), True),  # share of followers known to be spam, in [0, 1]
    ("inactive_follower_share", DoubleType(), True),  # share of followers known to be inactive, in [0, 1]
    ("source", StringType(), False),
    ("ingested_at", TimestampType(), False),
)
PROFILE_KEY = ("network", "user_id", "snapshot_date")
# bronze/profiles_latest has the same columns, one row per (network, user_id): the newest snapshot.
PROFILE_LATEST_KEY = ("network", "user_id")

# bronze/identities: which person owns which account; accounts absent here are their own person, `<network>:<user_id>`
# (ingest quarantines a link whose person id takes that form for another account: `foreign_person_id`).
IDENTITIES = _schema(
    ("network", StringType(), False),
    ("user_id", StringType(), False),
    ("person_id", StringType(), False),
    ("source", StringType(), False),
    ("ingested_at", TimestampType(), False),
)
IDENTITY_KEY = ("network", "user_id")

# bronze/quarantine: rejected input rows with the raw record and the reason, never silently dropped.
QUARANTINE = _schema(
    ("quarantine_id", StringType(), False),  # SHA-256 of (kind, source, reason, raw): reruns do not duplicate
    ("kind", StringType(), False),  # interactions | profiles | identities
    ("source", StringType(), False),
    ("reason", StringType(), False),  # see klout.ingest.validate for the closed list
    ("raw", StringType(), False),  # the record as read (line, or JSON of the parsed columns)
    ("occurrences", LongType(), False),  # identical rejected records in the source
    ("event_date", DateType(), True),  # UTC date of the record's time when it parsed, for per-day shares
    ("ingested_at", TimestampType(), False),
)

# ---- features step (silver: per-day and running state; gold: the features table) -------------------------------

# silver/edges_daily: one day's reactor -> account weights per network, the graph pass's input. No When, no Who:
# the graph pass decays by age and weighs by the reactor's current influence.
EDGES_DAILY = _schema(
    ("date", DateType(), False),  # partition: the reactions' day
    ("network", StringType(), False),
    ("actor_id", StringType(), False),  # reactor
    ("target_id", StringType(), False),  # account that received the reactions
    ("reactions", LongType(), False),  # raw count of the pair's reactions that day
    ("weight", DoubleType(), False),  # sum of Where x What x How, times pair_factor x selectivity x ring
    ("pair_factor", DoubleType(), False),  # repeated-reaction cap: min(1, cap / reactions)
    ("selectivity", DoubleType(), False),  # reactor's daily-volume factor
    ("ring", DoubleType(), False),  # mutual-ring factor of the reactor
    ("reciprocal", BooleanType(), False),  # the target reacted to the actor the same day
)

# silver/window_edges: the window's reactor -> account graph as of `date`, the graph pass's edges before their shares:
# per pair, the reactions in the window and the When-decayed weights. A running state like feature_state: each
# date's partition is the day before's decayed, plus the date's edges, minus the edges of the day leaving the window.
WINDOW_EDGES = _schema(
    ("date", DateType(), False),  # partition: the run date whose window this is
    ("network", StringType(), False),
    ("actor_id", StringType(), False),  # reactor
    ("target_id", StringType(), False),  # account that received the reactions
    ("reactions", LongType(), False),  # raw count of the pair's reactions in the window
    ("weight", DoubleType(), False),  # sum over the pair's days of the day's weight x When(age)
    ("attention", DoubleType(), False),  # the same without the reactor's selectivity and ring factors
)

# silver/account_daily and silver/feature_state: additive per-account metrics in long form (one row per metric).
# account_daily holds one day's contribution; feature_state the window's running total as of `date`.
ACCOUNT_METRICS = _schema(
    ("date", DateType(), False),  # partition
    ("network", StringType(), False),
    ("account_id", StringType(), False),
    ("metric", StringType(), False),  # see klout.features.dynamic.METRICS
    ("value", DoubleType(), False),
)

# gold/features: one row per (account, network) per run date. weighted_<action> columns follow config `actions`.
FEATURES_BASE = _schema(
    ("date", DateType(), False),  # partition: run date
    ("network", StringType(), False),
    ("account_id", StringType(), False),
    # long-lasting, from the latest profile snapshot on or before the run date (null when unknown)
    ("snapshot_date", DateType(), True),
    ("log_followers", DoubleType(), True),  # ln(1 + followers)
    ("following_ratio", DoubleType(), True),  # following / max(followers, 1)
    ("log_lists", DoubleType(), True),  # ln(1 + list memberships)
    ("account_age_days", DoubleType(), True),  # run date - created_at
    ("verified", DoubleType(), True),  # 1.0 / 0.0
    ("title_seniority", DoubleType(), True),  # config features.title_seniority of the title
    ("external_authority", DoubleType(), True),
    ("spam_follower_share", DoubleType(), True),
    ("inactive_follower_share", DoubleType(), True),
    ("missing_features", ArrayType(StringType()), False),  # names of the long-lasting features that are null
    # dynamic, over the window ending on the run date (weighted_* decayed by age; counts are plain window counts)
    ("weighted_reactions", DoubleType(), False),  # Who x When x Where x What x How x anti-gaming, summed
    ("reactions", DoubleType(), False),  # raw reactions received
    ("reactor_days", DoubleType(), False),  # distinct reactors per day, summed over the window's days
    ("reacted_posts", DoubleType(), False),  # distinct posts that received reactions, per day, summed
    ("posts", DoubleType(), True),  # posts created in the window: max(profile delta, reacted_posts)
    ("reactions_per_post", DoubleType(), True),  # weighted_reactions / posts
    ("outside_circle_share", DoubleType(), True),  # share of weighted reactions from non-reciprocating reactors
    ("reactions_made", DoubleType(), False),  # the account's own activity: reactions it gave
    ("reacting_days", DoubleType(), False),  # days of the window on which it gave reactions (a reactor's history)
)

# gold/account_influence: the graph pass's output per account, network and run date (the next day's "Who").
# (Fields inside arrays are nullable: Delta does not enforce NOT NULL nested in arrays or maps.)
REACTOR_CONTRIBUTION = StructType(
    [
        StructField("reactor_id", StringType(), True),
        StructField("contribution", DoubleType(), True),  # damping x influence(reactor) x share, on the mean-1 scale
    ]
)
ACCOUNT_INFLUENCE = _schema(
    ("date", DateType(), False),  # partition: run date
    ("network", StringType(), False),
    ("account_id", StringType(), False),
    ("influence", DoubleType(), False),  # the fixed point divided by its network's mean: the mean account has 1.0
    ("raw", DoubleType(), False),  # the fixed point itself (prior scale): the next run's warm start
    # influence = bare + from_profile + from_reactions, where bare = (1 - damping) / network mean is what an account
    # with no profile facts and no reactions has
    ("from_profile", DoubleType(), False),  # (1 - damping) x (prior - 1) / mean: what the profile adds
    ("from_reactions", DoubleType(), False),  # damping x sum of reactors' raw influence x share / mean
    ("reactors", LongType(), False),  # distinct reactors in the window (true reach of the account)
    ("engaged_weight", DoubleType(), False),  # window edge weight received (When x Where x What x How x anti-gaming)
    ("audience_influence", DoubleType(), True),  # engaged_weight-weighted mean influence of its reactors
    ("top_reactors", ArrayType(REACTOR_CONTRIBUTION), False),  # largest contributions first (graph.top_reactors)
)

# gold/scores: one row per person per run date.
SCORES = _schema(
    ("date", DateType(), False),  # partition: run date
    ("person_id", StringType(), False),
    ("score", DoubleType(), False),  # 1-100, smoothed, rounded to 2 decimals
    ("target_score", DoubleType(), False),  # today's unsmoothed score (the smoothing pulls `score` towards it)
    ("raw", DoubleType(), False),  # sum over networks of network weight x account influence
    ("network_scores", MapType(StringType(), DoubleType()), False),  # network -> 1-100 score of that network alone
    ("true_reach", LongType(), False),  # distinct engaged reactors in the window, over the person's accounts
    ("amplification", DoubleType(), True),  # weighted reactions per post created in the window
    ("network_impact", DoubleType(), True),  # mean influence of the engaged audience (weighted by engagement)
    ("rank", LongType(), False),  # 1 = highest score (ties share a rank)
    ("percentile", DoubleType(), False),  # share of people with a lower score, in [0, 1)
    ("change_1d", DoubleType(), True),  # score minus the score 1 day before (null when none)
    ("change_7d", DoubleType(), True),  # score minus the score 7 days before (null when none)
)

# gold/score_explanations: why each person has their score, and what moved it since the day before.
NETWORK_PART = StructType(
    [
        StructField("network", StringType(), True),
        StructField("score", DoubleType(), True),  # the network's own 1-100 score
        StructField("share", DoubleType(), True),  # its share of the person's raw score
    ]
)
ACTION_PART = StructType(
    [
        StructField("action", StringType(), True),
        StructField("weight", DoubleType(), True),  # weighted reactions of this action in the window
        StructField("share", DoubleType(), True),  # its share of the person's weighted reactions
    ]
)
REACTOR_PART = StructType(
    [
        StructField("network", StringType(), True),
        StructField("reactor_id", StringType(), True),
        StructField("contribution", DoubleType(), True),  # as in account_influence.top_reactors, times network weight
    ]
)
NETWORK_CHANGE = StructType(
    [
        StructField("network", StringType(), True),
        StructField("before", DoubleType(), True),  # network score the day before (null: new network)
        StructField("after", DoubleType(), True),  # network score today (null: network gone)
        StructField("delta", DoubleType(), True),
    ]
)
SCORE_EXPLANATIONS = _schema(
    ("date", DateType(), False),  # partition: run date
    ("person_id", StringType(), False),
    ("score", DoubleType(), False),
    ("previous_score", DoubleType(), True),  # the day before (null: first score)
    ("top_networks", ArrayType(NETWORK_PART), False),
    ("top_actions", ArrayType(ACTION_PART), False),
    ("top_reactors", ArrayType(REACTOR_PART), False),
    ("network_changes", ArrayType(NETWORK_CHANGE), False),  # largest absolute change first
    ("summary", StringType(), False),  # one readable sentence
)

# ---- privacy --------------------------------------------------------------------------------------------------

# privacy/optouts: who asked not to be scored, or was erased (a suppression row). A row names a person (person_id,
# no account) or an account (network + account_id); every step drops the accounts they resolve to (klout.privacy).
OPTOUTS = _schema(
    ("subject_id", StringType(), False),  # key: "person:<person_id>" or "account:<network>:<account_id>"
    ("person_id", StringType(), True),  # a person row: the person (all their linked accounts); an erasure's
    # account row: the person erased (null when an account was erased)
    ("network", StringType(), True),  # an account row: the account's network (null: a person row)
    ("account_id", StringType(), True),  # an account row: the network-local user id (null: a person row)
    ("kind", StringType(), False),  # opt_out (withdrawn by `klout optout --remove`) | erasure (kept)
    ("requested_at", TimestampType(), False),  # when it was requested (the latest request for this subject)
    ("reason", StringType(), True),  # optional free text given with the request
)

# ---- operations: what ran, and what the data-quality gates saw -------------------------------------------------

RUN_LOG = _schema(
    ("run_id", StringType(), False),  # one invocation of a command (the orchestrator's id with --run-id)
    ("date", DateType(), False),  # run date
    ("step", StringType(), False),  # daily | features | graph | score (a daily run logs its steps too)
    ("status", StringType(), False),  # running | succeeded | failed | skipped (running forever: killed)
    ("started_at", TimestampType(), False),
    ("ended_at", TimestampType(), True),
    ("seconds", DoubleType(), True),
    ("row_counts", MapType(StringType(), LongType()), True),  # the step's own counts (rows written, ...)
    ("input_versions", MapType(StringType(), LongType()), True),  # Delta version of each input table at start
    ("inputs_fingerprint", StringType(), True),  # hash of the run date's inputs (see klout.runlog.fingerprint)
    ("config_hash", StringType(), False),  # Config.fingerprint() of the effective configuration
    ("code_version", StringType(), False),  # klout version (+ git commit when known)
    ("exit_code", LongType(), True),  # what the CLI exited with for this date (0 ok, 3 input, 4 gate...)
    ("message", StringType(), True),  # why it failed or was skipped
)

QUALITY_GATES = _schema(
    ("date", DateType(), False),  # run date
    ("gate", StringType(), False),  # quarantine_share | volume_drop | score_drift | score_jumps
    ("run_id", StringType(), False),  # the run that evaluated it (latest evaluation kept per date and gate)
    ("evaluated_at", TimestampType(), False),
    ("value", DoubleType(), True),  # what was measured (null: not measurable, e.g. no previous day)
    ("threshold", DoubleType(), False),  # the configured limit (quality.*)
    ("passed", BooleanType(), False),
    ("detail", StringType(), False),  # the measurement in words
)

# ---- evaluation: does the score predict influence? ---------------------------------------------------------------

EVALUATIONS = _schema(
    ("date", DateType(), False),  # the scores' run date
    ("horizon_days", IntegerType(), False),  # outcome window: the horizon_days days after `date`
    ("target", StringType(), False),  # future_reactions | hidden_influence (synthetic world only)
    ("predictor", StringType(), False),  # score | target_score | log_followers | reactions | pagerank
    ("persons", LongType(), False),  # people compared (scored on `date`; true people for hidden_influence)
    ("spearman", DoubleType(), True),  # rank correlation of predictor and target (null: a constant column)
    ("ndcg_at_k", DoubleType(), True),  # NDCG@k with the target as gain (null: no positive target)
    ("precision_at_k", DoubleType(), False),  # share of the top k by target among the top k by predictor
    ("k", IntegerType(), False),
    ("run_id", StringType(), False),
    ("evaluated_at", TimestampType(), False),
    ("code_version", StringType(), False),
)
