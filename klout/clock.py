"""Now, in UTC, as the naive timestamp Spark stores (the session time zone is UTC)."""

from __future__ import annotations

import datetime as dt


def now_utc() -> dt.datetime:
    """Now in UTC, without tzinfo: what a TimestampType column holds under session time zone UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
