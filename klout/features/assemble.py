"""The features table row: long-lasting profile features beside the window's dynamic features."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout import schemas
from klout.config import Config
from klout.features.dynamic import metric_names, wide
from klout.features.profile import LONG_LASTING


def feature_columns(cfg: Config) -> list[str]:
    """Column order of gold/features: the documented base columns, then weighted_<action> per configured action."""
    return schemas.FEATURES_BASE.fieldNames() + [f"weighted_{a}" for a in cfg.actions]


def assemble(state: DataFrame, profiles: DataFrame, run_date: dt.date, cfg: Config) -> DataFrame:
    """One row per (network, account_id) seen in the window or with a profile: every feature of the run date."""
    dyn = wide(state, cfg)
    rows = dyn.join(profiles, ["network", "account_id"], "full")
    posts_delta = F.col("posts_now") - F.col("posts_at_window_start")
    posts = F.greatest(F.coalesce(posts_delta, F.lit(0)).cast("double"), F.col("reacted_posts"))
    out = (
        rows.fillna(0.0, subset=metric_names(cfg))  # accounts with a profile but no activity in the window
        .withColumn("missing_features", F.coalesce("missing_features", F.array(*[F.lit(c) for c in LONG_LASTING])))
        .withColumn("posts", F.when(posts > 0, posts))
        .withColumn("reactions_per_post", F.col("weighted_reactions") / F.col("posts"))
        .withColumn(
            "outside_circle_share",
            F.when(F.col("weighted_reactions") > 0, F.col("outside_circle_weight") / F.col("weighted_reactions")),
        )
        .withColumn("date", F.lit(run_date))
    )
    return out.select(*feature_columns(cfg))
