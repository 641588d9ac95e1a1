"""Long-lasting features: slow-changing profile facts from the latest snapshot on or before the run date."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from klout.config import Config
from klout.window import leaving_day

LONG_LASTING = (
    "log_followers",
    "following_ratio",
    "log_lists",
    "account_age_days",
    "verified",
    "title_seniority",
    "external_authority",
    "spam_follower_share",
    "inactive_follower_share",
)


def long_lasting(history: DataFrame, run_date: dt.date, cfg: Config) -> DataFrame:
    """Per (network, account_id): the long-lasting features, `missing_features`, and the posts counters at the run
    date and at the window's start (for posts created in the window)."""
    window_start = leaving_day(run_date, cfg.features)  # the posts counter as the window's first day began
    known = history.where(F.col("snapshot_date") <= F.lit(run_date))
    at_start = F.when(F.col("snapshot_date") <= F.lit(window_start), F.col("snapshot_date"))
    latest = known.groupBy("network", F.col("user_id").alias("account_id")).agg(
        F.max_by(F.struct(*[c for c in history.columns if c not in ("network", "user_id")]), "snapshot_date").alias(
            "s"
        ),
        F.max_by(F.when(at_start.isNotNull(), F.col("posts")), at_start).alias("posts_at_window_start"),
    )
    s = lambda c: F.col(f"s.{c}")  # noqa: E731
    seniority = F.create_map(*[x for k, v in cfg.features.title_seniority.items() for x in (F.lit(k), F.lit(v))])
    features = {
        "log_followers": F.log1p(s("followers").cast("double")),
        "following_ratio": s("following") / F.greatest(s("followers"), F.lit(1)).cast("double"),
        "log_lists": F.log1p(s("lists").cast("double")),
        "account_age_days": F.datediff(F.lit(run_date), F.to_date(s("created_at"))).cast("double"),
        "verified": s("verified").cast("double"),
        "title_seniority": F.try_element_at(seniority, F.lower(F.trim(s("title_seniority")))),
        "external_authority": s("external_authority"),
        "spam_follower_share": s("spam_follower_share"),
        "inactive_follower_share": s("inactive_follower_share"),
    }
    missing = F.filter(F.array(*[F.when(v.isNull(), F.lit(k)) for k, v in features.items()]), lambda x: x.isNotNull())
    return latest.select(
        "network",
        "account_id",
        s("snapshot_date").alias("snapshot_date"),
        *[v.alias(k) for k, v in features.items()],
        missing.alias("missing_features"),
        s("posts").alias("posts_now"),
        "posts_at_window_start",
    )
