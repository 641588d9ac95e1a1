"""Ingest of profile snapshots (history + latest) and identity links, and account → person resolution."""

from __future__ import annotations

import datetime as dt
import json

from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from klout import tables
from klout.ingest.run import ingest
from klout.persons import with_person_id
from klout.warehouse import Warehouse

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)
P_HEADER = [
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
]

PROFILE_LINES = [
    ("twitter,u1,2026-01-01,100,50,3,1000,true,2010-05-01T00:00:00Z,,0.5,0.1,0.2", None),
    ("twitter,u1,2025-12-20,120,,,,,,,,,", None),
    ("linkedin,u2,2025-12-31,10,5,0,2,no,,director,,,", None),
    ("twitter,u1,2025-12-20,999,,,,,,,,,", "duplicate_snapshot"),
    (",u3,2026-01-01,,,,,,,,,,", "missing_network"),
    ("orkut,u3,2026-01-01,,,,,,,,,,", "unknown_network"),
    ("twitter,,2026-01-01,,,,,,,,,,", "missing_user_id"),
    ("twitter,u3,,,,,,,,,,,", "missing_snapshot_date"),
    ("twitter,u3,someday,,,,,,,,,,", "unparseable_snapshot_date"),
    ("twitter,u3,1999-12-31,,,,,,,,,,", "early_snapshot_date"),  # before ingest.earliest_date
    ("twitter,u3,2027-01-01,,,,,,,,,,", "future_snapshot_date"),
    ("twitter,u3,2026-01-01,-1,,,,,,,,,", "invalid_followers"),
    ("twitter,u3,2026-01-01,,1.5,,,,,,,,", "invalid_following"),
    ("twitter,u3,2026-01-01,,,abc,,,,,,,", "invalid_lists"),
    ("twitter,u3,2026-01-01,,,,-3,,,,,,", "invalid_posts"),
    ("twitter,u3,2026-01-01,,,,,maybe,,,,,", "invalid_verified"),
    ("twitter,u3,2026-01-01,,,,,,2030-01-01,,,,", "invalid_created_at"),
    ("twitter,u3,2026-01-01,,,,,,0,,,,", "invalid_created_at"),  # the epoch: a default, not a creation time
    ("twitter,u3,2026-01-01,,,,,,,,-0.1,,", "invalid_external_authority"),
    ("twitter,u3,2026-01-01,,,,,,,,,1.5,", "invalid_spam_follower_share"),
    ("twitter,u3,2026-01-01,,,,,,,,,,x", "invalid_inactive_follower_share"),
    ("twitter,u3,2026-01-01,,,,,,,,,,,", "malformed_record"),
]

U1_JAN = Row(
    network="twitter",
    user_id="u1",
    snapshot_date=dt.date(2026, 1, 1),
    followers=100,
    following=50,
    lists=3,
    posts=1000,
    verified=True,
    created_at=dt.datetime(2010, 5, 1),
    title_seniority=None,
    external_authority=0.5,
    spam_follower_share=0.1,
    inactive_follower_share=0.2,
)
U1_DEC = Row(
    network="twitter",
    user_id="u1",
    snapshot_date=dt.date(2025, 12, 20),
    followers=120,
    following=None,
    lists=None,
    posts=None,
    verified=None,
    created_at=None,
    title_seniority=None,
    external_authority=None,
    spam_follower_share=None,
    inactive_follower_share=None,
)
U2_DEC = Row(
    network="linkedin",
    user_id="u2",
    snapshot_date=dt.date(2025, 12, 31),
    followers=10,
    following=5,
    lists=0,
    posts=2,
    verified=False,
    created_at=None,
    title_seniority="director",
    external_authority=None,
    spam_follower_share=None,
    inactive_follower_share=None,
)


def _csv(tmp_path, name, header, lines):
    path = tmp_path / name
    path.write_text(",".join(header) + "\n" + "\n".join(lines) + "\n")
    return str(path)


def _profiles(spark, cfg, table):
    return Warehouse(spark, cfg)[table].read().drop("source", "ingested_at")


def test_profiles_keep_history_and_latest_and_quarantine_each_bad_value(spark, cfg, tmp_path):
    src = _csv(tmp_path, "profiles.csv", P_HEADER, [line for line, _ in PROFILE_LINES])
    report = ingest(spark, cfg, src, "csv", kind="profiles", now=NOW)

    assert (report.accepted, report.inserted) == (3, 3)
    quarantine = Warehouse(spark, cfg)[tables.QUARANTINE].read().select("reason", "raw")
    expected_q = [
        (
            reason,
            line
            if reason == "malformed_record"
            else json.dumps(
                dict(zip(P_HEADER, [v or None for v in line.split(",")], strict=False)), separators=(",", ":")
            ),
        )
        for line, reason in PROFILE_LINES
        if reason
    ]
    assertDataFrameEqual(quarantine, spark.createDataFrame(expected_q, quarantine.schema))

    history = _profiles(spark, cfg, tables.PROFILES_HISTORY)
    assertDataFrameEqual(history, spark.createDataFrame([U1_JAN, U1_DEC, U2_DEC], history.schema))
    latest = _profiles(spark, cfg, tables.PROFILES_LATEST)
    assertDataFrameEqual(latest, spark.createDataFrame([U1_JAN, U2_DEC], latest.schema))


