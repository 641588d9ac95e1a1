"""Configuration: overlays and overrides apply in order; each kind of bad config fails naming key, value, rule."""

from __future__ import annotations

import dataclasses

import pytest

from klout import cli
from klout.config import load_config
from klout.errors import ConfigError

pytestmark = pytest.mark.fast


def test_defaults_overlays_and_sets_apply_in_order(tmp_path):
    overlay = tmp_path / "a.yaml"
    overlay.write_text("spark:\n  shuffle_partitions: 64\nnetworks:\n  mastodon: 0.6\n")
    later = tmp_path / "b.yaml"
    later.write_text("spark:\n  shuffle_partitions: 32\n")
    cfg = load_config(
        [str(overlay), str(later)], ["spark.ui_enabled=true", "spark.conf.spark.executor.cores=4", "spark.app_name=123"]
    )
    assert cfg.spark.shuffle_partitions == 32  # later overlay wins
    assert cfg.spark.ui_enabled is True  # --set value is YAML-typed
    assert cfg.spark.app_name == "123"  # ...except for string settings, kept verbatim
    assert dict(cfg.spark.conf) == {"spark.executor.cores": "4"}  # dotted key under a free-form map
    assert cfg.networks["mastodon"] == 0.6 and cfg.networks["twitter"] == 1.0  # merged, not replaced
    assert cfg.canonical_action("RT") == "retweet"


def test_config_is_frozen():
    cfg = load_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.spark.shuffle_partitions = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.networks["twitter"] = 2.0  # type: ignore[index]


@pytest.mark.parametrize(
    "sets, message",
    [
        # unknown key
        (
            ["spark.shufle_partitions=4"],
            "spark.shufle_partitions: unknown key; allowed keys under spark: app_name, "
            "master, driver_memory, shuffle_partitions",
        ),
        (["bogus=1"], "bogus: unknown key; allowed keys under <root>: warehouse, spark"),
        # wrong type
        (["spark.shuffle_partitions=many"], "spark.shuffle_partitions = 'many': must be an integer >= 1"),
        (["spark.ui_enabled=3"], "spark.ui_enabled = 3: must be true or false"),
        (["synth.start_date=soon"], "synth.start_date = 'soon': must be a date (YYYY-MM-DD)"),
        (["ingest.higgs=7"], "ingest.higgs = 7: must be a section with keys network"),
        # out of range
        (["spark.shuffle_partitions=0"], "spark.shuffle_partitions = 0: out of range; must be an integer >= 1"),
        (["synth.bot_share=1.0"], "synth.bot_share = 1.0: out of range; must be a number >= 0.0 and < 1.0"),
        (["networks.twitter=-0.5"], "networks.twitter = -0.5: out of range; must be a number >= 0.0"),
        # not one of the allowed values
        (["spark.log_level=LOUD"], "spark.log_level = 'LOUD': must be one of ERROR, WARN, INFO, DEBUG"),
        (
            ["action_aliases.RT=boost"],
            "action_aliases.RT = 'boost': not a canonical action (actions.*); allowed: "
            "answer, comment, follow, like, mention, reply, retweet, share, upvote",
        ),
        (
            ["ingest.higgs.network=orkut"],
            "ingest.higgs.network = 'orkut': not a network (networks.*); allowed: facebook, instagram",
        ),
        # a section replaced by a value, and a bad --set
        (["synth.networks.myspace.account_probability=0.5"], "synth.networks.myspace.activity_share: missing"),
        (["spark.conf"], "--set 'spark.conf': expected key.path=value"),
    ],
)
def test_bad_config_names_key_value_and_rule(sets, message):
    with pytest.raises(ConfigError) as e:
        load_config(sets=sets)
    assert message in str(e.value)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*/missing.yaml"):
        load_config([str(tmp_path / "missing.yaml")])
    broken = tmp_path / "broken.yaml"
    broken.write_text("spark: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml is not valid YAML"):
        load_config([str(broken)])
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    with pytest.raises(ConfigError, match="top level must be a mapping, got str"):
        load_config([str(scalar)])


def test_cli_fails_with_exit_2_before_spark_starts(monkeypatch, capsys):
    def no_spark(cfg):  # pragma: no cover - reaching it is the failure
        raise AssertionError("Spark must not start on a bad config")

    monkeypatch.setattr("klout.session.get_spark", no_spark)
    code = cli.main(["ingest", "--source", "x.csv", "--set", "ingest.max_future_seconds=-1"])
    assert code == 2
    assert "ingest.max_future_seconds = -1: out of range; must be an integer >= 0" in capsys.readouterr().err


def test_cli_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["ingest", "--format", "xml", "--source", "x"])
    assert e.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_cli_config_prints_one_value(capsys):
    assert cli.main(["config", "--get", "spark.delta_package", "--set", "spark.delta_package=g:a:1"]) == 0
    assert capsys.readouterr().out.strip() == "g:a:1"
