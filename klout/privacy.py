"""Privacy: the opt-out list, keeping opted-out accounts out of every run, and erasure of a person's data.

An opt-out names a person (every account linked to them) or one account. From the next run on the steps drop the
accounts it resolves to where they read their inputs (`without_accounts`), as targets and as reactors: they get no
features, influence, score or explanation, and their reactions no longer count for anyone else. Erasure deletes a
person's accounts from every table, recomputes the per-day aggregates their reactions went into, vacuums the
files that held them, and leaves a suppression row in privacy/optouts so later runs keep excluding them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from klout import schemas, tables
from klout.clock import now_utc
from klout.config import Config
from klout.erasure import names, raw_names
from klout.errors import ConfigError
from klout.exclusion import opted_out_accounts, resolve_accounts
from klout.features.aggregates import aggregate_days
from klout.maintain import vacuum
from klout.progress import log, step
from klout.score import explain
from klout.warehouse import Warehouse
from klout.window import first_day

OPT_OUT, ERASURE = "opt_out", "erasure"  # privacy/optouts `kind`


@dataclass(frozen=True)
class Subject:
    """Whom a request names: a person (with every account linked to them) or one account."""

    person_id: str | None = None
    network: str | None = None
    account_id: str | None = None

    @property
    def key(self) -> str:
        """The privacy/optouts key of the subject."""
        if self.person_id is not None:
            return f"person:{self.person_id}"
        return f"account:{self.network}:{self.account_id}"


def parse_account(text: str, cfg: Config) -> Subject:
    """`NETWORK:USER_ID` → an account subject; ConfigError (exit 2) unless NETWORK is a configured network."""
    network, sep, user = text.partition(":")
    network, user = network.strip().lower(), user.strip()
    if not sep or not user or network not in cfg.networks:
        raise ConfigError(f"--account {text!r}: expected NETWORK:USER_ID with NETWORK one of {', '.join(cfg.networks)}")
    return Subject(network=network, account_id=user)


# ---- commands ---------------------------------------------------------------------------------------------------


def subject_accounts(spark: SparkSession, cfg: Config, subject: Subject) -> list[tuple[str, str]]:
    """The subject's accounts (network, account_id), sorted: resolved like every run resolves opt-outs, plus the
    accounts an earlier erasure of the person recorded (its links may be gone). A small collect: one person's."""
    wh = Warehouse(spark, cfg)
    rows = _request_rows(spark, subject, [], OPT_OUT, None, dt.datetime(1970, 1, 1))
    optouts = wh[tables.OPTOUTS].try_read()
    if subject.person_id is not None and optouts is not None:
        recorded = optouts.where((F.col("person_id") == subject.person_id) & F.col("account_id").isNotNull())
        rows = rows.unionByName(recorded)
    found = resolve_accounts(rows, wh[tables.IDENTITIES].read_or_empty(), list(cfg.networks)).collect()
    return sorted((r["network"], r["account_id"]) for r in found)


