"""Privacy end to end on a tiny hand-made world: an opt-out keeps a person out of the next run's scores and out of
everyone's counts; an erasure leaves no trace of them in any table or data file, and the next run recomputes the
others without them.

The world (twitter unless noted; person "pat" linked twitter:pat1 and facebook:pat2):
  D1  pat1->ann retweet a1, bob->ann retweet a1, cat->ann like a2, ann->pat1 like p1, bob->pat1 retweet p1,
      facebook pat2->dan comment d1
  D2  pat1->ann retweet a3, bob->ann like a3, ann->bob retweet b1
  D3  pat1->ann retweet a4, cat->ann retweet a4
Without pat, by hand, as of D3 (window 90 days, so all three days count):
  ann  reactions 2 (D1 bob, cat) + 1 (D2 bob) + 1 (D3 cat) = 4; reactor_days 2 + 1 + 1 = 4;
       reacted_posts {a1, a2} + {a3} + {a4} = 4; reactions_made 1 (D2 ->bob); distinct reactors {bob, cat} = 2
  bob  reactions 1 (D2 ann), reactor_days 1, reacted_posts {b1} = 1, reactions_made 2 (D1, D2 ->ann); reactors {ann}
  cat  reactions 0, reactions_made 2 (D1, D3 ->ann); no reactors
  dan  only pat2 reacted to it and it has no profile: not in the window at all
(with pat, ann would have 7 reactions and 3 reactors).
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from klout import cli, tables
from klout.erasure import raw_names
from klout.exclusion import resolve_accounts, without_accounts
from klout.ingest.run import ingest
from klout.pipeline import run_daily
from klout.warehouse import Warehouse

NOW = dt.datetime(2030, 1, 1)
D1, D2, D3 = (dt.date(2026, 1, d) for d in (1, 2, 3))
# tiny days with quarantined lines: record the data-quality gates, but do not let them stop the publish
SETS = ("quality.enforce=false",)
PAT = ("pat", "pat1", "pat2")
NAMES_PAT = re.compile(r"(^|[^A-Za-z0-9_])(pat|pat1|pat2)([^A-Za-z0-9_]|$)")  # whole ids only: "pat10" is someone else

EVENTS = [  # (day, network, actor, target, action, content_id)
    (D1, "twitter", "pat1", "ann", "retweet", "a1"),
    (D1, "twitter", "bob", "ann", "retweet", "a1"),
    (D1, "twitter", "cat", "ann", "like", "a2"),
    (D1, "twitter", "ann", "pat1", "like", "p1"),
    (D1, "twitter", "bob", "pat1", "retweet", "p1"),
    (D1, "facebook", "pat2", "dan", "comment", "d1"),
    (D2, "twitter", "pat1", "ann", "retweet", "a3"),
    (D2, "twitter", "bob", "ann", "like", "a3"),
    (D2, "twitter", "ann", "bob", "retweet", "b1"),
    (D3, "twitter", "pat1", "ann", "retweet", "a4"),
    (D3, "twitter", "cat", "ann", "retweet", "a4"),
]
QUARANTINED = [  # quarantined lines: two name pat1, two name "pat10", who must keep theirs
    '{"network": "twitter", "actor_id": "pat1", "target_id": "pat1", "action": "like", "ts": "2026-01-01T09:00:00Z"}',
    "pat1 ann oops",
    '{"network": "twitter", "actor_id": "pat10", "target_id": "ann", "action": "dance", "ts": "2026-01-01T09:00:00Z"}',
    "pat10 ann oops",
]


@pytest.fixture(scope="module")
def world(spark, make_config, tmp_path_factory):
    """The warehouse directory after ingesting the world and running the daily step for D1 and D2 (built once; each
    test works on its own copy)."""
    tmp = tmp_path_factory.mktemp("privacy_world")
    _build(spark, make_config(tmp, *SETS), tmp)
    return tmp / "warehouse"


def _build(spark, cfg, tmp_path):
    """The world ingested into the warehouse of `cfg`, and the daily step run for D1 and D2."""
    src = tmp_path / "in"
    src.mkdir()
    lines = [
        json.dumps(
            {
                "network": n,
                "actor_id": a,
                "target_id": t,
                "action": act,
                "content_id": c,
                "content_type": "text",
                "ts": f"{day.isoformat()}T12:00:0{i % 10}Z",
            }
        )
        for i, (day, n, a, t, act, c) in enumerate(EVENTS)
    ]
    (src / "interactions.jsonl").write_text("\n".join(lines + QUARANTINED) + "\n")
    (src / "profiles.csv").write_text(
        "network,user_id,snapshot_date,followers\ntwitter,pat1,2025-12-31,100\ntwitter,ann,2025-12-31,50\n"
    )
    (src / "identities.csv").write_text("person_id,network,user_id\npat,twitter,pat1\npat,facebook,pat2\n")
    for kind, name in (
        ("identities", "identities.csv"),
        ("profiles", "profiles.csv"),
        ("interactions", "interactions.jsonl"),
    ):
        ingest(spark, cfg, str(src / name), kind=kind, now=NOW)
    for day in (D1, D2):
        run_daily(spark, cfg, day)


def _wh(cfg, *sets):
    return ["--set", f"warehouse={cfg.warehouse}", *[a for s in (*SETS, *sets) for a in ("--set", s)], "-q"]


def _assert_d3_without_pat(spark, cfg):
    """D3's features, influence, scores and explanations as hand-computed in the module docstring."""
    features = Warehouse(spark, cfg)[tables.FEATURES].partition(D3)
    assertDataFrameEqual(
        features.select("network", "account_id", "reactions", "reactor_days", "reacted_posts", "reactions_made"),
        spark.createDataFrame(
            [
                ("twitter", "ann", 4.0, 4.0, 4.0, 1.0),
                ("twitter", "bob", 1.0, 1.0, 1.0, 2.0),
                ("twitter", "cat", 0.0, 0.0, 0.0, 2.0),
            ],
            "network string, account_id string, reactions double, reactor_days double, "
            "reacted_posts double, reactions_made double",
        ),
    )
    reactors = lambda c: F.array_sort(F.transform(c, lambda r: r["reactor_id"]))  # noqa: E731
    assertDataFrameEqual(
        Warehouse(spark, cfg)[tables.ACCOUNT_INFLUENCE]
        .partition(D3)
        .select("network", "account_id", "reactors", reactors("top_reactors").alias("top")),
        spark.createDataFrame(
            [("twitter", "ann", 2, ["bob", "cat"]), ("twitter", "bob", 1, ["ann"]), ("twitter", "cat", 0, [])],
            "network string, account_id string, reactors long, top array<string>",
        ),
    )
    assertDataFrameEqual(
        Warehouse(spark, cfg)[tables.SCORES].partition(D3).select("person_id", "true_reach"),
        spark.createDataFrame(
            [("twitter:ann", 2), ("twitter:bob", 1), ("twitter:cat", 0)], "person_id string, true_reach long"
        ),
    )
    assertDataFrameEqual(
        Warehouse(spark, cfg)[tables.SCORE_EXPLANATIONS]
        .partition(D3)
        .select("person_id", reactors("top_reactors").alias("top"), F.col("summary").contains("pat").alias("pat")),
        spark.createDataFrame(
            [("twitter:ann", ["bob", "cat"], False), ("twitter:bob", ["ann"], False), ("twitter:cat", [], False)],
            "person_id string, top array<string>, pat boolean",
        ),
    )


