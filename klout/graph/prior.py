"""The profile prior of an account: what its long-lasting features say before any reaction is counted.

    prior = (base + Σ coefficient × feature) / base   (a missing feature adds nothing)

so a bare account (no profile facts) has prior exactly 1, and what a profile adds is prior − 1.

Followers count only when real: ln(1 + followers × (1 − spam share − inactive share)). Coefficients are
`graph.prior.*` in conf/default.yaml."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from klout.config import Config

MAX_AGE_YEARS = 10.0  # account age stops adding to the prior after this many years


def prior_terms(cfg: Config) -> dict[str, Column]:
    """Each coefficient's feature expression over a gold/features row (null when the feature is missing)."""
    c = F.col
    real_share = F.greatest(
        F.lit(0.0),
        F.lit(1.0)
        - F.coalesce(c("spam_follower_share"), F.lit(0.0))
        - F.coalesce(c("inactive_follower_share"), F.lit(0.0)),
    )
    return {
        "log_followers": F.log1p(F.expm1(c("log_followers")) * real_share),
        "log_lists": c("log_lists"),
        "verified": c("verified"),
        "external_authority": c("external_authority"),
        "title_seniority": c("title_seniority"),
        # least() skips nulls: keep an unknown age unknown
        "account_age_years": F.when(
            c("account_age_days").isNotNull(), F.least(c("account_age_days") / F.lit(365.25), F.lit(MAX_AGE_YEARS))
        ),
    }


def raw_prior(cfg: Config) -> Column:
    """base + Σ coefficient × feature, over a gold/features row."""
    p = cfg.graph.prior
    total = F.lit(float(p.base))
    for name, expr in prior_terms(cfg).items():
        coef = float(getattr(p, name))
        if coef:
            total = total + F.lit(coef) * F.coalesce(F.greatest(expr, F.lit(0.0)), F.lit(0.0))
    return total


def prior(cfg: Config) -> Column:
    """The prior over a gold/features row: raw_prior / base (1 for a bare account)."""
    return raw_prior(cfg) / F.lit(float(cfg.graph.prior.base))


def vertices(features: DataFrame, edges: DataFrame, cfg: Config) -> DataFrame:
    """(network, account_id, prior): every account with features or an edge in the window. An account with an
    edge but no features row is a bare account: prior 1."""
    with_prior = features.select("network", "account_id", prior(cfg).alias("prior"))
    ends = (
        edges.select("network", F.col("actor_id").alias("account_id"))
        .unionByName(edges.select("network", F.col("target_id").alias("account_id")))
        .distinct()
    )
    return with_prior.join(ends, ["network", "account_id"], "full").withColumn("prior", F.coalesce("prior", F.lit(1.0)))