def opt_out(
    spark: SparkSession,
    cfg: Config,
    subject: Subject,
    reason: str | None = None,
    remove: bool = False,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Record an opt-out (MERGE: a repeated request changes nothing but a new reason), or with `remove` withdraw it
    (an erasure's suppression stays). Then recompute the per-day aggregates of the current window's days that the
    subject's accounts took part in, and drop the window states from the first of them on, so the next run
    rebuilds the window without their reactions (withdrawn: with them again). Returns counts."""
    wh = Warehouse(spark, cfg)
    now = now or now_utc()
    with step("optout", subject=subject.key, remove=remove) as counts:
        if remove:
            counts["removed"] = wh[tables.OPTOUTS].delete(
                (F.col("subject_id") == subject.key) & (F.col("kind") == OPT_OUT)
            )
        else:
            merged = wh[tables.OPTOUTS].merge(
                _request_rows(spark, subject, [], OPT_OUT, reason, now),
                update_when=f"t.kind = '{OPT_OUT}' AND NOT (t.reason <=> s.reason)",
            )
            counts.update(inserted=merged["inserted"], updated=merged["updated"])
        accounts = subject_accounts(spark, cfg, subject)
        counts["accounts"] = len(accounts)
        if not accounts:
            log.warning("optout: no account found for %s yet; every run excludes those linked later", subject.key)
        days = _window_days(spark, cfg, accounts, in_bronze=remove) if accounts else []
        counts["state_rows_deleted"] = sum(_drop_state_from(spark, cfg, days[0]).values()) if days else 0
        _recompute(spark, cfg, days)
        counts["days_recomputed"] = len(days)
    return {k: v for k, v in counts.items() if k != "seconds"}


def erase(
    spark: SparkSession, cfg: Config, subject: Subject, reason: str | None = None, now: dt.datetime | None = None
) -> dict[str, dict[str, int]]:
    """Erase the subject's accounts from every table, per table one atomic Delta DELETE or UPDATE; returns per table
    the rows deleted and updated, the days recomputed and the files vacuumed.

    Order makes a killed erase safe to rerun: the suppression rows first (the accounts stay excluded and known even
    once their identity links are deleted), the window states from the first affected day next (the next run
    rebuilds the window), then bronze, then each affected day's per-day aggregates recomputed from what bronze keeps
    (a day is found while silver still names them), then the other tables, then VACUUM with
    `maintenance.vacuum_retention_hours`."""
    wh = Warehouse(spark, cfg)
    now = now or now_utc()
    report: dict[str, dict[str, int]] = {}

    def record(table: tables.Table, **counts: int) -> None:
        report.setdefault(table.name, {}).update(counts)

    with step("erase", subject=subject.key) as progress:
        accounts = subject_accounts(spark, cfg, subject)
        merged = wh[tables.OPTOUTS].merge(
            _request_rows(spark, subject, accounts, ERASURE, reason, now), update_when=f"t.kind <> '{ERASURE}'"
        )
        record(tables.OPTOUTS, inserted=merged["inserted"], updated=merged["updated"])
        progress["accounts"] = len(accounts)
        if accounts:
            _erase_accounts(spark, cfg, subject, accounts, record)
        else:
            log.warning("erase: no account found for %s; the suppression row excludes any linked later", subject.key)
        handled = {t.name for t in _ERASED_FROM}
        for table in tables.ALL:
            if table.name not in handled and table.name != tables.OPTOUTS.name:
                log.info("erase: %s holds no account ids; left as it is", table.name)
        for table in _ERASED_FROM if accounts else ():  # also what an interrupted erase changed, not twice
            if wh[table].exists() and not wh[table].vacuumed_last():
                record(table, files_vacuumed=vacuum(wh[table], cfg.maintenance))
    return report


_ERASED_FROM = (
    tables.INTERACTIONS,
    tables.PROFILES_HISTORY,
    tables.PROFILES_LATEST,
    tables.IDENTITIES,
    tables.QUARANTINE,
    *tables.RUN_DATE_OUTPUTS,
)


def _erase_accounts(
    spark: SparkSession, cfg: Config, subject: Subject, accounts: list[tuple[str, str]], record
) -> None:
    """The DELETEs, UPDATEs and recomputation of `erase`, in its order."""
    wh = Warehouse(spark, cfg)
    persons = sorted(
        {*([subject.person_id] if subject.person_id else []), *(f"{n}:{a}" for n, a in accounts)}
    )  # published person ids: theirs, and own-id accounts'
    on = lambda net, col: names(accounts, F.col(net), F.col(col))  # noqa: E731
    silver = _rows_per_day(spark, cfg, accounts)
    days = sorted({d for per_day in silver.values() for d in per_day})
    for state, deleted in _drop_state_from(spark, cfg, days[0] if days else None, accounts).items():
        record(state, deleted=deleted)
    record(
        tables.INTERACTIONS,
        deleted=wh[tables.INTERACTIONS].delete(on("network", "actor_id") | on("network", "target_id")),
    )
    _recompute(spark, cfg, days)
    for table in (tables.EDGES_DAILY, tables.ACCOUNT_DAILY):
        record(table, deleted=sum(silver.get(table.name, {}).values()), days_recomputed=len(days))

    linked = (F.col("person_id") == subject.person_id) if subject.person_id else F.lit(False)
    deletes = (
        (tables.PROFILES_HISTORY, on("network", "user_id")),
        (tables.PROFILES_LATEST, on("network", "user_id")),
        (tables.IDENTITIES, on("network", "user_id") | linked),
        (
            tables.QUARANTINE,
            raw_names(F.col("raw"), F.col("kind"), accounts, [subject.person_id] if subject.person_id else []),
        ),
        (tables.FEATURES, on("network", "account_id")),
        (tables.ACCOUNT_INFLUENCE, on("network", "account_id")),
        (tables.SCORES, F.col("person_id").isin(*persons)),
        (tables.SCORE_EXPLANATIONS, F.col("person_id").isin(*persons)),
    )
    for table, cond in deletes:
        record(table, deleted=wh[table].delete(cond))

    # their entries among others' top reactors (an account's reactors are on its own network)
    reacted = lambda r: names(accounts, F.col("network"), r["reactor_id"])  # noqa: E731
    kept = F.filter("top_reactors", lambda r: ~reacted(r))
    record(
        tables.ACCOUNT_INFLUENCE,
        updated=wh[tables.ACCOUNT_INFLUENCE].update(F.exists("top_reactors", reacted), {"top_reactors": kept}),
    )
    named = lambda r: names(accounts, r["network"], r["reactor_id"])  # noqa: E731
    kept = F.filter("top_reactors", lambda r: ~named(r))
    summary = explain.summary(
        F.col("score"), F.col("previous_score"), F.col("top_networks"), F.col("top_actions"), kept
    )  # the sentence names the top reactor
    record(
        tables.SCORE_EXPLANATIONS,
        updated=wh[tables.SCORE_EXPLANATIONS].update(
            F.exists("top_reactors", named), {"top_reactors": kept, "summary": summary}
        ),
    )


# ---- helpers ---------------------------------------------------------------------------------------------------


def _request_rows(
    spark: SparkSession,
    subject: Subject,
    accounts: list[tuple[str, str]],
    kind: str,
    reason: str | None,
    now: dt.datetime,
) -> DataFrame:
    """privacy/optouts rows of a request: the subject's, and for a person's erasure one per account found (so they
    stay suppressed once the identity links are erased)."""
    rows = [(subject.key, subject.person_id, subject.network, subject.account_id, kind, now, reason)]
    if kind == ERASURE and subject.person_id is not None:
        rows += [(f"account:{n}:{a}", subject.person_id, n, a, kind, now, reason) for n, a in accounts]
    return spark.createDataFrame(rows, schemas.OPTOUTS)


def _rows_per_day(spark: SparkSession, cfg: Config, accounts: list[tuple[str, str]]) -> dict[str, dict[dt.date, int]]:
    """Per silver per-day table, the days (and rows) that name the accounts: the days whose aggregates an erasure
    recomputes. Days not yet processed need nothing (their run reads the erased bronze), and a processed day that
    does not name them never counted them. A small collect: days, not rows."""
    wh = Warehouse(spark, cfg)
    on = lambda net, col: names(accounts, F.col(net), F.col(col))  # noqa: E731
    sources = (
        (tables.EDGES_DAILY, on("network", "actor_id") | on("network", "target_id")),
        (tables.ACCOUNT_DAILY, on("network", "account_id")),
    )
    out: dict[str, dict[dt.date, int]] = {}
    for table, cond in sources:
        df = wh[table].try_read()
        if df is not None:
            rows = df.where(cond).groupBy("date").count().collect()
            out[table.name] = {r["date"]: r["count"] for r in rows}
    return out


def _window_days(spark: SparkSession, cfg: Config, accounts: list[tuple[str, str]], in_bronze: bool) -> list[dt.date]:
    """The days of the latest window (ending on the latest feature_state date) whose per-day aggregates the accounts
    took part in: from silver (an opt-out: days that still count them) or from bronze (a withdrawal: days that
    will count them again). Empty when no features run has happened."""
    wh = Warehouse(spark, cfg)
    state = wh[tables.FEATURE_STATE].try_read()
    if state is None:
        return []
    latest = state.agg(F.max("date")).first()
    assert latest is not None  # a global aggregate: always exactly one row
    last = latest[0]
    if last is None:
        return []
    first = first_day(last, cfg.features)
    on = lambda net, col: names(accounts, F.col(net), F.col(col))  # noqa: E731
    sources: tuple[tuple[tables.Table, str, Column], ...]
    if in_bronze:
        sources = ((tables.INTERACTIONS, "event_date", on("network", "actor_id") | on("network", "target_id")),)
    else:
        sources = (
            (tables.EDGES_DAILY, "date", on("network", "actor_id") | on("network", "target_id")),
            (tables.ACCOUNT_DAILY, "date", on("network", "account_id")),
        )
    days: set[dt.date] = set()
    for table, date_col, cond in sources:
        df = wh[table].try_read()
        if df is not None:
            rows = df.where(F.col(date_col).between(first, last) & cond).select(date_col).distinct().collect()
            days |= {r[date_col] for r in rows}
    return sorted(days)


def _drop_state_from(
    spark: SparkSession, cfg: Config, first: dt.date | None, accounts: list[tuple[str, str]] | None = None
) -> dict[tables.Table, int]:
    """Delete the window states (silver/feature_state and silver/window_edges) from `first` on, and every row that
    names one of `accounts`, so the next run finds no state for the day before and rebuilds the window from the
    per-day tables. Returns the rows deleted per table."""
    wh = Warehouse(spark, cfg)
    since = F.lit(False) if first is None else F.col("date") >= F.lit(first)
    on = lambda net, col: names(accounts or [], F.col(net), F.col(col))  # noqa: E731
    named = {
        tables.FEATURE_STATE: on("network", "account_id"),
        tables.WINDOW_EDGES: on("network", "actor_id") | on("network", "target_id"),
    }
    return {t: wh[t].delete(since | named[t] if accounts else since) for t in tables.WINDOW_STATES}


def _recompute(spark: SparkSession, cfg: Config, days: list[dt.date]) -> None:
    """Recompute the per-day aggregates of `days` (oldest first) from bronze without the opted-out accounts."""
    aggregate_days(spark, cfg, days, opted_out_accounts(spark, cfg))
