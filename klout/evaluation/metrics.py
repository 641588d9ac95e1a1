"""How well a predictor ranks people by an outcome: Spearman correlation over everyone, and NDCG@k and
precision@k on the top of the ranking. All distributed: the correlations come from Spark ML (ranks computed on the
executors, ties averaged), each top-k from one ordered limit; only k rows per predictor reach the driver.

- NDCG@k: Σ_{i≤k} outcome(i-th by the predictor) / log2(i + 1), divided by the same sum for the ideal order
  (the k highest outcomes); gains are the outcome itself (reactions, or hidden influence).
- precision@k: the share of the k highest-outcome people that are among the predictor's k highest.
Ties are broken by id, in both rankings, so results are deterministic."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from pyspark.ml.feature import VectorAssembler
from pyspark.ml.stat import Correlation
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Quality:
    """One predictor's agreement with the outcome over `persons` people."""

    predictor: str
    persons: int
    spearman: float | None  # None: undefined, the predictor (or the outcome) is the same for everyone
    ndcg_at_k: float | None
    precision_at_k: float
    k: int


def spearman_with(df: DataFrame, predictors: tuple[str, ...], outcome: str) -> dict[str, float | None]:
    """Spearman correlation of each predictor column with `outcome` (one pass computes the whole matrix); None where
    it is undefined (a constant column, e.g. followers in data without profiles)."""
    cols = [*predictors, outcome]
    vec = VectorAssembler(inputCols=cols, outputCol="_v").transform(df.select(*[F.col(c).cast("double") for c in cols]))
    corr = Correlation.corr(vec, "_v", "spearman").first()
    assert corr is not None  # Correlation.corr returns one row, the matrix
    matrix = corr[0]
    values = {p: float(matrix[i, len(predictors)]) for i, p in enumerate(predictors)}
    return {p: None if math.isnan(v) else v for p, v in values.items()}


def _top(df: DataFrame, key: str, by: str, outcome: str, k: int) -> list[tuple[str, float]]:
    """(id, outcome) of the k rows with the highest `by` (ties: smallest id first)."""
    return [(r[0], float(r[1])) for r in df.orderBy(F.desc(by), F.asc(key)).limit(k).select(key, outcome).collect()]


def dcg(gains: list[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def agreement(df: DataFrame, key: str, predictors: tuple[str, ...], outcome: str, k: int) -> list[Quality]:
    """Every predictor's Quality against `outcome` over the rows of `df` (no nulls: fill them first)."""
    df = df.select(key, *predictors, outcome).cache()
    try:
        persons = df.count()
        k = min(k, persons)
        rho = spearman_with(df, predictors, outcome)
        ideal = _top(df, key, outcome, outcome, k)
        ideal_ids = {i for i, _ in ideal}
        best = dcg([g for _, g in ideal])
        out = []
        for p in predictors:
            top = _top(df, key, p, outcome, k)
            out.append(
                Quality(
                    p,
                    persons,
                    rho[p],
                    dcg([g for _, g in top]) / best if best > 0 else None,
                    len(ideal_ids & {i for i, _ in top}) / k,
                    k,
                )
            )
        return out
    finally:
        df.unpersist()


@dataclass(frozen=True)
class Evaluation:
    """What `evaluate` found: per target, every predictor's Quality; the score bins of the plot; the counts."""

    run_date: dt.date
    horizon: int
    results: dict[str, list[Quality]]
    bins: list[dict]
    counts: dict[str, float]