OPTOUT_COLUMNS = "subject_id string, person_id string, network string, account_id string, kind string, reason string"


def _optouts(spark, cfg):
    return (
        Warehouse(spark, cfg)[tables.OPTOUTS]
        .read()
        .select("subject_id", "person_id", "network", "account_id", "kind", "reason")
    )


def _report(out: str) -> dict[str, dict[str, int]]:
    """The erase command's lines `table: key n, key n` as a dict."""
    report = {}
    for line in out.splitlines():
        name, sep, rest = line.partition(": ")
        if sep and "/" in name:
            report[name] = {k: int(v.replace(",", "")) for k, v in (kv.rsplit(" ", 1) for kv in rest.split(", "))}
    return report


def test_an_opted_out_person_is_left_out_of_the_next_run_and_of_everyone_elses_counts(
    spark, world, copy_warehouse, tmp_path, capsys
):
    cfg = copy_warehouse(world, tmp_path, *SETS)
    assert Warehouse(spark, cfg)[tables.SCORES].partition(D2).where("person_id = 'pat'").count() == 1
    assert cli.main(["optout", "--person", "pat", "--reason", "asked by mail", *_wh(cfg)]) == 0
    # pat1 reacted on D1 and D2, inside the window: both days' aggregates are recomputed, the state from D1 dropped
    assert "opted out person:pat: inserted 1, updated 0, accounts 2, " in capsys.readouterr().out
    assert cli.main(["optout", "--person", "pat", "--reason", "asked by mail", *_wh(cfg)]) == 0
    assert (
        "opted out person:pat: inserted 0, updated 0, accounts 2, state_rows_deleted 0, days_recomputed 0"
        in capsys.readouterr().out
    )  # nothing of them is left in the window's aggregates: a rerun changes nothing
    assertDataFrameEqual(
        _optouts(spark, cfg),
        spark.createDataFrame([("person:pat", "pat", None, None, "opt_out", "asked by mail")], OPTOUT_COLUMNS),
    )

    run_daily(spark, cfg, D3)
    _assert_d3_without_pat(spark, cfg)
    # published days before the opt-out stay as they were
    assert Warehouse(spark, cfg)[tables.SCORES].partition(D2).where("person_id = 'pat'").count() == 1


