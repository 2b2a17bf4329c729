"""How the test back door changes a person: fields by their API names, new jobs, a hire's first jobs.

Pure functions on :class:`~hrsync.simulator.model.PersonState`; :class:`~hrsync.simulator.directory.Directory`
calls them under its lock and records the change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Final

from hrsync.simulator.ids import JOB, MAX_JOBS_PER_PERSON, IdCodec
from hrsync.simulator.model import (
    CURRENT_STAFF,
    EXITING_STAFF,
    GENDERS,
    PAST_STAFF,
    RETURNING_STAFF,
    UPCOMING_STAFF,
    JobState,
    PersonState,
)
from hrsync.simulator.reference import Reference

#: A job for the person being changed: ``(start, end, like)`` → the job (``like``: copy its details).
MakeJob = Callable[[date, date | None, JobState | None], JobState]

_TEXT_FIELDS: Final = {
    "title": "title",
    "firstName": "first_name",
    "middleName": "middle_name",
    "preferredName": "preferred_name",
    "employeeNumber": "employee_number",
}


def as_date(value: Any, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} must be a YYYY-MM-DD date") from None


def check_custom(custom: dict[str, Any], known: Collection[str]) -> None:
    unknown = set(custom) - set(known)
    if unknown:
        raise ValueError(f"unknown custom fields: {', '.join(sorted(unknown))}")


def new_job(
    person: PersonState, start: date, end: date | None, like: JobState | None, created: datetime, *,
    codec: IdCodec, reference: Reference, has_supervisor: bool,
) -> JobState:
    """The person's next job (primary), with ``like``'s details or the defaults of a new hire."""
    seq = max((j.seq for j in person.jobs), default=-1) + 1
    if seq >= MAX_JOBS_PER_PERSON:
        raise ValueError("this person already has the maximum number of jobs")
    position = like.position if like else person.index % len(reference.position_titles)
    return JobState(
        id=codec.encode(JOB, person.index * MAX_JOBS_PER_PERSON + seq),
        seq=seq,
        position=position,
        business_unit=reference.position_titles[position].business_unit,
        business_entity=like.business_entity if like else 0,
        location=like.location if like else 0,
        supervisor=like.supervisor if like else (0 if person.index > 0 and has_supervisor else None),
        work_type=like.work_type if like else "Permanent",
        work_class=like.work_class if like else "Full-Time",
        start=start,
        end=end,
        is_primary=True,
        on_extended_leave=False,
        salary=like.salary if like else 80000,
        created_at=created,
        updated_at=created,
    )


def hired(
    base: PersonState, *, first_name: str, last_name: str, email: str | None, employee_number: str | None,
    custom: dict[str, Any], custom_fields: Collection[str], created: datetime,
) -> PersonState:
    """A clean generated person made into the hire the caller described, without jobs yet."""
    return replace(
        base,
        first_name=first_name,
        last_name=last_name,
        middle_name=None,
        preferred_name=None,
        email=email,
        personal_email=None,
        employee_number=employee_number,
        custom={**dict.fromkeys(custom_fields), **custom},
        is_supervisor=False,
        created_at=created,
        updated_at=created,
        jobs=[],
        user_account=None,
        medical_conditions=[],
    )


def first_jobs(person: PersonState, status: str, start_date: date | None, today: date, make_job: MakeJob) -> None:
    """Give a hire the jobs that make ``status`` true today (none for No Job Records).

    ``start_date`` defaults by status: today (current), in 14 days (upcoming, returning).
    """
    if status == CURRENT_STAFF:
        person.jobs.append(make_job(start_date or today, None, None))
    elif status == EXITING_STAFF:
        person.jobs.append(make_job(start_date or today - timedelta(days=90), today + timedelta(days=30), None))
    elif status == UPCOMING_STAFF:
        person.jobs.append(make_job(start_date or today + timedelta(days=14), None, None))
    elif status == RETURNING_STAFF:
        old = make_job(today - timedelta(days=800), today - timedelta(days=400), None)
        old.is_primary = False
        person.jobs.append(old)
        person.jobs.append(make_job(start_date or today + timedelta(days=14), None, old))
    elif status == PAST_STAFF:
        start = start_date or today - timedelta(days=400)
        person.jobs.append(make_job(start, max(start + timedelta(days=1), today - timedelta(days=30)), None))


def field_updater(
    person: PersonState, name: str, value: Any, custom_fields: Collection[str]
) -> Callable[[], None]:
    """Check one change by its API name and return what applies it (so all are checked first)."""
    if name in _TEXT_FIELDS:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string or null")
        attr = _TEXT_FIELDS[name]
        return lambda: setattr(person, attr, value)
    if name == "lastName":
        if not isinstance(value, str) or not value:
            raise ValueError("lastName must be a non-empty string")
        return lambda: setattr(person, "last_name", value)
    if name == "dateOfBirth":
        born = as_date(value, name)
        return lambda: setattr(person, "date_of_birth", born)
    if name == "gender":
        if value not in GENDERS:
            raise ValueError(f"gender must be one of {', '.join(GENDERS)}")
        return lambda: setattr(person, "gender", value)
    if name == "primaryEmailAddress":
        return _email_updater(person, value)
    if name == "primaryPhoneNumber":
        return _phone_updater(person, value)
    if name == "customFields":
        if not isinstance(value, dict):
            raise ValueError("customFields must be an object keyed by api name")
        check_custom(value, custom_fields)
        return lambda: person.custom.update(value)
    if name == "isSupervisor":
        if not isinstance(value, bool):
            raise ValueError("isSupervisor must be a boolean")
        return lambda: setattr(person, "is_supervisor", value)
    if name == "isOnExtendedLeave":
        if not isinstance(value, bool):
            raise ValueError("isOnExtendedLeave must be a boolean")
        primary = person.primary_job()
        if primary is None:
            raise ValueError("this person has no job to be on leave from")
        return lambda: setattr(primary, "on_extended_leave", value)
    raise ValueError(f"{name} cannot be changed through the simulator")


def _email_updater(person: PersonState, value: Any) -> Callable[[], None]:
    if value is None:
        return lambda: setattr(person, "email", None)
    if isinstance(value, str):
        email, personal = value, False
    elif isinstance(value, dict) and isinstance(value.get("email"), str):
        email, personal = value["email"], bool(value.get("isPersonal", False))
    else:
        raise ValueError("primaryEmailAddress must be a string, {email, isPersonal} or null")

    def set_email() -> None:
        person.email, person.email_is_personal = email, personal

    return set_email


def _phone_updater(person: PersonState, value: Any) -> Callable[[], None]:
    if value is None:
        return lambda: setattr(person, "phone", None)
    if isinstance(value, str):
        phone = (value, value)
    elif isinstance(value, dict) and isinstance(value.get("number"), str):
        phone = (value["number"], str(value.get("fullNumber") or value["number"]))
    else:
        raise ValueError("primaryPhoneNumber must be a string, {number, fullNumber} or null")
    return lambda: setattr(person, "phone", phone)
