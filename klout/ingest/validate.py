"""Parse canonical string columns into typed rows and give every bad row exactly one reason.

Each function here is a pure DataFrame transform: reader output in, the kind's typed columns plus `reason`
(null for a good row) and `raw` out. The first failing check names the reason, in the order listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from klout.config import Config
from klout.persons import own_person_id

# Closed list of quarantine reasons, by kind, in the order they are checked.
REASONS = {
    "interactions": (
        "malformed_record",
        "missing_network",
        "unknown_network",
        "missing_actor_id",
        "missing_target_id",
        "missing_action",
        "unknown_action",
        "missing_timestamp",
        "unparseable_timestamp",
        "early_timestamp",
        "future_timestamp",
        "unknown_content_type",
        "self_interaction",
        "duplicate_event",
    ),
    "profiles": (
        "malformed_record",
        "missing_network",
        "unknown_network",
        "missing_user_id",
        "missing_snapshot_date",
        "unparseable_snapshot_date",
        "early_snapshot_date",
        "future_snapshot_date",
        "invalid_followers",
        "invalid_following",
        "invalid_lists",
        "invalid_posts",
        "invalid_verified",
        "invalid_created_at",
        "invalid_external_authority",
        "invalid_spam_follower_share",
        "invalid_inactive_follower_share",
        "duplicate_snapshot",
    ),
    "identities": (
        "malformed_record",
        "missing_person_id",
        "missing_network",
        "unknown_network",
        "missing_user_id",
        "foreign_person_id",
        "conflicting_link",
        "duplicate_link",
    ),
}

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def clean(c: Column | str) -> Column:
    """Trimmed string, with blanks as null."""
    t = F.trim(F.col(c) if isinstance(c, str) else c)
    return F.when(t != "", t)


def parse_timestamp(c: Column, millis_threshold: float) -> Column:
    """ISO-8601 text, epoch seconds or epoch milliseconds (by magnitude) to a UTC timestamp; null if unparseable."""
    number = F.when(c.rlike(r"^[+-]?[0-9]+(\.[0-9]+)?$"), c.try_cast("double"))
    from_number = (
        F.when(F.abs(number) >= 1e15, None)  # beyond year 33000 even as ms: garbage
        .when(F.abs(number) >= millis_threshold, F.timestamp_millis(number.cast("long")))
        .otherwise(F.timestamp_seconds(number))
    )
    return F.when(number.isNotNull(), from_number).otherwise(F.try_to_timestamp(c))


def first_reason(checks: Iterable[tuple[Column, str]]) -> Column:
    """The reason of the first check that holds, else null. Needs at least one check."""
    out: Column | None = None
    for cond, reason in checks:
        out = F.when(cond, F.lit(reason)) if out is None else out.when(cond, F.lit(reason))
    if out is None:
        raise ValueError("first_reason: no checks given")
    return out


def _lookup(mapping: dict[str, str], key: Column) -> Column:
    return F.try_element_at(F.create_map(*[F.lit(x) for kv in mapping.items() for x in kv]), key)


def _plausible_times(cfg: Config, now: dt.datetime) -> tuple[Column, Column]:
    """The earliest and latest time a record may carry: `ingest.earliest_date` at midnight (session time zone,
    UTC) and ingest time + `ingest.max_future_seconds`."""
    ing = cfg.ingest
    return F.to_timestamp(F.lit(ing.earliest_date.isoformat())), F.lit(
        now + dt.timedelta(seconds=ing.max_future_seconds)
    )


def _network_checks(net_raw: Column, net: Column, cfg: Config) -> list[tuple[Column, str]]:
    return [(net_raw.isNull(), "missing_network"), (~net.isin(list(cfg.networks)), "unknown_network")]


def _names_another_account(person_id: Column, network: Column, user_id: Column, cfg: Config) -> Column:
    """A person id of the form an unlinked account's own id takes (`<network>:<user_id>`, `klout.persons`) that is not
    this link's own account's: it would merge that other account's person with this one."""
    prefix = F.substring_index(person_id, ":", 1)
    own = own_person_id(network, user_id)
    return (F.instr(person_id, ":") > 0) & prefix.isin(list(cfg.networks)) & (person_id != own)


