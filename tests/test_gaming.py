"""Gaming experiments on a copy of the shared synthetic world: the five tricks planted on its last day through
ingest, the day rerun, and what each did to the scores involved (klout.evaluation.gaming)."""

from __future__ import annotations

import pytest

from klout.evaluation.gaming import BOUGHT_FOLLOWERS, run_experiments


@pytest.fixture(scope="module")
def effects(spark, scored_copy, tmp_path_factory):
    world = scored_copy("quality.enforce=false")
    planted = tmp_path_factory.mktemp("planted")
    return {e.experiment: e for e in run_experiments(spark, world.cfg, world.days[-1], str(planted))}


def test_a_bot_ring_that_retweets_itself_stays_at_the_bottom(effects):
    e = effects["bot ring"].numbers
    assert e["reactions"] == 45  # 9 ring mates x 5 retweets
    assert e["peers"] > 10
    # in the bottom tenth (score 15 is the 10th percentile of the target shape), under the new accounts' own
    # bottom scores, far below its peers
    assert e["ring_max"] < 15 < 50 < e["peers_median"]


def test_bought_followers_count_only_when_the_network_does_not_flag_them(effects):
    e = effects["bought followers"].numbers
    flagged, unflagged = e["after"] - e["before"], e["unflagged_after"] - e["unflagged_before"]
    assert abs(flagged) < 2 < unflagged, e
    assert f"bought {BOUGHT_FOLLOWERS:,} followers each" in effects["bought followers"].statement


def test_a_reactor_that_likes_everything_moves_nobody(effects):
    e = effects["likes everything"].numbers
    assert e["liked"] > 100
    assert abs(e["gain"]) < 1 and e["liker"] < 5, e


def test_a_celebrity_reshare_lifts_an_unknown_account_far_more_than_an_ordinary_one(effects):
    e = effects["celebrity reshare"].numbers
    assert e["celebrity"] > 90
    assert e["unknown"] > e["control"] + 20, e


def test_fresh_accounts_reacting_once_lift_a_person_at_most_half_as_much_as_established_ones(effects):
    e = effects["sybils"].numbers
    fresh, real = e["fresh_after"] - e["fresh_before"], e["real_after"] - e["real_before"]
    assert real > 5 and fresh <= 0.5 * real, e
