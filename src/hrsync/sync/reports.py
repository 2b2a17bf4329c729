"""A run's error and warning files: RFC 4180 CSV (UTF-8, CRLF), safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be taken as a
formula by spreadsheet programs (CSV injection): such cells get a leading apostrophe, which
spreadsheets show as text and people read past. The values come from the HR system, so this
matters: a name like ``=HYPERLINK(...)`` must not become a link in an administrator's sheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.store.models import ImportIssue

HEADER = ("employee_id", "source_id", "field", "code", "message")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str | None) -> str:
    """A cell value a spreadsheet shows as text, never evaluates."""
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _rows(session: Session, run_id: int, severity: str) -> Iterator[tuple[str | None, ...]]:
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
    """The CSV document, a line at a time (streams for large runs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in _chain(rows):
        writer.writerow([neutralise(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _chain(rows: Iterable[tuple[str | None, ...]]) -> Iterator[tuple[str | None, ...]]:
    yield HEADER
    yield from rows


def issues_csv_lines(session: Session, run_id: int, *, warnings: bool = False) -> Iterator[str]:
    return csv_lines(_rows(session, run_id, "warning" if warnings else "error"))


def issues_csv(session: Session, run_id: int, *, warnings: bool = False) -> str:
    return "".join(issues_csv_lines(session, run_id, warnings=warnings))