@pytest.mark.slow
def test_erasure_leaves_no_trace_and_the_next_run_recomputes_the_others(spark, world, copy_warehouse, tmp_path, capsys):
    cfg = copy_warehouse(world, tmp_path, *SETS)
    warehouse = tmp_path / "warehouse"
    assert _tables_naming_pat(spark, cfg) and _files_naming_pat(warehouse)  # the checks below can see them

    assert cli.main(["erase", "--person", "pat", *_wh(cfg, "maintenance.vacuum_retention_hours=0")]) == 0
    report = _report(capsys.readouterr().out)
    rows = {name: {k: v for k, v in counts.items() if k in ("deleted", "updated")} for name, counts in report.items()}
    assert rows == {
        "privacy/optouts": {"updated": 0},
        "bronze/interactions": {"deleted": 6},  # pat1 or pat2 as actor or target, D1-D3
        "bronze/profiles_history": {"deleted": 1},
        "bronze/profiles_latest": {"deleted": 1},
        "bronze/identities": {"deleted": 2},
        "bronze/quarantine": {"deleted": 2},  # the self-reaction and the malformed line; pat10's stay
        # D1: pat1->ann, ann->pat1, bob->pat1, pat2->dan; D2: pat1->ann
        "silver/edges_daily": {"deleted": 5},
        # D1: pat1 received (weighted_reactions, _like, _retweet, outside_circle_weight, reactions, reactor_days,
        # reacted_posts) and made reactions (reactions_made, reacting_days), pat2 made reactions; D2: pat1 made them
        "silver/account_daily": {"deleted": 7 + 2 + 2 + 2},
        # from D1 on: D1's 30 rows and D2's 35 (25 and 30 + a reacting_days row per reactor: 5), all of it
        "silver/feature_state": {"deleted": 30 + 35},
        # from D1 on: D1's 6 pairs, D2's 7 (D1's and ann->bob), all of it
        "silver/window_edges": {"deleted": 6 + 7},
        "gold/features": {"deleted": 4},  # pat1 and pat2 on D1 and D2
        "gold/account_influence": {"deleted": 4, "updated": 4},  # ann and dan had them as top reactors, D1 and D2
        "gold/scores": {"deleted": 2},  # pat on D1 and D2
        "gold/score_explanations": {"deleted": 2, "updated": 4},
    }
    assert report["silver/edges_daily"]["days_recomputed"] == 2
    assert report["silver/account_daily"]["deleted"] > 0 and report["bronze/interactions"]["files_vacuumed"] > 0
    assert [Warehouse(spark, cfg)[t].read().count() for t in tables.WINDOW_STATES] == [0, 0]

    assert _tables_naming_pat(spark, cfg) == {}
    assert _files_naming_pat(warehouse) == []
    assertDataFrameEqual(
        _optouts(spark, cfg),
        spark.createDataFrame(
            [
                ("person:pat", "pat", None, None, "erasure", None),
                ("account:twitter:pat1", "pat", "twitter", "pat1", "erasure", None),
                ("account:facebook:pat2", "pat", "facebook", "pat2", "erasure", None),
            ],
            OPTOUT_COLUMNS,
        ),
    )
    assert sorted(r["raw"] for r in Warehouse(spark, cfg)[tables.QUARANTINE].read().collect()) == sorted(
        QUARANTINED[2:]
    )
    # the explanations' summaries no longer name pat1 as ann's top reactor
    assert Warehouse(spark, cfg)[tables.SCORE_EXPLANATIONS].read().where(F.col("summary").contains("pat1")).count() == 0

    # a rerun (as after a killed erase) finds the accounts from the suppression rows and has nothing left to do
    assert cli.main(["erase", "--person", "pat", *_wh(cfg, "maintenance.vacuum_retention_hours=0")]) == 0
    again = _report(capsys.readouterr().out)
    assert {k: v for name, c in again.items() for k, v in c.items() if k in ("deleted", "updated") and v} == {}

    run_daily(spark, cfg, D3)
    _assert_d3_without_pat(spark, cfg)


def _tables_naming_pat(spark, cfg) -> dict[str, int]:
    """Rows per table (current version; every column, nested ones as JSON) naming pat, pat1 or pat2."""
    found = {}
    for table in tables.ALL:
        if table.name == tables.OPTOUTS.name or not Warehouse(spark, cfg)[table].exists():
            continue  # the suppression list keeps the ids on purpose
        df = Warehouse(spark, cfg)[table].read()
        n = df.where(F.to_json(F.struct(*df.columns)).rlike(NAMES_PAT.pattern)).count()
        if n:
            found[table.name] = n
    return found


