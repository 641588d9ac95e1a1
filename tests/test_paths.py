"""The driver's own path operations (klout.paths) on a local disk: the same calls tests/test_object_storage.py makes
on the S3 server. No Spark job: a local path needs no session settings."""

from __future__ import annotations

import pytest

from klout import paths

pytestmark = pytest.mark.fast


@pytest.fixture
def tree(tmp_path):
    for name in ("in/2026-01-01.jsonl", "in/2026-01-02.jsonl", "in/notes.txt", "out/a/part-0000.parquet"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    return tmp_path


def test_exists_for_files_folders_and_globs_of_one_or_several_levels(spark, tree):
    yes = ["in", "in/notes.txt", "in/2026-*.jsonl", "in/2026-01-0[12].jsonl", "*/a/part-*", "out/?/part-0000.parquet"]
    no = ["nope", "in/2027-*.jsonl", "in/*.csv", "*/b/part-*", "in/notes.txt/x"]
    assert [paths.exists(spark, str(tree / p)) for p in yes] == [True] * len(yes)
    assert [paths.exists(spark, str(tree / p)) for p in no] == [False] * len(no)
    assert paths.exists(spark, f"file://{tree}/in/*.jsonl")


def test_delete_write_and_move_a_single_part_into_place(spark, tree):
    paths.delete(spark, str(tree / "in"))
    paths.delete(spark, str(tree / "in"))  # absent: nothing to do
    assert sorted(p.name for p in tree.iterdir()) == ["out"]

    paths.write_bytes(spark, str(tree / "reports" / "day" / "report.md"), b"# report\n")
    assert (tree / "reports" / "day" / "report.md").read_bytes() == b"# report\n"

    (tree / "out" / "a" / "_SUCCESS").write_text("")
    (tree / "out" / "a" / ".part-0000.parquet.crc").write_text("crc")
    (tree / "scores.parquet").write_text("an older export")
    paths.move_single_part(spark, str(tree / "out" / "a"), str(tree / "scores.parquet"))
    assert (tree / "scores.parquet").read_text() == "out/a/part-0000.parquet"
    assert sorted(p.name for p in (tree / "out").iterdir()) == []
    (tree / "out" / "b").mkdir()
    with pytest.raises(RuntimeError, match="expected one part file, found 0"):
        paths.move_single_part(spark, str(tree / "out" / "b"), str(tree / "x"))


def test_joined_basename_and_resolved_treat_uris_and_local_paths_alike(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.joined("s3a://b/wh/", "/gold/", "scores") == "s3a://b/wh/gold/scores"
    assert paths.basename("s3a://b/in/x.jsonl.gz") == "x.jsonl.gz" and paths.basename("/a/b/") == "b"
    assert paths.resolved("wh") == str(tmp_path / "wh") and paths.resolved("s3a://b/wh") == "s3a://b/wh"
