"""One row of BambooHR's custom report → one :class:`SourcePerson`.

**Status.** BambooHR says ``Active`` or ``Inactive``; hrsync also reads the dates, because a
termination can be dated in the future and a hire too:

* ``Inactive``, or a termination date that has arrived (today or earlier) → ``Inactive``;
* ``Active`` with a hire date still to come → ``Active (future hire date)``;
* otherwise → ``Active`` (a termination dated in the future leaves the person active until then).

A termination date older than the hire date belongs to an earlier employment (a rehire) and is
ignored. The three statuses go through the integration's status table (default: Active → active,
Active (future hire date) → pending, Inactive → inactive). The termination date is the person's
last day; :class:`SourcePerson` carries end dates exclusive, so ``job_end_date`` is the day after.

**Values** are text; an empty value (``""``, ``null``, or the ``0000-00-00`` some accounts send for an
empty date) is blank (``None``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Any, Final

from hrsync.sources.base import Lifecycle, SourcePerson

ACTIVE: Final = "Active"
STARTING: Final = "Active (future hire date)"
INACTIVE: Final = "Inactive"
STATUSES: Final[Mapping[str, Lifecycle]] = {ACTIVE: Lifecycle.ACTIVE, STARTING: Lifecycle.PENDING,
                                            INACTIVE: Lifecycle.INACTIVE}
_EMPTY_DATES: Final = frozenset({"", "0000-00-00"})


def text(value: Any) -> str | None:
    if value is None:
        return None
    shown = str(value).strip()
    return None if shown in _EMPTY_DATES else shown


def _date(value: Any) -> date | None:
    shown = text(value)
    if shown is None:
        return None
    try:
        return date.fromisoformat(shown[:10])
    except ValueError:
        return None


def normalise(row: Mapping[str, Any], termination: Any, table: Mapping[str, Lifecycle], today: date,
              wanted: Collection[str]) -> SourcePerson:
    """``termination``: the row's termination date including future-dated ones (``onlyCurrent=false``)."""
    hired = _date(row.get("hireDate"))
    ends = _date(termination) or _date(row.get("terminationDate"))
    if ends is not None and hired is not None and ends < hired:
        ends = None  # an earlier employment's end: the person was rehired since
    if text(row.get("status")) == INACTIVE or (ends is not None and ends <= today):
        status = INACTIVE
    elif hired is not None and hired > today:
        status = STARTING
    else:
        status = ACTIVE
    values: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for key in wanted:
        raw = row.get(key)
        if isinstance(raw, (dict, list)):
            problems[key] = f"BambooHR sent a {type(raw).__name__} where text was expected"
            continue
        values[key] = text(raw)
    if "terminationDate" in values:
        values["terminationDate"] = None if ends is None else ends.isoformat()
    return SourcePerson(
        source_id=str(row["id"]),
        employment_status=status,
        lifecycle=table[status],
        values=values,
        job_start_date=hired,
        job_end_date=None if ends is None else ends + timedelta(days=1),
        updated_at=text(row.get("lastChanged")),
        field_problems=problems,
    )
