"""The `klout` command end to end on a tiny source: exit codes and what it prints."""

from __future__ import annotations

from klout import cli


def test_ingest_then_summary(spark, tmp_path, capsys):
    src = tmp_path / "events.jsonl"
    src.write_text(
        '{"network": "twitter", "actor_id": "a", "target_id": "b", "action": "RT", '
        '"ts": "2024-03-01T10:00:00Z"}\n'
        '{"network": "twitter", "actor_id": "c", "target_id": "b", "action": "like", "ts": 1709287200}\n'
        '{"network": "twitter", "actor_id": "b", "target_id": "b", "action": "like", "ts": 1709287200}\n'
    )
    wh = f"warehouse={tmp_path}/wh"
    assert cli.main(["ingest", "--source", str(src), "--set", wh, "-q"]) == 0
    out = capsys.readouterr().out
    assert (
        f"interactions from {src} (jsonl): read 3, accepted 2, inserted 2, updated 0, unchanged 0, quarantined 1"
    ) in out
    assert "  quarantined 1: self_interaction" in out

    assert cli.main(["summary", "--set", wh, "-q"]) == 0
    out = capsys.readouterr().out
    assert (
        "interactions per day, network and action\n"
        "date        network  action   rows\n"
        "----------  -------  -------  ----\n"
        "2024-03-01  twitter  like        1\n"
        "2024-03-01  twitter  retweet     1\n"
    ) in out
    assert "interactions  self_interaction     1                 1" in out


def test_missing_source_exits_3(spark, tmp_path, capsys):
    code = cli.main(["ingest", "--source", str(tmp_path / "absent.csv"), "--set", f"warehouse={tmp_path}/wh", "-q"])
    assert code == 3
    assert f"klout: error: source not found: {tmp_path}/absent.csv" in capsys.readouterr().err
