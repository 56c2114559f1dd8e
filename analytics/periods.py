"""The rules of a period of the flywheel numbers, shared by the analytics API's parameters and
the dashboard's filter bar: the default (the last 30 days to today), and what is refused.

Dates outside EARLIEST…LATEST are refused: the selectors step a day past the end and before
the start, and a date at the edge of the calendar (9999-12-31) would overflow there.
"""

from __future__ import annotations

from datetime import date, timedelta

DEFAULT_DAYS = 30
MAX_YEARS = 20
MAX_DAILY_BUCKETS = 1000
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def default_period(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The period asked for, the missing ends filled in: `end` today, `start` 30 days before
    the end."""
    end = end or today
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


def date_error(value: date | None) -> str | None:
    """Why a date cannot bound a period, or None."""
    if value is not None and not EARLIEST <= value <= LATEST:
        return f"Choose a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
    return None


def period_error(start: date, end: date) -> str | None:
    """Why a period cannot be read (the message belongs to `start`), or None."""
    if start > end:
        return "The start must not be after the end."
    if (end - start).days >= MAX_YEARS * 366:
        return f"A period may span at most {MAX_YEARS} years."
    return None