def _files_naming_pat(warehouse) -> list[str]:
    """Data files left on disk (the Delta logs and the suppression list aside) whose values name pat."""
    hits = []
    for path in sorted(warehouse.rglob("*.parquet")):
        rel = path.relative_to(warehouse).as_posix()
        if "_delta_log" in rel or rel.startswith(tables.OPTOUTS.name):
            continue
        if NAMES_PAT.search(json.dumps(pq.read_table(path).to_pylist(), default=str)):
            hits.append(rel)
    return hits


# ---- the pure parts, on in-memory frames ------------------------------------------------------------------------


@pytest.mark.fast
def test_opt_outs_resolve_to_linked_and_own_id_accounts_and_drop_them_as_actor_and_target(spark, cfg):
    optouts = spark.createDataFrame(
        [
            ("person:pat", "pat", None, None),  # linked: twitter pat1, facebook pat2
            ("person:twitter:solo", "twitter:solo", None, None),  # an unlinked account's own person id
            ("person:twitter:taken", "twitter:taken", None, None),  # that account belongs to "other": not covered
            ("person:nonet:x", "nonet:x", None, None),  # not a network: names no account
            ("person:facebook:a:b", "facebook:a:b", None, None),  # the user id is everything after the first colon
            ("account:linkedin:li1", None, "linkedin", "li1"),
        ],
        "subject_id string, person_id string, network string, account_id string",
    )
    identities = spark.createDataFrame(
        [("twitter", "pat1", "pat"), ("facebook", "pat2", "pat"), ("twitter", "taken", "other")],
        "network string, user_id string, person_id string",
    )
    accounts = resolve_accounts(optouts, identities, list(cfg.networks))
    assertDataFrameEqual(
        accounts,
        spark.createDataFrame(
            [("twitter", "pat1"), ("facebook", "pat2"), ("twitter", "solo"), ("facebook", "a:b"), ("linkedin", "li1")],
            "network string, account_id string",
        ),
    )

    edges = spark.createDataFrame(
        [
            ("twitter", "bob", "ann"),
            ("twitter", "pat1", "ann"),
            ("twitter", "ann", "solo"),
            ("facebook", "pat1", "dan"),
            ("linkedin", "li1", "x"),
        ],
        "network string, actor_id string, target_id string",
    )
    # facebook pat1 is not the twitter account pat1: it stays
    assertDataFrameEqual(
        without_accounts(edges, accounts, "network", "actor_id", "target_id"),
        spark.createDataFrame([("twitter", "bob", "ann"), ("facebook", "pat1", "dan")], edges.schema),
    )
    assert without_accounts(edges, None, "network", "actor_id") is edges


@pytest.mark.fast
def test_quarantined_records_are_matched_by_whole_ids_on_their_network(spark):
    accounts = [("facebook", "pat2"), ("twitter", "pat1")]
    rows = [  # (kind, raw, names pat?)
        ("interactions", '{"network": "twitter", "actor_id": "pat1", "target_id": "ann"}', True),
        ("interactions", '{"network": " Twitter ", "actor_id": "ann", "target_id": " pat1 "}', True),
        ("interactions", '{"network": "facebook", "actor_id": "pat1", "target_id": "ann"}', False),  # other network
        ("interactions", '{"actor_id": "pat1", "target_id": "ann"}', True),  # no network: any
        ("interactions", '{"network": "twitter", "actor_id": "pat10", "target_id": "xpat1"}', False),
        ("interactions", "pat1 ann 1341100972 RT", True),  # Higgs line
        ("interactions", "pat10 ann 1341100972 RT", False),
        ("interactions", "ann\tpat2\tpost9\t1341100972000\t1341100973000\t0", True),  # Klout sample line
        ("interactions", '{"network": "twitter", "actor_id": "pat1", "target_i', True),  # malformed JSON
        ("profiles", '{"network": "twitter", "user_id": "pat1", "followers": "x"}', True),
        ("identities", '{"person_id": "pat", "network": "linkedin", "user_id": "li9"}', True),
        ("identities", "pat,linkedin", True),  # malformed CSV line naming pat
        ("interactions", "pat ann 1341100972 RT", False),  # "pat" is a person, not an account
    ]
    df = spark.createDataFrame([(k, r) for k, r, _ in rows], "kind string, raw string")
    got = df.select("kind", "raw", raw_names(F.col("raw"), F.col("kind"), accounts, ["pat"]).alias("named"))
    assertDataFrameEqual(got, spark.createDataFrame(rows, "kind string, raw string, named boolean"))