def mark_duplicates(df: DataFrame, key: list[str], reason: str) -> DataFrame:
    """Among good rows, every row after the first of a key (ordered by `raw`, so deterministic) gets `reason`."""
    w = Window.partitionBy(*key, F.col("reason").isNull()).orderBy("raw")
    dup = F.col("reason").isNull() & (F.row_number().over(w) > 1)
    return df.withColumn("reason", F.when(dup, F.lit(reason)).otherwise(F.col("reason")))


def interactions(df: DataFrame, cfg: Config, now: dt.datetime) -> DataFrame:
    """Typed interactions with `event_id`, `event_date` and `reason`; see REASONS['interactions']."""
    ing = cfg.ingest
    canonical = {**{a: a for a in cfg.actions}, **dict(cfg.action_aliases)}
    net_raw, actor, target, label = clean("network"), clean("actor_id"), clean("target_id"), clean("action")
    ts_raw, ctype_raw = clean("ts"), clean("content_type")
    out = df.select(
        F.lower(net_raw).alias("network"),
        actor.alias("actor_id"),
        target.alias("target_id"),
        F.coalesce(_lookup(canonical, label), _lookup(canonical, F.lower(label))).alias("action"),
        parse_timestamp(ts_raw, ing.epoch_millis_threshold).alias("ts"),
        clean("content_id").alias("content_id"),
        F.lower(ctype_raw).alias("content_type"),
        clean("event_id").alias("source_event_id"),
        net_raw.alias("_net_raw"),
        label.alias("_label"),
        ts_raw.alias("_ts_raw"),
        "raw",
        "malformed",
    )
    earliest, horizon = _plausible_times(cfg, now)
    reason = first_reason(
        [
            (F.col("malformed"), "malformed_record"),
            *_network_checks(F.col("_net_raw"), F.col("network"), cfg),
            (F.col("actor_id").isNull(), "missing_actor_id"),
            (F.col("target_id").isNull(), "missing_target_id"),
            (F.col("_label").isNull(), "missing_action"),
            (F.col("action").isNull(), "unknown_action"),
            (F.col("_ts_raw").isNull(), "missing_timestamp"),
            (F.col("ts").isNull(), "unparseable_timestamp"),
            (F.col("ts") < earliest, "early_timestamp"),
            (F.col("ts") > horizon, "future_timestamp"),
            (
                F.col("content_type").isNotNull() & ~F.col("content_type").isin(list(cfg.content_types)),
                "unknown_content_type",
            ),
            (F.col("actor_id") == F.col("target_id"), "self_interaction"),
        ]
    )
    fingerprint = F.concat_ws(
        "\u001f",
        "network",
        "actor_id",
        "target_id",
        "action",
        F.unix_micros("ts").cast("string"),
        F.coalesce("content_id", F.lit("")),
        F.coalesce("content_type", F.lit("")),
    )
    out = out.withColumns(
        {
            "reason": reason,
            "event_id": F.coalesce(
                "source_event_id", F.substring(F.sha2(fingerprint, 256), 1, ing.event_id_hash_chars)
            ),
            "event_date": F.to_date("ts"),
        }
    )
    out = mark_duplicates(out, ["event_id"], "duplicate_event")
    return out.drop("source_event_id", "_net_raw", "_label", "_ts_raw", "malformed")


def _number(name: str, integral: bool, low: float | None, high: float | None) -> tuple[Column, Column]:
    """Parsed value of an optional numeric column and a flag for a present but invalid value."""
    text = clean(name)
    value = text.try_cast("double")
    bad = value.isNull() | F.isnan(value)
    if integral:
        bad = bad | (value != F.floor(value))
    if low is not None:
        bad = bad | (value < low)
    if high is not None:
        bad = bad | (value > high)
    invalid = text.isNotNull() & bad
    return F.when(~invalid, value.cast("long" if integral else "double")), invalid


