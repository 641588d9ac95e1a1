"""Counter-based randomness for the synthetic world: every draw is a hash of (seed, salt, keys), never `F.rand`.

`F.rand`/`F.randn` depend on the partition index, so the same seed would give different data on a different
cluster. Hashing the seed with a per-use salt and the row's own keys makes each number a pure function of the
configuration, whatever the partitioning. Also here: the weighted slot tables used to sample in proportion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from klout.errors import ConfigError

_MANTISSA = (1 << 53) - 1
_TWO_53 = float(1 << 53)


class Draws:
    """Uniforms, normals and Pareto variates for one seed, as Spark columns keyed by the row's own columns."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def hash(self, salt: str, *keys: Column | str) -> Column:
        """A 64-bit hash of (seed, salt, keys): the source of every random number."""
        return F.xxhash64(F.lit(self.seed).cast("long"), F.lit(salt), *keys)

    def uniform(self, salt: str, *keys: Column | str) -> Column:
        """Uniform on [0, 1) with 53 bits: the hash's low 53 bits divided by 2^53."""
        return self.hash(salt, *keys).bitwiseAND(F.lit(_MANTISSA)).cast("double") / F.lit(_TWO_53)

    def normal(self, salt: str, *keys: Column | str) -> Column:
        """Standard normal by Box-Muller from two independent uniforms (1 - u keeps the log finite)."""
        u1 = F.lit(1.0) - self.uniform(salt + ":bm1", *keys)
        u2 = self.uniform(salt + ":bm2", *keys)
        return F.sqrt(F.lit(-2.0) * F.log(u1)) * F.cos(F.lit(2.0 * math.pi) * u2)

    def pareto(self, salt: str, alpha: float, *keys: Column | str) -> Column:
        """Pareto(alpha) with minimum 1 by the inverse CDF: (1 - u)^(-1/alpha)."""
        return F.pow(F.lit(1.0) - self.uniform(salt, *keys), F.lit(-1.0 / alpha))


def pareto_quantile(alpha: float, top_share: float) -> float:
    """The Pareto(alpha) value above which the top `top_share` of draws lie (analytic, so no global sort)."""
    return math.inf if top_share <= 0 else top_share ** (-1.0 / alpha)


def pick(u: Column, weights: Mapping[str, float], what: str) -> Column:
    """A categorical draw: the key whose cumulative normalised weight first exceeds the uniform `u`."""
    items = [(k, float(w)) for k, w in weights.items() if w > 0]
    total = sum(w for _, w in items)
    if not items or total <= 0:
        raise ConfigError(f"{what}: needs at least one positive weight, got {dict(weights)}")
    expr = None
    acc = 0.0
    for key, w in items[:-1]:
        acc += w / total
        expr = F.when(u < F.lit(acc), F.lit(key)) if expr is None else expr.when(u < F.lit(acc), F.lit(key))
    last = F.lit(items[-1][0])
    return last if expr is None else expr.otherwise(last)


def slot_table(
    draws: Draws,
    df: DataFrame,
    cell: Sequence[str],
    weight: str,
    order: Sequence[str],
    resolution: float,
    buckets: int,
    salt: str,
) -> tuple[DataFrame, DataFrame]:
    """Give each row `max(1, stochastic_round(weight * resolution))` consecutive slot numbers within its cell.

    Sampling a row in proportion to its weight is then a uniform slot number `floor(u * slots_in_cell)` and an
    equi-join on (cell..., slot). Numbering is distributed: rows are spread over `buckets` hash buckets per cell,
    a running sum over a window partitioned by (cell, bucket) numbers the slots inside a bucket, and a tiny
    per-bucket aggregate gives each bucket its offset. `order` must be unique within a cell (determinism).
    Returns (slots: cell + slot + the other columns of `df`, cells: cell + slots).
    """
    keys = list(cell)
    scaled = F.col(weight) * F.lit(float(resolution))
    k = F.greatest(F.lit(1), F.floor(scaled + draws.uniform(salt + ":round", *order)).cast("long"))
    df = df.withColumns({"_k": k, "_bucket": F.pmod(draws.hash(salt + ":bucket", *order), F.lit(buckets))})
    run = Window.partitionBy(*keys, "_bucket").orderBy(*order).rowsBetween(Window.unboundedPreceding, 0)
    df = df.withColumn("_local", F.sum("_k").over(run) - F.col("_k"))
    payload = [c for c in df.columns if c not in (*keys, "_k", "_bucket", "_local")]
    if buckets == 1:  # one bucket per cell: no offsets to add (saves a window and a broadcast)
        cells = df.groupBy(*keys).agg(F.sum("_k").alias("slots"))
        df = df.withColumn("_offset", F.lit(0).cast("long"))
    else:
        per_bucket = df.groupBy(*keys, "_bucket").agg(F.sum("_k").alias("_bucket_slots"))
        before = Window.partitionBy(*keys).orderBy("_bucket").rowsBetween(Window.unboundedPreceding, -1)
        offsets = per_bucket.withColumn("_offset", F.coalesce(F.sum("_bucket_slots").over(before), F.lit(0)))
        cells = per_bucket.groupBy(*keys).agg(F.sum("_bucket_slots").alias("slots"))
        df = df.join(F.broadcast(offsets.select(*keys, "_bucket", "_offset")), [*keys, "_bucket"])
    slots = df.withColumn("_i", F.explode(F.sequence(F.lit(0).cast("long"), F.col("_k") - 1))).select(
        *keys, (F.col("_offset") + F.col("_local") + F.col("_i")).alias("slot"), *payload
    )
    return slots, cells
