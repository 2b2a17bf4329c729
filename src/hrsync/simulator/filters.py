"""The API's ``filters[<name>][eq]`` on people and jobs: one predicate per filter, all must hold.

intelliHR combines filters with AND. A value the API would reject raises :class:`FilterError`
(the HTTP layer answers 400); unknown filter names are rejected by the HTTP layer first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta

from hrsync.simulator.ids import JOB, MAX_JOBS_PER_PERSON, IdCodec
from hrsync.simulator.model import JobState, PersonState, utc_now

Filters = dict[str, str]


class FilterError(ValueError):
    """A filter value the API would reject with 400."""


def parse_bool(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise FilterError(f"filters[{name}][eq] must be 'true' or 'false'")
    return lowered == "true"


def parse_days(value: str, name: str) -> float:
    try:
        days = float(value)
    except ValueError:
        raise FilterError(f"filters[{name}][eq] must be a number of days") from None
    if days < 0 or days != days or days == float("inf"):
        raise FilterError(f"filters[{name}][eq] must be a non-negative number of days")
    return days


def person_matcher(filters: Filters, today: date) -> Callable[[PersonState], bool]:
    checks = [_person_check(name, value, today) for name, value in filters.items()]
    return lambda p: all(check(p) for check in checks)


def job_matcher(filters: Filters, today: date) -> Callable[[PersonState, JobState], bool]:
    checks = [_job_check(name, value, today) for name, value in filters.items()]
    return lambda p, j: all(check(p, j) for check in checks)


def candidate_people(filters: Filters, codec: IdCodec, changed: Iterable[int]) -> set[int] | None:
    """Person indices that may match, where a filter pins the person down cheaply; ``None``: anyone.

    Generated people's employee numbers and e-mail addresses follow from their index; ``changed``
    people (the overlay) may carry any value, so they are always candidates.
    """
    if "jobId" in filters:
        narrowed = set()
        for job_id in filters["jobId"].split(","):
            n = codec.decode(JOB, job_id.strip())
            if n is not None:
                narrowed.add(n // MAX_JOBS_PER_PERSON)
        return narrowed
    if "employeeNumber" in filters:
        value = filters["employeeNumber"]
        narrowed = set(changed)
        if value[:1] == "E" and value[1:].isdigit():
            n = int(value[1:])
            narrowed |= {n - 1, n}  # own number, or the duplicate right after it
        return narrowed
    if "primaryEmailAddress" in filters:
        value = filters["primaryEmailAddress"]
        narrowed = set(changed)
        local = value.split("@", 1)[0]
        tail = local.rsplit(".", 1)[-1]
        if tail.isdigit():
            n = int(tail) - 1000
            narrowed |= {n, n + 1}
        return narrowed
    return None


def page_of(rows: Sequence[int], offset: int, limit: int, descending: bool) -> list[int]:
    """The rows of one page, counted from the newest end when ``descending``."""
    total = len(rows)
    if descending:
        start, stop = max(total - offset - limit, 0), max(total - offset, 0)
        return list(reversed(rows[start:stop]))
    return list(rows[offset : offset + limit])


def _person_check(name: str, value: str, today: date) -> Callable[[PersonState], bool]:
    if name == "employeeNumber":
        return lambda p: p.employee_number == value
    if name == "primaryEmailAddress":
        folded = value.casefold()
        return lambda p: p.email is not None and p.email.casefold() == folded
    if name == "name":
        return lambda p: p.matches_name(value)
    if name == "updatedWithin":
        since = utc_now() - timedelta(days=parse_days(value, name))
        return lambda p: p.updated_at >= since
    if name == "isOnExtendedLeave":
        wanted = parse_bool(value, name)
        return lambda p: p.on_extended_leave(today) == wanted
    if name == "jobId":
        job_ids = {v.strip().lower() for v in value.split(",")}
        return lambda p: any(j.id in job_ids for j in p.jobs)
    if name == "autoIncrementIntellihrId":
        try:
            number = float(value)
        except ValueError:
            raise FilterError("filters[autoIncrementIntellihrId][eq] must be a number") from None
        return lambda p: p.auto_id == number
    raise FilterError(f"unknown filter {name}")  # pragma: no cover - the HTTP layer rejects these first


def _job_check(name: str, value: str, today: date) -> Callable[[PersonState, JobState], bool]:
    if name == "personId":
        person_ids = {v.strip().lower() for v in value.split(",")}
        return lambda p, j: p.id in person_ids
    if name == "jobStatus":
        return lambda p, j: j.status(today) == value
    if name == "isPrimaryJob":
        flag = parse_bool(value, name)
        return lambda p, j: j.is_primary == flag
    if name == "updatedWithin":
        since = utc_now() - timedelta(days=parse_days(value, name))
        return lambda p, j: j.updated_at >= since
    if name == "jobId":
        job_ids = {v.strip().lower() for v in value.split(",")}
        return lambda p, j: j.id in job_ids
    if name == "employeeNumber":
        return lambda p, j: p.employee_number == value
    raise FilterError(f"unknown filter {name}")  # pragma: no cover - the HTTP layer rejects these first
