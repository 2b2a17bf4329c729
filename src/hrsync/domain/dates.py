"""Dates: ISO text inside hrsync, the integration's date format only when shown to people.

Values travel and are stored as ``YYYY-MM-DD`` so comparisons and sorting never depend on a
display preference; :func:`format_date` is the only place a display format is applied.

An HR system may store a job's end date **exclusively** (a last day of 2025-04-23 is stored as
2025-04-24), so the member's leaving date is the day before: :func:`last_day_from_exclusive_end`.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Final

DATE_FORMATS: Final = ("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD")
DEFAULT_DATE_FORMAT: Final = "DD/MM/YYYY"

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ONE_DAY = timedelta(days=1)


def format_date(d: date, fmt: str) -> str:
    """``d`` in one of :data:`DATE_FORMATS`; ``ValueError`` for any other format."""
    if fmt == "DD/MM/YYYY":
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    if fmt == "MM/DD/YYYY":
        return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"
    if fmt == "YYYY-MM-DD":
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    raise ValueError(f"Unknown date format {fmt!r}; use one of {', '.join(DATE_FORMATS)}.")


def parse_iso(s: str | None) -> date | None:
    """A ``YYYY-MM-DD`` string as a date; ``None`` for blank or anything else (never raises).

    Stricter than :meth:`date.fromisoformat`, which also takes ``20250102`` and week dates: the
    source contract is ``YYYY-MM-DD`` and anything else is a sign of a wrong mapping.
    """
    if s is None:
        return None
    s = s.strip()
    if _ISO_DATE.fullmatch(s) is None:
        return None
    try:
        return date.fromisoformat(s)
    except ValueError:
        return None


def display_iso(s: str | None, fmt: str) -> str:
    """A stored ISO date text shown in ``fmt``; blank for None, unchanged if it is not a date."""
    d = parse_iso(s)
    if d is None:
        return s or ""
    return format_date(d, fmt)


def last_day_from_exclusive_end(end: date | None) -> date | None:
    """The last working day for an exclusive end date (such as ``companyEndDate``)."""
    return None if end is None else end - _ONE_DAY
