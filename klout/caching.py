"""DataFrames persisted for the length of one step, released together when it ends (also on failure)."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import DataFrame


class Cache:
    """`cache(df)` persists `df` (memory, spilling to disk) until the `with Cache() as cache:` block ends."""

    def __init__(self) -> None:
        self._frames: list[DataFrame] = []

    def __call__(self, df: DataFrame) -> DataFrame:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self._frames.append(df)
        return df

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        for df in self._frames:
            df.unpersist()
        self._frames.clear()
