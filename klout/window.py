"""The rolling window's days: which days a run date's window holds, which day leaves it, and its rows.

The window ending on run date D holds the `features.window_days` days D - window_days + 1 … D; the day
D - window_days is the one that left it when D came in. Every step that reads a window asks this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from klout.config import FeaturesConfig


def first_day(run_date: dt.date, f: FeaturesConfig) -> dt.date:
    """The oldest day in the window ending on `run_date`."""
    return run_date - dt.timedelta(days=f.window_days - 1)


def leaving_day(run_date: dt.date, f: FeaturesConfig) -> dt.date:
    """The day that left the window when `run_date` came in (the newest day before `first_day`)."""
    return run_date - dt.timedelta(days=f.window_days)


def age_days(run_date: dt.date, date_col: str = "date") -> Column:
    """Whole days from a row's `date_col` to `run_date` (0 on the run date itself)."""
    return F.datediff(F.lit(run_date), F.col(date_col))


def in_window(daily: DataFrame, run_date: dt.date, f: FeaturesConfig, date_col: str = "date") -> DataFrame:
    """The rows of a per-day table (with `date_col`) in the window ending on `run_date`."""
    age = age_days(run_date, date_col)
    return daily.where((age >= 0) & (age < f.window_days))


def span(days: Collection[dt.date]) -> str:
    """A set of days for a message: one date, or first..last and how many."""
    ordered = sorted(set(days))
    return ordered[0].isoformat() if len(ordered) == 1 else f"{ordered[0]}..{ordered[-1]} ({len(ordered)} days)"
