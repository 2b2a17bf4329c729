"""Every CSV file hrsync writes: a run's errors and warnings, and the members list.

RFC 4180 CSV, streamed a line or a batch at a time, made to open correctly in a spreadsheet by
double-click: UTF-8 **with a byte-order mark** (without it Excel reads "Élodie" as "Ã‰lodie"), CRLF
line ends, a header row in words people read (the member fields' labels from
:mod:`hrsync.domain.display`), and dates in the programme's date format, as on its pages.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be taken as a
formula by spreadsheet programs (CSV injection): such cells get a leading apostrophe, which
spreadsheets show as text and people read past. The values come from the HR system, so this
matters: a name like ``=HYPERLINK(...)`` must not become a link in an administrator's sheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.display import MEMBER_STATUS_LABELS, NAME_FIELDS, field_label, field_text, member_name
from hrsync.domain.fields import MEMBER_FIELDS
from hrsync.domain.issue_words import problem
from hrsync.services.member_view import attribute_order, date_format_of, mapped_attributes
from hrsync.services.queries import MEMBER_ORDER, MemberFilter
from hrsync.sources.registry import REGISTRY
from hrsync.store.db import session_factory
from hrsync.store.enums import IssueSeverity
from hrsync.store.models import ImportIssue, ImportRun, Integration, Member

#: The byte-order mark a CSV document starts with: spreadsheets then read it as UTF-8.
BOM = "\ufeff"
#: The third column is the person's id in the system they came from, named by the run's kind (its words' ``id_label``).
SOURCE_ID_HEADER = "Source record ID"
#: "Problem" is the code in words (:mod:`hrsync.domain.issue_words`); the code itself is last, for machines.
ISSUES_CSV_HEADER = ("Employee ID", "Name", SOURCE_ID_HEADER, "Field", "Problem", "Message", "Problem code")
_CORE_CSV = ("employee_id", "email", "first_name", "last_name", "status", "employment_status",
             "start_date", "leaving_date", "access_until")
_CSV_BATCH = 2000
_CSV_COLUMNS = tuple(getattr(Member, k) for k in _CORE_CSV)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str | None) -> str:
    """A cell value a spreadsheet shows as text, never evaluates."""
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


class _Lines:
    """A CSV writer whose output is taken a piece at a time (what a streaming response sends).

    The first piece taken starts with the byte-order mark."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._buffer.write(BOM)
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
        select(ImportIssue.employee_id, ImportIssue.person_name, ImportIssue.source_id, ImportIssue.field,
               ImportIssue.code, ImportIssue.message)
        .where(ImportIssue.run_id == run_id, ImportIssue.severity == severity)
        .order_by(ImportIssue.id)
        .execution_options(yield_per=2000)
    )
    for employee_id, name, source_id, field, code, message in result:
        yield employee_id, name, source_id, field_label(field) if field else None, problem(code), message, code


def _issues_header(session: Session, run_id: int) -> tuple[str, ...]:
    """The header; the third column is named by the run's kind (its words' ``id_label``)."""
    kind = session.scalar(
        select(Integration.kind).join(ImportRun, ImportRun.integration_id == Integration.id)
        .where(ImportRun.id == run_id)
    )
    known = REGISTRY.get(kind or "")
    source_id = known.words.id_label if known is not None else SOURCE_ID_HEADER
    return (*ISSUES_CSV_HEADER[:2], source_id, *ISSUES_CSV_HEADER[3:])


def csv_lines(header: Sequence[str], rows: Iterable[tuple[str | None, ...]]) -> Iterator[str]:
    """A CSV document (byte-order mark, header first), a line at a time (streams for large runs)."""
    lines = _Lines()
    lines.write(header)
    yield lines.take()
    for row in rows:
        lines.write(neutralise(v) for v in row)
        yield lines.take()


def issues_csv_lines(session: Session, run_id: int, *, warnings: bool = False) -> Iterator[str]:
    """A run's errors (or warnings) file, a line at a time: who (employee ID, name, source id), then what."""
    severity = IssueSeverity.WARNING if warnings else IssueSeverity.ERROR
    return csv_lines(_issues_header(session, run_id), _issue_rows(session, run_id, severity.value))


def issues_csv(session: Session, run_id: int, *, warnings: bool = False) -> str:
    return "".join(issues_csv_lines(session, run_id, warnings=warnings))


# ------------------------------------------------------------------------------------------------
# the members list
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MembersColumns:
    """The members export's columns: the member's own record, every member field (mapped or not, so
    the header stays the same from one export to the next), then every extra attribute an
    integration of the programme maps (``custom.*``), each headed by its label."""

    attributes: tuple[str, ...]
    date_format: str

    @property
    def header(self) -> tuple[str, ...]:
        keys = ("employee_id", "name", "email", *NAME_FIELDS, *_CORE_CSV[4:], *self.attributes)
        return tuple(field_label(k) for k in keys)

    def row(self, values: Sequence[Any], attributes: dict[str, Any] | None) -> list[str]:
        """One member's line; ``values`` are the :data:`_CORE_CSV` columns in order."""
        attrs = attributes or {}
        core = dict(zip(_CORE_CSV, values, strict=True))
        name = member_name(core["first_name"], core["last_name"], attrs, deleted=core["status"] == "deleted")
        cells: list[str | None] = [core["employee_id"], name, core["email"], core["first_name"], core["last_name"],
                                   field_text("preferred_name", attrs.get("preferred_name"), self.date_format)]
        core["status"] = MEMBER_STATUS_LABELS.get(core["status"], core["status"])  # as the members list words it
        cells += [field_text(k, core[k], self.date_format) for k in _CORE_CSV[4:]]
        cells += [field_text(k, attrs.get(k), self.date_format) for k in self.attributes]
        return [neutralise(c) for c in cells]


def members_columns(session: Session, programme_id: int) -> MembersColumns:
    return MembersColumns(
        attributes=tuple(attribute_order({*MEMBER_FIELDS, *mapped_attributes(session, programme_id)})),
        date_format=date_format_of(session, programme_id),
    )


def members_csv_lines(
    programme_id: int, flt: MemberFilter | None = None, *, url: str | None = None
) -> Iterator[str]:
    """The filtered members as CSV, sorted like the members page, a batch at a time.

    One streamed query (``yield_per``) from its own session, so a streaming response can outlive
    the request's session and 100,000 members never sit in memory at once. Columns: see
    :class:`MembersColumns`; dates in the programme's date format, like its pages (a spreadsheet
    set to that format reads them as dates). Every cell goes through :func:`neutralise`.
    """
    flt = flt or MemberFilter()
    with session_factory(url)() as session:
        columns = members_columns(session, programme_id)
        lines = _Lines()
        lines.write(columns.header)
        yield lines.take()
        stmt = select(*_CSV_COLUMNS, Member.attributes).where(Member.programme_id == programme_id)
        result = session.execute(
            flt.apply(stmt)
            .order_by(*MEMBER_ORDER)
            .execution_options(yield_per=_CSV_BATCH)
        )
        for batch in result.partitions():
            for row in batch:
                values = tuple(row)
                lines.write(columns.row(values[:-1], values[-1]))
            yield lines.take()
