"""The features step's day aggregation (`klout.features.aggregates.aggregate_days` of one day: its reactions →
per-pair edges with the anti-gaming factors, and per-account metrics weighted by Where × What × How) written as one
DuckDB SQL script, a single-machine reference for the benchmark. It reads the same Parquet files Spark reads (a
Delta table version's `inputFiles()`), follows the same config, and writes its two outputs as Parquet, as Spark
writes Delta. It is a reference for timing only: `klout/weights.py` and `klout/features/dynamic.py` stay the
formula's home."""

from __future__ import annotations

import time
from pathlib import Path

from klout.config import Config


def local_path(uri: str) -> str:
    """A file:// URI as Spark lists it → a path DuckDB opens."""
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def _case(column: str, weights: dict[str, float], default: float) -> str:
    whens = " ".join(f"WHEN '{k}' THEN {float(v)!r}" for k, v in weights.items())
    return f"CASE {column} {whens} ELSE {float(default)!r} END"


def day_aggregation_sql(cfg: Config, events: list[str], out: Path) -> str:
    """DuckDB statements computing a day's edges and metrics from the bronze `events` files, writing
    `out`/edges.parquet and `out`/metrics.parquet."""
    f, ag = cfg.features, cfg.features.anti_gaming
    files = lambda paths: "[" + ", ".join(f"'{local_path(p)}'" for p in paths) + "]"  # noqa: E731
    base = " * ".join(
        [
            _case("network", dict(cfg.networks), 0.0),
            _case("content_type", dict(cfg.content_types), f.unknown_content_weight),
            _case("action", dict(cfg.actions), 0.0),
        ]
    )
    self_filter = "WHERE actor_id <> target_id" if ag.exclude_self_reactions else ""
    pair_factor = f"LEAST(1.0, {ag.pair_cap.max_reactions_per_day}.0 / p.n)" if ag.pair_cap.enabled else "1.0"
    sel = ag.selectivity
    selectivity = (
        f"LEAST(1.0, POW({sel.free_reactions_per_day}.0 / volume, {sel.exponent!r}))" if sel.enabled else "1.0"
    )
    r = ag.rings
    ring = (
        f"CASE WHEN reciprocated / volume <= {r.min_reciprocal_share!r} THEN 1.0 ELSE 1.0 - "
        f"(reciprocated / volume - {r.min_reciprocal_share!r}) / {1.0 - r.min_reciprocal_share!r} * "
        f"{1.0 - r.floor!r} END"
        if r.enabled
        else "1.0"
    )
    actions = " UNION ALL ".join(
        f"SELECT network, account_id, 'weighted_' || action AS metric, SUM(w) AS value FROM cells "
        f"WHERE action = '{a}' GROUP BY ALL"
        for a in cfg.actions
    )
    return f"""
CREATE TEMP VIEW events AS SELECT * FROM read_parquet({files(events)}) {self_filter};
CREATE TEMP TABLE pa AS
  SELECT network, actor_id, target_id, action, COUNT(*) AS n, SUM({base}) AS base
  FROM events GROUP BY ALL;
CREATE TEMP TABLE pairs AS
  SELECT network, actor_id, target_id, SUM(n) AS n, SUM(base) AS base FROM pa GROUP BY ALL;
CREATE TEMP TABLE flagged AS
  SELECT p.*, r.actor_id IS NOT NULL AS reciprocal, {pair_factor} AS pair_factor
  FROM pairs p LEFT JOIN pairs r
    ON r.network = p.network AND r.actor_id = p.target_id AND r.target_id = p.actor_id;
CREATE TEMP TABLE reactors AS
  SELECT network, actor_id, {selectivity} AS selectivity, {ring} AS ring
  FROM (SELECT network, actor_id, SUM(n)::DOUBLE AS volume,
               SUM(CASE WHEN reciprocal THEN n ELSE 0 END)::DOUBLE AS reciprocated
        FROM flagged GROUP BY ALL);
CREATE TEMP TABLE edges AS
  SELECT f.network, f.actor_id, f.target_id, f.n AS reactions,
         f.base * f.pair_factor * r.selectivity * r.ring AS weight,
         f.pair_factor, r.selectivity, r.ring, f.reciprocal
  FROM flagged f JOIN reactors r USING (network, actor_id);
CREATE TEMP TABLE cells AS
  SELECT pa.network, pa.target_id AS account_id, pa.action, e.reciprocal,
         SUM(pa.base * e.pair_factor * e.selectivity * e.ring) AS w, SUM(pa.n) AS n
  FROM pa JOIN edges e USING (network, actor_id, target_id)
  GROUP BY ALL;
COPY edges TO '{out}/edges.parquet' (FORMAT parquet);
COPY (
  SELECT * FROM (
    {actions}
    UNION ALL SELECT network, account_id, 'weighted_reactions', SUM(w) FROM cells GROUP BY ALL
    UNION ALL SELECT network, account_id, 'outside_circle_weight',
                     SUM(CASE WHEN reciprocal THEN 0.0 ELSE w END) FROM cells GROUP BY ALL
    UNION ALL SELECT network, account_id, 'reactions', SUM(n)::DOUBLE FROM cells GROUP BY ALL
    UNION ALL SELECT network, target_id, 'reactor_days', COUNT(*)::DOUBLE FROM edges GROUP BY ALL
    UNION ALL SELECT network, actor_id, 'reactions_made', SUM(reactions)::DOUBLE FROM edges GROUP BY ALL
    UNION ALL SELECT network, actor_id, 'reacting_days', 1.0::DOUBLE FROM edges GROUP BY ALL
    UNION ALL SELECT network, target_id, 'reacted_posts', COUNT(DISTINCT content_id)::DOUBLE
              FROM events WHERE content_id IS NOT NULL GROUP BY ALL
  ) WHERE value <> 0
) TO '{out}/metrics.parquet' (FORMAT parquet);
"""


def run_day_aggregation(cfg: Config, events: list[str], out: Path, threads: int) -> tuple[float, dict[str, float]]:
    """Run the script in a fresh in-memory DuckDB with `threads` threads: (seconds, metric → total value)."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": threads})
    try:
        t0 = time.monotonic()
        con.execute(day_aggregation_sql(cfg, events, out))
        seconds = time.monotonic() - t0
        totals = dict(
            con.execute(
                f"SELECT metric, SUM(value) FROM read_parquet('{out}/metrics.parquet') GROUP BY metric"
            ).fetchall()
        )
    finally:
        con.close()
    return seconds, totals
