"""Predicates that find one subject's few accounts in rows and in raw quarantined records, for erasure.

Literal lists (one person's accounts), so Delta skips files by them.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType


def names(accounts: list[tuple[str, str]], network: Column, account: Column) -> Column:
    """True where (network, account) is one of `accounts`; never null."""
    cond = F.lit(False)
    for net, ids in sorted(by_network(accounts).items()):
        cond = cond | ((network == F.lit(net)) & account.isin(*ids))
    return F.coalesce(cond, F.lit(False))


_RAW_IDS = StructType(
    [StructField(c, StringType()) for c in ("network", "actor_id", "target_id", "user_id", "person_id")]
)
_FIELD_SEPARATORS = r"[\s,;|:={}\[\]\"']+"


def raw_names(raw: Column, kind: Column, accounts: list[tuple[str, str]], persons: list[str]) -> Column:
    """True where a quarantined record (`raw`, see klout.ingest.readers) names one of `accounts` or `persons`.

    A JSON record (JSON lines; CSV and Parquet rows as JSON) is matched by its id fields, on the account's network
    (or any, when the record has none); a delimited line (Higgs, Klout samples, a malformed record) by a whole field
    equal to a user id, since a line carries no network. Whole fields, never substrings: "ab" does not match "abc"."""
    r = F.from_json(raw, _RAW_IDS)
    field = lambda name: F.trim(r[name])  # noqa: E731
    net = F.lower(field("network"))
    on_account = F.lit(False)
    for n, ids in sorted(by_network(accounts).items()):
        on_account = on_account | (
            (net.isNull() | (net == n))
            & (field("actor_id").isin(*ids) | field("target_id").isin(*ids) | field("user_id").isin(*ids))
        )
    named = F.coalesce(on_account, F.lit(False))
    if persons:
        named = named | F.coalesce(field("person_id").isin(*persons), F.lit(False))
    parsed = (
        F.trim(raw).startswith("{")
        & r.isNotNull()
        & F.coalesce(*[r[f.name] for f in _RAW_IDS.fields], F.lit(None)).isNotNull()
    )
    tokens = F.split(raw, _FIELD_SEPARATORS)
    in_line = F.arrays_overlap(
        tokens, F.array(*[F.lit(a) for a in sorted({a for _, a in accounts})] or [F.lit(None).cast("string")])
    )
    if persons:
        in_line = in_line | ((kind == "identities") & F.arrays_overlap(tokens, F.array(*[F.lit(p) for p in persons])))
    return F.when(F.coalesce(parsed, F.lit(False)), named).otherwise(F.coalesce(in_line, F.lit(False)))


def by_network(accounts: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for net, account in accounts:
        out.setdefault(net, []).append(account)
    return {net: sorted(ids) for net, ids in out.items()}
