"""The synthetic world: deterministic by seed whatever the partitioning, canonical schemas, and the planted
structure (influence drives reactions, bot rings react inside the ring, identity links) is really there."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampType
from pyspark.testing import assertDataFrameEqual

from klout import schemas
from klout.synth import generate_world, write_world

SMALL = [
    "synth.people=300",
    "synth.days=3",
    "synth.interactions_per_day=1000",
    "synth.bot_share=0.05",
    "synth.ring_size=5",
    "synth.ring_reactions_per_bot_per_day=10",
    "synth.celebrities=3",
    "synth.partitions=2",
]
OUTPUTS = ("interactions", "profiles", "identities", "truth_people", "truth_accounts")


def _spearman(x, y) -> float:
    """Rank correlation without scipy: Pearson on ranks."""
    return x.rank().corr(y.rank())


@pytest.fixture(scope="module")
def written(spark, make_config, tmp_path_factory):
    """One small world, written once and read back; most tests look at what landed on disk."""
    tmp = tmp_path_factory.mktemp("synth")
    cfg = make_config(tmp, *SMALL)
    counts = write_world(generate_world(spark, cfg), str(tmp / "world"))
    read = {name: spark.read.parquet(str(tmp / "world" / name.replace("truth_", "truth/"))) for name in OUTPUTS}
    return cfg, counts, read, tmp / "world"


def test_write_counts_and_day_folders(written):
    cfg, counts, read, out = written
    assert set(counts) == {"interactions", "profiles", "identities", "truth/people", "truth/accounts"}
    assert counts["truth/people"] == cfg.synth.people
    assert counts["interactions"] == read["interactions"].count() > 0
    days = [cfg.synth.start_date + dt.timedelta(days=i) for i in range(cfg.synth.days)]
    assert sorted(p.name for p in (out / "interactions").iterdir() if p.is_dir()) == [f"day={d}" for d in days]
    per_day = {r["day"]: r["n"] for r in read["interactions"].groupBy("day").agg(F.count("*").alias("n")).collect()}
    assert set(per_day) == set(days)


def test_schemas_are_canonical(written):
    _, _, read, _ = written
    inter = read["interactions"].drop("day")
    assert tuple(inter.columns) == tuple(c for c in schemas.INTERACTION_COLUMNS if c != "event_id")
    assert isinstance(inter.schema["ts"].dataType, TimestampType)
    assert tuple(read["profiles"].columns) == schemas.PROFILE_COLUMNS
    for name in schemas.PROFILE_COLUMNS:
        assert read["profiles"].schema[name].dataType == schemas.PROFILES[name].dataType, name
    assert tuple(read["identities"].columns) == schemas.IDENTITY_COLUMNS
    assert read["truth_people"].columns == ["person_id", "influence", "is_bot", "is_celebrity", "community", "ring_id"]
    assert read["truth_accounts"].columns == ["network", "user_id", "person_id"]


def test_deterministic_whatever_the_partitioning(spark, make_config, written, tmp_path):
    """Same seed, other partition count: row for row the data written before (read back from Parquet)."""
    _, _, read, _ = written
    again = generate_world(spark, make_config(tmp_path, *SMALL, "synth.partitions=3"))
    for name in OUTPUTS:
        expected = read[name].drop("day") if name == "interactions" else read[name]
        assertDataFrameEqual(getattr(again, name), expected, checkRowOrder=False)


def test_other_seed_other_world(spark, make_config, written, tmp_path):
    _, _, read, _ = written
    other = generate_world(spark, make_config(tmp_path, *SMALL, "synth.seed=7"))
    assert other.truth_people.select("influence").exceptAll(read["truth_people"].select("influence")).count() > 0
    assert other.interactions.exceptAll(read["interactions"].drop("day")).count() > 0


def test_reactions_are_well_formed(written):
    cfg, _, read, _ = written
    inter = read["interactions"]
    assert inter.where("actor_id = target_id").count() == 0
    assert inter.where(" or ".join(f"{c} is null" for c in inter.columns)).count() == 0
    nets = {r[0] for r in inter.select("network").distinct().collect()}
    acts = {r[0] for r in inter.select("action").distinct().collect()}
    types = {r[0] for r in inter.select("content_type").distinct().collect()}
    assert nets == set(cfg.synth.networks) and nets <= set(cfg.networks)
    assert acts <= set(cfg.actions) and types <= set(cfg.content_types)
    # Actions stay within each network's mix; one post has one type and belongs to the target, that day.
    bad_action = inter.where(
        " or ".join(
            f"(network = '{n}' and action not in ({', '.join(repr(a) for a in c.actions)}))"
            for n, c in cfg.synth.networks.items()
        )
    )
    assert bad_action.count() == 0
    assert inter.groupBy("content_id").agg(F.countDistinct("content_type").alias("k")).where("k > 1").count() == 0
    prefix = F.concat_ws("_", "target_id", F.date_format("day", "yyyyMMdd"))
    assert inter.where(~F.col("content_id").startswith(prefix)).count() == 0
    assert inter.where(F.to_date("ts") != F.col("day")).count() == 0
    # Both accounts exist on the reaction's network.
    accounts = read["truth_accounts"].select("network", "user_id")
    for side in ("actor_id", "target_id"):
        assert inter.join(accounts.withColumnRenamed("user_id", side), ["network", side], "left_anti").count() == 0


def test_bot_rings_react_inside_the_ring(written):
    cfg, _, read, _ = written
    people, accounts, inter = read["truth_people"], read["truth_accounts"], read["interactions"]
    bots = people.where("is_bot")
    assert bots.count() == 15 and bots.select("ring_id").distinct().count() == 3
    assert bots.where("influence != 0 or ring_id is null").count() == 0
    ring_of = accounts.join(people.select("person_id", "ring_id"), "person_id").select("network", "user_id", "ring_id")
    by_bots = (
        inter.join(
            ring_of.withColumnRenamed("user_id", "actor_id").withColumnRenamed("ring_id", "a_ring"),
            ["network", "actor_id"],
        )
        .join(
            ring_of.withColumnRenamed("user_id", "target_id").withColumnRenamed("ring_id", "t_ring"),
            ["network", "target_id"],
        )
        .where("a_ring is not null")
    )
    total = by_bots.count()
    inside = by_bots.where("a_ring = t_ring").count()
    assert total >= 15 * cfg.synth.days * cfg.synth.ring_reactions_per_bot_per_day
    assert inside / total > 0.8, (inside, total)
    # Nobody honest reacts to a bot: bots have no hidden influence.
    assert (
        inter.join(
            ring_of.where("ring_id is not null").withColumnRenamed("user_id", "target_id"), ["network", "target_id"]
        ).count()
        == inside
    )
    # Bought followers make bot profiles look big, with mostly spam followers.
    bot_profiles = read["profiles"].join(ring_of.where("ring_id is not null"), ["network", "user_id"])
    row = bot_profiles.agg(F.min("followers").alias("f"), F.min("spam_follower_share").alias("s")).first()
    assert row["f"] >= cfg.synth.bought_followers and row["s"] > 0.5


def test_reactions_follow_hidden_influence(written):
    """Top-decile hidden-influence honest people receive far more reactions per person than the bottom half."""
    _, _, read, _ = written
    honest = read["truth_people"].where("not is_bot").select("person_id", "influence").toPandas()
    received = (
        read["interactions"]
        .join(read["truth_accounts"].withColumnRenamed("user_id", "target_id"), ["network", "target_id"])
        .groupBy("person_id")
        .count()
        .toPandas()
        .set_index("person_id")["count"]
    )
    honest["received"] = honest["person_id"].map(received).fillna(0)
    honest = honest.sort_values("influence", ascending=False)
    top = honest.head(len(honest) // 10)["received"].mean()
    bottom = honest.tail(len(honest) // 2)["received"].mean()
    ratio = top / bottom
    assert ratio > 5, f"top decile {top:.1f} vs bottom half {bottom:.1f} reactions per person: ratio {ratio:.1f}"
    assert _spearman(honest["influence"], honest["received"]) > 0.3


def test_identity_links_only_for_several_accounts(written):
    cfg, _, read, _ = written
    accounts, ids = read["truth_accounts"], read["identities"]
    n_accounts = accounts.groupBy("person_id").count()
    linked = ids.select("person_id").distinct()
    assert linked.count() > 0
    assert linked.join(n_accounts, "person_id").where("count < 2").count() == 0
    # A linked person's links are exactly their accounts, as the truth has them.
    assert ids.exceptAll(accounts.join(linked, "person_id").select(*schemas.IDENTITY_COLUMNS)).count() == 0
    assert accounts.join(linked, "person_id").select(*schemas.IDENTITY_COLUMNS).exceptAll(ids).count() == 0
    several = n_accounts.where("count >= 2").count()
    assert 0.4 < linked.count() / several < 0.95  # link_probability 0.7


def test_profiles_two_snapshots_and_network_fields(written):
    cfg, _, read, _ = written
    prof, accounts, people = read["profiles"], read["truth_accounts"], read["truth_people"]
    s = cfg.synth
    per_account = prof.groupBy("network", "user_id").agg(F.collect_set("snapshot_date").alias("d"))
    assert per_account.count() == accounts.count()
    last = s.start_date + dt.timedelta(days=s.days - 1)
    assert per_account.where(F.size("d") != 2).count() == 0
    assert {d for r in per_account.select(F.explode("d")).distinct().collect() for d in r} == {s.start_date, last}
    assert prof.where("title_seniority is not null and network != 'linkedin'").count() == 0
    assert prof.where("title_seniority is null and network = 'linkedin'").count() == 0
    assert prof.where("lists is not null and network != 'twitter'").count() == 0
    assert prof.where("verified is not null and network = 'linkedin'").count() == 0
    assert prof.where("followers < 0 or spam_follower_share not between 0 and 1").count() == 0
    with_person = prof.join(accounts, ["network", "user_id"]).join(people, "person_id")
    assert with_person.where("is_celebrity and external_authority is null").count() == 0
    assert with_person.where("is_bot and external_authority is not null").count() == 0
    assert 0 < with_person.where("external_authority is not null").count() < with_person.count() / 4
    # Followers follow influence (honest people, first snapshot).
    pdf = (
        with_person.where(F.col("snapshot_date") == F.lit(s.start_date))
        .where("not is_bot")
        .select("influence", "followers")
        .toPandas()
    )
    assert _spearman(pdf["influence"], pdf["followers"]) > 0.5


@pytest.mark.fast
@pytest.mark.parametrize("buckets", [1, 3])
def test_slot_table_numbers_each_cell_contiguously(spark, buckets):
    """Slots of a cell are exactly 0..slots-1, one row each, and each row holds about weight * resolution."""
    from klout.synth.draws import Draws, slot_table

    df = spark.range(300).select(
        F.col("id").alias("p"), (F.col("id") % 3).alias("c"), (F.col("id") % 5 + 1.0).alias("w")
    )
    slots, cells = slot_table(Draws(1), df, ["c"], "w", ["p"], 2.0, buckets, "t")
    got = {
        r["c"]: r
        for r in slots.groupBy("c")
        .agg(F.min("slot").alias("lo"), F.max("slot").alias("hi"), F.countDistinct("slot").alias("n"))
        .collect()
    }
    for r in cells.collect():
        assert (got[r["c"]]["lo"], got[r["c"]]["hi"], got[r["c"]]["n"]) == (0, r["slots"] - 1, r["slots"])
    held = slots.groupBy("p", "w").count().where(F.col("count") != F.col("w") * 2).count()
    assert held == 0
