"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time-zone-aware timestamp: it stores text and hands back naive datetimes, while
PostgreSQL's ``timestamptz`` hands back aware ones in the session's zone. Leaver dates, schedules
and held-run expiry all compare instants, so every timestamp is stored as UTC and read back as an
aware UTC datetime on both engines; a naive datetime is refused when written, because guessing its
zone is how "off by a timezone" bugs start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-assigns ids to a column declared exactly INTEGER PRIMARY KEY, so high-volume
# tables use BIGINT on PostgreSQL and INTEGER (which is 64-bit in SQLite anyway) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

#: The largest id a row can have: ids are signed 64-bit integers (SQLite's INTEGER, PostgreSQL's BIGINT; the
#: smaller SERIAL ids fit too). A number past it names no row, and SQLite cannot even be asked about one
#: (the driver refuses to bind it), so look-ups answer "not found" for it without asking (:func:`is_row_id`).
ID_MAX = 2**63 - 1


def is_row_id(value: int) -> bool:
    """Whether ``value`` could be a row's id at all (1 to :data:`ID_MAX`); outside that, nothing is found."""
    return 1 <= value <= ID_MAX


#: Ids per ``IN (...)`` list: SQLite allows at most 32,766 parameters in one statement.
IN_CHUNK = 10_000


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime (the only kind the store accepts)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: written as UTC, read back as an aware UTC datetime on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: pass an aware datetime (e.g. datetime.now(UTC))")
        moment: datetime = value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # A string is what SQLite's CURRENT_TIMESTAMP server default reads back as.
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