def profiles(df: DataFrame, cfg: Config, now: dt.datetime) -> DataFrame:
    """Typed profile snapshots with `reason`; see REASONS['profiles']."""
    ing = cfg.ingest
    net_raw, snap_raw, verified_raw, created_raw = (
        clean("network"),
        clean("snapshot_date"),
        clean("verified"),
        clean("created_at"),
    )
    snapshot = F.to_date(parse_timestamp(snap_raw, ing.epoch_millis_threshold))
    created = parse_timestamp(created_raw, ing.epoch_millis_threshold)
    verified = F.when(F.lower(verified_raw).isin(*_TRUE), True).when(F.lower(verified_raw).isin(*_FALSE), False)
    numeric = {
        "followers": _number("followers", True, 0, None),
        "following": _number("following", True, 0, None),
        "lists": _number("lists", True, 0, None),
        "posts": _number("posts", True, 0, None),
        "external_authority": _number("external_authority", False, 0, None),
        "spam_follower_share": _number("spam_follower_share", False, 0, 1),
        "inactive_follower_share": _number("inactive_follower_share", False, 0, 1),
    }
    earliest, horizon = _plausible_times(cfg, now)
    reason = first_reason(
        [
            (F.col("malformed"), "malformed_record"),
            *_network_checks(net_raw, F.lower(net_raw), cfg),
            (clean("user_id").isNull(), "missing_user_id"),
            (snap_raw.isNull(), "missing_snapshot_date"),
            (snapshot.isNull(), "unparseable_snapshot_date"),
            (snapshot < earliest, "early_snapshot_date"),
            (snapshot > F.to_date(horizon), "future_snapshot_date"),
            *[(numeric[c][1], f"invalid_{c}") for c in ("followers", "following", "lists", "posts")],
            (verified_raw.isNotNull() & verified.isNull(), "invalid_verified"),
            (
                created_raw.isNotNull() & (created.isNull() | (created < earliest) | (created > horizon)),
                "invalid_created_at",
            ),
            *[
                (numeric[c][1], f"invalid_{c}")
                for c in ("external_authority", "spam_follower_share", "inactive_follower_share")
            ],
        ]
    )
    out = df.select(
        F.lower(net_raw).alias("network"),
        clean("user_id").alias("user_id"),
        snapshot.alias("snapshot_date"),
        *[numeric[c][0].alias(c) for c in ("followers", "following", "lists", "posts")],
        verified.alias("verified"),
        created.alias("created_at"),
        clean("title_seniority").alias("title_seniority"),
        *[numeric[c][0].alias(c) for c in ("external_authority", "spam_follower_share", "inactive_follower_share")],
        "raw",
        reason.alias("reason"),
        snapshot.alias("event_date"),
    )
    return mark_duplicates(out, ["network", "user_id", "snapshot_date"], "duplicate_snapshot")


def identities(df: DataFrame, cfg: Config) -> DataFrame:
    """Typed identity links with `reason`; an account linked to two persons in one batch is a conflict."""
    net_raw = clean("network")
    out = df.select(
        clean("person_id").alias("person_id"),
        F.lower(net_raw).alias("network"),
        clean("user_id").alias("user_id"),
        "raw",
        F.lit(None).cast("date").alias("event_date"),
        first_reason(
            [
                (F.col("malformed"), "malformed_record"),
                (clean("person_id").isNull(), "missing_person_id"),
                *_network_checks(net_raw, F.lower(net_raw), cfg),
                (clean("user_id").isNull(), "missing_user_id"),
                (
                    _names_another_account(clean("person_id"), F.lower(net_raw), clean("user_id"), cfg),
                    "foreign_person_id",
                ),
            ]
        ).alias("reason"),
    )
    account = Window.partitionBy("network", "user_id", F.col("reason").isNull())
    conflict = F.col("reason").isNull() & (F.min("person_id").over(account) != F.max("person_id").over(account))
    out = out.withColumn("reason", F.when(conflict, F.lit("conflicting_link")).otherwise(F.col("reason")))
    return mark_duplicates(out, ["network", "user_id"], "duplicate_link")
