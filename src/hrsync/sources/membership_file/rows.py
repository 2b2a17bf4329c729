"""One row of a membership file → one :class:`SourcePerson`.

* ``values`` holds each wanted column by its header (the field key), trimmed; a blank cell is
  ``None``; a column a short row does not reach is left out (absent: it changes nothing).
  Cells beyond the header's width are ignored.
* ``source_id`` is the row's value in the column mapped to Employee ID (the person's stable key
  across files), or ``row:N`` (N: the spreadsheet row, the header being row 1) when that is blank,
  which the domain then reports as a missing Employee ID.
* **Dates.** Columns mapped to date fields accept ``YYYY-MM-DD`` and the integration's date format
  (``DD/MM/YYYY`` or ``MM/DD/YYYY``, one- or two-digit day and month) and are normalised to
  ``YYYY-MM-DD``; anything else goes to ``field_problems`` (the domain warns, the value is absent).
* **Employment status.** With a status column, its cell goes through the integration's status
  table (:func:`hrsync.sources.base.status_table`: ``Current Staff`` active, ...), and the plain words
  of :data:`PLAIN_STATUSES` are understood too, all compared without regard to case. A blank cell
  is active (the person is in the list). Any other word stops the import (``unknown_status``),
  as for an HR system: guessing would hide a leaver or make a mass of them. Without a status column
  everyone in the file is active; people missing from the file are handled by the integration's
  "vanished are leavers" choice.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Final

from hrsync.sources.base import Lifecycle, SourceError, SourcePerson, status_table

#: Plain words a status column may hold besides the integration's status table (case-insensitive).
PLAIN_STATUSES: Final[Mapping[str, Lifecycle]] = {
    "active": Lifecycle.ACTIVE,
    "current": Lifecycle.ACTIVE,
    "inactive": Lifecycle.INACTIVE,
    "leaver": Lifecycle.INACTIVE,
    "left": Lifecycle.INACTIVE,
    "terminated": Lifecycle.INACTIVE,
    "pre-hire": Lifecycle.PENDING,
    "prehire": Lifecycle.PENDING,
    "pending": Lifecycle.PENDING,
}
NO_STATUS: Final = "active"  # employment_status of a person in a file without a status column

_SLASHED = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def status_lookup(overrides: Mapping[str, str] | None) -> dict[str, Lifecycle]:
    """Case-folded status → lifecycle: the plain words, under the integration's status table."""
    table = {k.casefold(): v for k, v in PLAIN_STATUSES.items()}
    table.update({k.strip().casefold(): v for k, v in status_table(overrides).items()})
    return table


def read_date(text: str, date_format: str) -> str | None:
    """``text`` as ``YYYY-MM-DD`` when it is an ISO date or a date in ``date_format``; else None."""
    iso = _ISO.fullmatch(text)
    slashed = None if iso else _SLASHED.fullmatch(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        if slashed and date_format in ("DD/MM/YYYY", "MM/DD/YYYY"):
            first, second, year = int(slashed[1]), int(slashed[2]), int(slashed[3])
            day, month = (first, second) if date_format == "DD/MM/YYYY" else (second, first)
            return date(year, month, day).isoformat()
    except ValueError:
        return None
    return None


class RowReader:
    """Turns the rows of one file into people; built once per file from its header."""

    def __init__(
        self,
        headers: Sequence[str],
        *,
        key_column: str | None,
        status_column: str | None,
        date_columns: Collection[str] = (),
        date_format: str = "DD/MM/YYYY",
        statuses: Mapping[str, Lifecycle] | None = None,
        wanted: Collection[str] | None = None,
    ) -> None:
        wanted_set = None if wanted is None else frozenset(wanted)
        self._columns = [(i, h) for i, h in enumerate(headers) if h and (wanted_set is None or h in wanted_set)]
        self._key = headers.index(key_column) if key_column in headers else None
        self._status = headers.index(status_column) if status_column in headers else None
        self._dates = frozenset(date_columns)
        self._date_format = date_format
        self._statuses = statuses if statuses is not None else status_lookup(None)

    def person(self, number: int, cells: Sequence[str]) -> SourcePerson:
        values: dict[str, str | None] = {}
        problems: dict[str, str] = {}
        width = len(cells)
        for index, key in self._columns:
            if index >= width:
                continue  # a short row: absent, never a blank
            text = cells[index].strip()
            if not text:
                values[key] = None
            elif key in self._dates:
                iso = read_date(text, self._date_format)
                if iso is None:
                    problems[key] = (f"{text[:40]!r} is not a date (expected YYYY-MM-DD or "
                                     f"{self._date_format})")
                else:
                    values[key] = iso
            else:
                values[key] = text
        status, lifecycle = self._lifecycle(number, cells)
        key_value = cells[self._key].strip() if self._key is not None and self._key < width else ""
        return SourcePerson(
            source_id=key_value or f"row:{number}",
            employment_status=status,
            lifecycle=lifecycle,
            values=values,
            field_problems=problems,
        )

    def _lifecycle(self, number: int, cells: Sequence[str]) -> tuple[str, Lifecycle]:
        if self._status is None:
            return NO_STATUS, Lifecycle.ACTIVE
        text = cells[self._status].strip() if self._status < len(cells) else ""
        if not text:
            return NO_STATUS, Lifecycle.ACTIVE
        found = self._statuses.get(text.casefold())
        if found is None:
            raise SourceError(
                f"Row {number} of the membership file has the employment status '{text[:60]}', which the "
                "integration's status mapping does not cover; add it to the mapping (or use active, "
                "pre-hire or leaver) and import again.", code="unknown_status",
            )
        return text, found
