"""Every CSV file hrsync writes: a run's errors and warnings, and the members list.

RFC 4180 CSV (UTF-8, CRLF), streamed a line or a batch at a time, safe to open in a spreadsheet.
A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be taken as a
formula by spreadsheet programs (CSV injection): such cells get a leading apostrophe, which
spreadsheets show as text and people read past. The values come from the HR system, so this
matters: a name like ``=HYPERLINK(...)`` must not become a link in an administrator's sheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.fields import MEMBER_FIELDS
from hrsync.services.queries import MEMBER_ORDER, MemberFilter
from hrsync.store.db import session_factory
from hrsync.store.enums import IssueSeverity
from hrsync.store.models import ImportIssue, Member

ISSUES_CSV_HEADER = ("employee_id", "source_id", "field", "code", "message")
_CORE_CSV = ("employee_id", "email", "first_name", "last_name", "status", "employment_status",
             "start_date", "leaving_date", "access_until")
ATTRIBUTE_CSV = tuple(k for k in MEMBER_FIELDS if k not in _CORE_CSV)
MEMBERS_CSV_HEADER = (*_CORE_CSV, *ATTRIBUTE_CSV)
_CSV_BATCH = 2000
_CSV_COLUMNS = tuple(getattr(Member, k) for k in _CORE_CSV)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str | None) -> str:
    """A cell value a spreadsheet shows as text, never evaluates."""
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


class _Lines:
    """A CSV writer whose output is taken a piece at a time (what a streaming response sends)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def write(self, row: Iterable[Any]) -> None:
        self._writer.writerow(row)

    def take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


# ------------------------------------------------------------------------------------------------
# a run's errors and warnings
# ------------------------------------------------------------------------------------------------


def _issue_rows(session: Session, run_id: int, severity: str) -> Iterator[tuple[str | None, ...]]:
    result = session.execute(
        select(ImportIssue.employee_id, ImportIssue.source_id, ImportIssue.field, ImportIssue.code,
               ImportIssue.message)
        .where(ImportIssue.run_id == run_id, ImportIssue.severity == severity)
        .order_by(ImportIssue.id)
        .execution_options(yield_per=2000)
    )
    for row in result:
        yield tuple(row)


def csv_lines(rows: Iterable[tuple[str | None, ...]]) -> Iterator[str]:
    """An issues CSV document (header first), a line at a time (streams for large runs)."""
    lines = _Lines()
    for row in _with_header(rows):
        lines.write(neutralise(v) for v in row)
        yield lines.take()


def _with_header(rows: Iterable[tuple[str | None, ...]]) -> Iterator[tuple[str | None, ...]]:
    yield ISSUES_CSV_HEADER
    yield from rows


def issues_csv_lines(session: Session, run_id: int, *, warnings: bool = False) -> Iterator[str]:
    """A run's errors (or warnings) file, a line at a time."""
    severity = IssueSeverity.WARNING if warnings else IssueSeverity.ERROR
    return csv_lines(_issue_rows(session, run_id, severity.value))


def issues_csv(session: Session, run_id: int, *, warnings: bool = False) -> str:
    return "".join(issues_csv_lines(session, run_id, warnings=warnings))


# ------------------------------------------------------------------------------------------------
# the members list
# ------------------------------------------------------------------------------------------------


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def member_csv_row(values: Sequence[Any], attributes: dict[str, Any] | None) -> list[str]:
    """One export line: the core columns, then each member field kept in ``attributes``."""
    attrs = attributes or {}
    cells = [_cell(v) for v in values] + [_cell(attrs.get(k)) for k in ATTRIBUTE_CSV]
    return [neutralise(c) for c in cells]


def members_csv_lines(
    programme_id: int, flt: MemberFilter | None = None, *, url: str | None = None
) -> Iterator[str]:
    """The filtered members as CSV, sorted like the members page, a batch at a time.

    One streamed query (``yield_per``) from its own session, so a streaming response can outlive
    the request's session and 100,000 members never sit in memory at once. Dates are ISO 8601 (a
    file is for machines and spreadsheets). Every cell goes through :func:`neutralise`.
    """
    flt = flt or MemberFilter()
    lines = _Lines()
    lines.write(MEMBERS_CSV_HEADER)
    yield lines.take()
    with session_factory(url)() as session:
        stmt = select(*_CSV_COLUMNS, Member.attributes).where(Member.programme_id == programme_id)
        result = session.execute(
            flt.apply(stmt)
            .order_by(*MEMBER_ORDER)
            .execution_options(yield_per=_CSV_BATCH)
        )
        for batch in result.partitions():
            for row in batch:
                values = tuple(row)
                lines.write(member_csv_row(values[:-1], values[-1]))
            yield lines.take()
