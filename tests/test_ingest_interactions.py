"""Ingest of interactions: every bad-input class lands in quarantine with its exact row; good rows are exact."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections import Counter

import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from klout import tables
from klout.errors import InputError
from klout.ingest.readers import read_source
from klout.ingest.run import ingest
from klout.warehouse import Warehouse

NOW = dt.datetime(2026, 1, 1, 12, 0, 0)
HEADER = ["network", "actor_id", "target_id", "action", "ts", "content_id", "content_type", "event_id"]

# (csv line, quarantine reason or None for a good row)
LINES = [
    ("twitter,a,b,RT,1341100972,,,", None),  # epoch seconds, alias RT
    ("twitter,a,b,RT,1341100972,,,", "duplicate_event"),  # same line again
    ("Facebook,c,d,like,2012-07-02T10:00:00Z,p1,Photo,e-1", None),  # ISO-8601, case-folded, explicit id
    ("twitter,c,d,MENTION,1341187200000,,,", None),  # epoch milliseconds
    ("facebook,x,y,comment,2012-07-02 11:00:00,p9,,e-1", "duplicate_event"),  # same explicit event_id
    (",a,b,RT,1341100972,,,", "missing_network"),
    ("myspace,a,b,RT,1341100972,,,", "unknown_network"),
    ("twitter,,b,RT,1341100972,,,", "missing_actor_id"),
    ("twitter,a, ,RT,1341100972,,,", "missing_target_id"),
    ("twitter,a,b,,1341100972,,,", "missing_action"),
    ("twitter,a,b,poke,1341100972,,,", "unknown_action"),
    ("twitter,a,b,RT,,,,", "missing_timestamp"),
    ("twitter,a,b,RT,yesterday,,,", "unparseable_timestamp"),
    ("twitter,a,b,RT,-5,,,", "early_timestamp"),  # 1969-12-31T23:59:55: before ingest.earliest_date
    ("twitter,a,b,RT,1999-12-31T23:59:59Z,,,", "early_timestamp"),
    ("twitter,a,b,RT,2000-01-01T00:00:00Z,,,", None),  # exactly the earliest: accepted
    ("twitter,a,b,RT,2026-01-01T13:00:01Z,,,", "future_timestamp"),  # NOW + 1h + 1s
    ("twitter,a,b,RT,2026-01-01T13:00:00Z,,,", None),  # exactly at the tolerance: accepted
    ("twitter,a,b,RT,1341100972,p2,hologram,", "unknown_content_type"),
    ("twitter,a,a,RT,1341100972,,,", "self_interaction"),
    ("twitter,a,b,RT,1341100972,,,,extra", "malformed_record"),  # more fields than the header
]


def _raw_json(line: str) -> str:
    values = [None if v == "" else v for v in line.split(",")]  # CSV reads an empty field as null
    # a malformed line may be short: zip to the shorter
    return json.dumps(dict(zip(HEADER, values, strict=False)), separators=(",", ":"))


def _event_id(*fields: str) -> str:
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:32]


@pytest.fixture
def csv_source(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(",".join(HEADER) + "\n" + "\n".join(line for line, _ in LINES) + "\n")
    return str(path)


def test_every_bad_class_is_quarantined_with_its_raw_record(spark, cfg, csv_source):
    report = ingest(spark, cfg, csv_source, "csv", now=NOW)

    assert report.rows_read == len(LINES)
    assert report.accepted == 5 and report.inserted == 5
    assert report.quarantined == dict(Counter(r for _, r in LINES if r is not None))
    assert report.quarantined["duplicate_event"] == 2

    quarantine = (
        Warehouse(spark, cfg)[tables.QUARANTINE].read().select("kind", "source", "reason", "raw", "occurrences")
    )
    expected = [
        Row(
            kind="interactions",
            source=csv_source,
            reason=reason,
            raw=line if reason == "malformed_record" else _raw_json(line),
            occurrences=1,
        )
        for line, reason in LINES
        if reason is not None
    ]
    assertDataFrameEqual(quarantine, spark.createDataFrame(expected, quarantine.schema))


def test_good_rows_are_parsed_to_the_canonical_schema(spark, cfg, csv_source):
    ingest(spark, cfg, csv_source, "csv", now=NOW)
    bronze = Warehouse(spark, cfg)[tables.INTERACTIONS].read().drop("source", "ingested_at")

    t1 = dt.datetime(2012, 7, 1, 0, 2, 52)  # 1341100972 s
    t2 = dt.datetime(2012, 7, 2, 10, 0, 0)
    t3 = dt.datetime(2012, 7, 2, 0, 0, 0)  # 1341187200000 ms
    t4 = dt.datetime(2026, 1, 1, 13, 0, 0)
    t5 = dt.datetime(2000, 1, 1)
    micros = lambda t: str(int((t - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000))  # noqa: E731
    a_retweets_b = lambda t: Row(  # noqa: E731
        event_id=_event_id("twitter", "a", "b", "retweet", micros(t), "", ""),
        network="twitter",
        actor_id="a",
        target_id="b",
        action="retweet",
        ts=t,
        content_id=None,
        content_type=None,
        event_date=t.date(),
    )
    expected = [
        a_retweets_b(t1),
        Row(
            event_id="e-1",
            network="facebook",
            actor_id="c",
            target_id="d",
            action="like",
            ts=t2,
            content_id="p1",
            content_type="photo",
            event_date=t2.date(),
        ),
        Row(
            event_id=_event_id("twitter", "c", "d", "mention", micros(t3), "", ""),
            network="twitter",
            actor_id="c",
            target_id="d",
            action="mention",
            ts=t3,
            content_id=None,
            content_type=None,
            event_date=t3.date(),
        ),
        a_retweets_b(t4),
        a_retweets_b(t5),
    ]
    assertDataFrameEqual(bronze, spark.createDataFrame(expected, bronze.schema))
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{Warehouse(spark, cfg)[tables.INTERACTIONS].path}`").first()
    assert detail["partitionColumns"] == ["event_date"]


def test_reingest_is_a_no_op_and_overlaps_are_deduplicated_across_runs(spark, cfg, csv_source, tmp_path):
    first = ingest(spark, cfg, csv_source, "csv", now=NOW)
    versions = {t.name: Warehouse(spark, cfg)[t].version() for t in (tables.INTERACTIONS, tables.QUARANTINE)}
    before = Warehouse(spark, cfg)[tables.INTERACTIONS].read().collect()

    again = ingest(spark, cfg, csv_source, "csv", now=NOW)

    assert (again.inserted, again.unchanged, again.quarantine_inserted) == (0, first.accepted, 0)
    for t in (tables.INTERACTIONS, tables.QUARANTINE):
        assert Warehouse(spark, cfg)[t].version() == versions[t.name]
    assertDataFrameEqual(Warehouse(spark, cfg)[tables.INTERACTIONS].read(), before)

    overlap = tmp_path / "overlap.jsonl"
    overlap.write_text(
        '{"network": "facebook", "actor_id": "c", "target_id": "d", "action": "like", '
        '"ts": "2012-07-02T10:00:00Z", "event_id": "e-1"}\n'
        '{"network": "twitter", "actor_id": "q", "target_id": "r", "action": "reply", "ts": 1341100972}\n'
        "this is not json\n"
        '{"network": "twitter", "actor_id": "q", "target_id": \n'  # cut short
        '{"network": "twitter", "actor_id": "q", "target_id": "r", "action": "reply", "ts": 1341100972} extra\n'
    )
    third = ingest(spark, cfg, str(overlap), "jsonl", now=NOW)
    assert (third.accepted, third.inserted, third.quarantined) == (2, 1, {"malformed_record": 3})
    assert Warehouse(spark, cfg)[tables.INTERACTIONS].read().count() == len(before) + 1


def test_higgs_adapter_maps_actions_and_quarantines_bad_lines(spark, cfg, tmp_path):
    src = tmp_path / "higgs-activity_time.txt"
    src.write_text(
        "1 2 1341100972 RT\n3 4 1341100973 MT\n5 6 1341100974 RE\n7 7 1341100975 RT\n8 9 123\n8 9 1341100976 XX\n"
    )
    report = ingest(spark, cfg, str(src), now=NOW)  # format guessed from the name
    assert report.format == "higgs"
    assert report.quarantined == {"self_interaction": 1, "malformed_record": 1, "unknown_action": 1}
    got = Warehouse(spark, cfg)[tables.INTERACTIONS].read().select("network", "actor_id", "target_id", "action", "ts")
    expected = [
        ("twitter", "1", "2", "retweet", dt.datetime(2012, 7, 1, 0, 2, 52)),
        ("twitter", "3", "4", "mention", dt.datetime(2012, 7, 1, 0, 2, 53)),
        ("twitter", "5", "6", "reply", dt.datetime(2012, 7, 1, 0, 2, 54)),
    ]
    assertDataFrameEqual(got, spark.createDataFrame(expected, got.schema))


def test_klout_opendata_adapter_takes_network_from_the_file_name(spark, cfg, tmp_path):
    d = tmp_path / "klout_opendata"
    d.mkdir()
    head = (
        "#user_id_fingerprint\t#actor_id_fingerprint\t#post_id_fingerprint\t#post_timestamp\t"
        "#action_timestamp\t#user_timezone\n"
    )
    (d / "user_timestamp_open_set_tw.tsv").write_text(head + "u1\tr1\tp1\t1413331199002\t1413331280999\tUTC\n")
    (d / "user_timestamp_open_set_fb.tsv").write_text(
        head + "u2\tr2\tp2\t1413331199002\t1413332041998\tUTC\nu2\tr2\tbroken\n"
    )
    report = ingest(spark, cfg, str(d), "klout-opendata", now=NOW)
    assert report.quarantined == {"malformed_record": 1}
    got = (
        Warehouse(spark, cfg)[tables.INTERACTIONS]
        .read()
        .select("network", "actor_id", "target_id", "action", "ts", "content_id")
    )
    expected = [
        ("twitter", "r1", "u1", "retweet", dt.datetime(2014, 10, 15, 0, 1, 20, 999000), "p1"),
        ("facebook", "r2", "u2", "comment", dt.datetime(2014, 10, 15, 0, 14, 1, 998000), "p2"),
    ]
    assertDataFrameEqual(got, spark.createDataFrame(expected, got.schema))


def test_parquet_source_with_typed_columns_and_network_option(spark, cfg, tmp_path):
    path = str(tmp_path / "events.parquet")
    spark.createDataFrame(
        [(None, "a", "b", "share", dt.datetime(2020, 5, 1, 8, 30)), (None, "a", "c", "like", None)],
        "network string, actor_id string, target_id string, action string, ts timestamp",
    ).write.parquet(path)
    report = ingest(spark, cfg, path, "parquet", network="linkedin", now=NOW)
    assert report.quarantined == {"missing_timestamp": 1}
    got = Warehouse(spark, cfg)[tables.INTERACTIONS].read().select("network", "actor_id", "target_id", "action", "ts")
    assertDataFrameEqual(
        got, spark.createDataFrame([("linkedin", "a", "b", "share", dt.datetime(2020, 5, 1, 8, 30))], got.schema)
    )


def test_missing_source_and_missing_columns_are_input_errors(spark, cfg, tmp_path):
    with pytest.raises(InputError, match="source not found"):
        ingest(spark, cfg, str(tmp_path / "nope.csv"), "csv", now=NOW)
    bad = tmp_path / "bad.csv"
    bad.write_text("network,actor_id\ntwitter,a\n")
    with pytest.raises(InputError, match="lacks required column"):
        ingest(spark, cfg, str(bad), "csv", now=NOW)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01PK\x03\x04\xff\xfe,x\n1,2\n")
    with pytest.raises(InputError) as raised:
        ingest(spark, cfg, str(binary), "csv", now=NOW)
    assert str(raised.value).endswith(r"it has: \x00\x01PK\x03\x04\ufffd\ufffd, x")


def test_a_gzip_file_is_spread_after_its_read_and_a_glob_reads_every_file_it_matches(spark, cfg, tmp_path):
    lines = "".join(f"twitter,a{i},b,RT,{1341100972 + i},,,\n" for i in range(40))
    with gzip.open(tmp_path / "one.csv.gz", "wt") as f:
        f.write(",".join(HEADER) + "\n" + lines)
    one = read_source(spark, cfg, str(tmp_path / "one.csv.gz"), "csv", "interactions")
    # one task decompresses the file, then a round-robin exchange spreads its rows over the session's partitions
    spread = int(spark.conf.get("spark.sql.shuffle.partitions"))
    assert spread > 1 and one.rdd.getNumPartitions() == spread
    assert f"RoundRobinPartitioning({spread})" in one._jdf.queryExecution().executedPlan().toString()
    assert one.count() == 40

    halves = lines.splitlines(keepends=True)
    for name, part in (("x.csv", halves[:20]), ("y.csv", halves[20:]), ("z.txt", [])):
        (tmp_path / "many").mkdir(exist_ok=True)
        (tmp_path / "many" / name).write_text(",".join(HEADER) + "\n" + "".join(part))
    report = ingest(spark, cfg, str(tmp_path / "many" / "*.csv"), "csv", now=NOW)
    assert (report.rows_read, report.accepted) == (40, 40)
    with pytest.raises(InputError, match="source not found"):
        ingest(spark, cfg, str(tmp_path / "many" / "*.jsonl"), "jsonl", now=NOW)