def test_profile_corrections_update_and_older_snapshots_do_not_replace_latest(spark, cfg, tmp_path):
    ingest(
        spark,
        cfg,
        _csv(tmp_path, "p1.csv", P_HEADER, [line for line, r in PROFILE_LINES if r is None]),
        "csv",
        kind="profiles",
        now=NOW,
    )
    fix = [
        "twitter,u1,2026-01-01,130,50,3,1000,true,2010-05-01T00:00:00Z,,0.5,0.1,0.2",  # correction
        "linkedin,u2,2025-12-01,7,,,,,,,,,",
    ]  # older snapshot
    src = _csv(tmp_path, "p2.csv", P_HEADER, fix)
    report = ingest(spark, cfg, src, "csv", kind="profiles", now=NOW)
    assert (report.inserted, report.updated) == (1, 1)

    u1_fixed = U1_JAN.asDict() | {"followers": 130}
    u2_old = U2_DEC.asDict() | {
        "snapshot_date": dt.date(2025, 12, 1),
        "followers": 7,
        "following": None,
        "lists": None,
        "posts": None,
        "verified": None,
        "title_seniority": None,
    }
    history = _profiles(spark, cfg, tables.PROFILES_HISTORY)
    assertDataFrameEqual(
        history, spark.createDataFrame([Row(**u1_fixed), U1_DEC, U2_DEC, Row(**u2_old)], history.schema)
    )
    latest = _profiles(spark, cfg, tables.PROFILES_LATEST)
    assertDataFrameEqual(latest, spark.createDataFrame([Row(**u1_fixed), U2_DEC], latest.schema))

    again = ingest(spark, cfg, src, "csv", kind="profiles", now=NOW)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_identity_links_conflicts_duplicates_and_relinks(spark, cfg, tmp_path):
    header = ["person_id", "network", "user_id"]
    lines = [
        ("p1,twitter,u1", None),
        ("p1,linkedin,u2", None),
        ("p2,facebook,f1", "conflicting_link"),
        ("p3,facebook,f1", "conflicting_link"),
        ("p1,Twitter,u1", "duplicate_link"),
        (",twitter,u9", "missing_person_id"),
        ("p4,,u9", "missing_network"),
        ("p4,orkut,u9", "unknown_network"),
        ("p4,twitter,", "missing_user_id"),
        ("twitter:u7,twitter,u7", None),  # an account's own id, linked to itself: accepted
        ("twitter:u1,facebook,f5", "foreign_person_id"),  # the own id of another account (unlinked or not)
        ("orkut:x,facebook,f6", None),  # not a configured network's prefix: any person id
    ]
    report = ingest(
        spark, cfg, _csv(tmp_path, "ids.csv", header, [x for x, _ in lines]), "csv", kind="identities", now=NOW
    )
    assert report.quarantined == {
        "conflicting_link": 2,
        "duplicate_link": 1,
        "missing_person_id": 1,
        "missing_network": 1,
        "unknown_network": 1,
        "missing_user_id": 1,
        "foreign_person_id": 1,
    }
    links = Warehouse(spark, cfg)[tables.IDENTITIES].read().select("network", "user_id", "person_id")
    assertDataFrameEqual(
        links,
        spark.createDataFrame(
            [
                ("twitter", "u1", "p1"),
                ("linkedin", "u2", "p1"),
                ("twitter", "u7", "twitter:u7"),
                ("facebook", "f6", "orkut:x"),
            ],
            links.schema,
        ),
    )

    relink = ingest(
        spark, cfg, _csv(tmp_path, "ids2.csv", header, ["p9,twitter,u1"]), "csv", kind="identities", now=NOW
    )
    assert (relink.inserted, relink.updated) == (0, 1)

    accounts = spark.createDataFrame(
        [("twitter", "u1"), ("linkedin", "u2"), ("facebook", "f7")], "network string, user_id string"
    )
    persons = with_person_id(accounts, Warehouse(spark, cfg)[tables.IDENTITIES].read())
    assertDataFrameEqual(
        persons,
        spark.createDataFrame(
            [("twitter", "u1", "p9"), ("linkedin", "u2", "p1"), ("facebook", "f7", "facebook:f7")],
            "network string, user_id string, person_id string",
        ),
    )
