"""From an intelliHR person (and optionally their primary job's details) to a :class:`SourcePerson`.

This is on the hot path (100,000 people per import), so it is plain dictionary work with no
per-field abstractions. The envelope was checked already; here the rule is leniency about values
(an odd date stays as text for the domain to flag as one record's warning) and strictness only
about what identifies a person and decides membership (``id``, ``employmentStatus``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any, Final

from hrsync.sources.base import Lifecycle, SourceError, SourcePerson, status_table

TEXT_FIELDS = (
    "employeeNumber",
    "firstName",
    "lastName",
    "middleName",
    "preferredName",
    "displayName",
    "title",
    "gender",
    "employmentStatus",
)
ADDRESS_FIELDS = ("street", "suburb", "state", "postcode", "country")
_ADDRESS_KEYS = {key: "address." + key for key in ADDRESS_FIELDS}
_NO_ADDRESS: dict[str, str | None] = dict.fromkeys(_ADDRESS_KEYS.values())
_CUSTOM_KEYS: dict[str, str] = {}
"""``apiName`` → ``custom.apiName``, built once per name rather than once per person."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_JOB_RANK = {"Current Job": 0, "Ending Job": 0, "Future Job": 1, "Past Job": 2}
JOB_DETAIL_KEYS = (
    "job.positionTitle",
    "job.businessUnit",
    "job.businessEntity",
    "job.location",
    "job.manager",
    "job.workType",
    "job.workClass",
)
NO_JOB_DETAILS: Mapping[str, str | None] = dict.fromkeys(JOB_DETAIL_KEYS)
#: ``job.custom.<apiName>``: a custom field of the person's primary job, read from ``/jobs``.
JOB_CUSTOM_PREFIX: Final = "job.custom."


class JobDetails(dict[str, "str | None"]):
    """One primary job's mappable values, with ``problems``: job custom fields that could not be read."""

    __slots__ = ("problems",)

    def __init__(self, values: dict[str, str | None], problems: Mapping[str, str] | None = None) -> None:
        super().__init__(values)
        self.problems: Mapping[str, str] = problems or _NO_PROBLEMS


class StatusMapper:
    """Employment status → lifecycle: the integration's overrides on top of the default table.

    An override need not repeat the whole table. A status nobody mapped stops the import with a
    message saying which one: guessing would either hide a leaver or create a mass of them.
    """

    def __init__(self, overrides: Mapping[str, Lifecycle] | None) -> None:
        table = status_table(overrides)
        self.table: Mapping[str, Lifecycle] = table
        self._exact = table
        self._folded = {k.casefold(): v for k, v in table.items()}

    def __call__(self, status: str) -> Lifecycle:
        found = self._exact.get(status)
        if found is None:
            found = self._folded.get(status.strip().casefold())
        if found is None:
            raise SourceError(
                f"intelliHR sent the employment status '{status[:60]}', which the integration's status "
                "mapping does not cover; add it to the mapping and import again",
                code="unknown_status",
            )
        return found


def _plain(value: Any) -> str | None:
    return value if value.__class__ is str and value and not value.isspace() else _text(value)


def _email_of(raw: dict[str, Any]) -> str | None:
    email = raw.get("primaryEmailAddress")
    return _text(email.get("email")) if email.__class__ is dict else _text(email)


def _phone_of(raw: dict[str, Any]) -> str | None:
    phone = raw.get("primaryPhoneNumber")
    return _text(phone.get("fullNumber") or phone.get("number")) if phone.__class__ is dict else _text(phone)


def _address_part(part: str) -> Any:
    def extract(raw: dict[str, Any]) -> str | None:
        address = _primary_address(raw.get("addresses"))
        return _plain(address.get(part)) if address else None

    return extract


#: How each person-level key is read, for imports that need only some keys (see ``wanted``).
_EXTRACTORS: dict[str, Any] = {
    **{key: (lambda k: lambda raw: _plain(raw.get(k)))(key) for key in TEXT_FIELDS},
    "dateOfBirth": lambda raw: _date_text(raw.get("dateOfBirth")),
    "autoIncrementIntellihrId": lambda raw: _text(raw.get("autoIncrementIntellihrId")),
    "isSupervisor": lambda raw: _text(raw.get("isSupervisor")),
    "primaryEmailAddress": _email_of,
    "primaryPhoneNumber": _phone_of,
    **{_ADDRESS_KEYS[part]: _address_part(part) for part in ADDRESS_FIELDS},
}


def normalise_person(
    raw: dict[str, Any],
    lifecycle_of: StatusMapper,
    job_details: Mapping[str, str | None] | None = None,
    wanted: frozenset[str] | None = None,
) -> SourcePerson:
    """One person; ``job_details`` (keys :data:`JOB_DETAIL_KEYS`) only when they were asked for.

    ``wanted`` (source field keys) limits ``values`` to those keys: an import needs only what its
    mapping reads, and normalising every field of 100,000 people would double its cost. The
    values it does produce are exactly those of a full normalisation.
    """
    person_id = raw["id"]  # the envelope check guarantees a non-empty string
    status = raw.get("employmentStatus")
    if not isinstance(status, str) or not status:
        raise SourceError(
            f"intelliHR sent person {person_id} without an employment status",
            code="unexpected_shape",
        )
    if wanted is not None:
        return _normalise_wanted(raw, person_id, status, lifecycle_of, job_details, wanted)
    get = raw.get
    values: dict[str, str | None] = {}
    for key in TEXT_FIELDS:
        value = get(key)
        # the common case inline (a non-blank string): this loop runs a million times per import
        values[key] = value if value.__class__ is str and value and not value.isspace() else _text(value)
    values["dateOfBirth"] = _date_text(get("dateOfBirth"))
    values["autoIncrementIntellihrId"] = _text(get("autoIncrementIntellihrId"))
    values["isSupervisor"] = _text(get("isSupervisor"))
    email = get("primaryEmailAddress")
    values["primaryEmailAddress"] = _text(email.get("email")) if email.__class__ is dict else _text(email)
    phone = get("primaryPhoneNumber")
    values["primaryPhoneNumber"] = (
        _text(phone.get("fullNumber") or phone.get("number")) if phone.__class__ is dict else _text(phone)
    )
    address = _primary_address(get("addresses"))
    if address:
        for key in ADDRESS_FIELDS:
            value = address.get(key)
            values[_ADDRESS_KEYS[key]] = (
                value if value.__class__ is str and value and not value.isspace() else _text(value)
            )
    else:
        values.update(_NO_ADDRESS)

    job = primary_job(get("jobs"))
    start_text = end_text = None
    if job is not None:
        start_text = _date_text(job.get("startDate"))
        end_text = _date_text(job.get("endDate"))
        values["job.name"] = _text(job.get("name"))
        values["job.jobStatus"] = _text(job.get("jobStatus"))
    else:
        values["job.name"] = values["job.jobStatus"] = None
    values["job.startDate"] = start_text
    values["job.endDate"] = end_text
    if job_details is not None:
        values.update(job_details)

    problems: dict[str, str] | None = None
    custom = get("customFields")
    if custom.__class__ is dict:
        keys = _CUSTOM_KEYS
        for api_name, entry in custom.items():
            custom_key = keys.get(api_name)
            if custom_key is None:
                custom_key = keys.setdefault(api_name, "custom." + api_name)
            value = entry.get("value") if entry.__class__ is dict else _ABSENT
            if value is None:
                values[custom_key] = None
            elif value.__class__ is str:  # TEXT, NUMBER, DATE, ...: the common case, inline
                values[custom_key] = value if value and not value.isspace() else None
            else:
                text = custom_text(value)
                if isinstance(text, _Unreadable):
                    problems = problems or {}
                    problems[custom_key] = _unreadable(api_name, entry)
                else:
                    values[custom_key] = text
            if entry.__class__ is dict and entry.get("type") == PEOPLE_DROPDOWN:
                values[custom_key + EMPLOYEE_NUMBER_SUFFIX] = dropdown_employee_number(entry.get("value"))
    if isinstance(job_details, JobDetails) and job_details.problems:
        problems = {**(problems or {}), **job_details.problems}
    return _person(raw, person_id, status, lifecycle_of, values, job, start_text, end_text, problems)


def _unreadable(api_name: str, entry: Any, model: str = "") -> str:
    """Why a custom field could not be read, naming the field (its human name when it has one).

    ``model`` is ``"job "`` for a custom field of the primary job.
    """
    if entry.__class__ is not dict:
        return f"intelliHR sent the {model}custom field '{api_name}' in a shape hrsync does not read"
    name = entry.get("name")
    shown = f"'{name}' ({api_name})" if isinstance(name, str) and name and name != api_name else f"'{api_name}'"
    kind = entry.get("type")
    kind_text = f" of type {str(kind)[:40]}" if isinstance(kind, str) and kind else ""
    return f"intelliHR sent the {model}custom field {shown}{kind_text} as a value hrsync cannot read"


def _person(
    raw: dict[str, Any],
    person_id: str,
    status: str,
    lifecycle_of: StatusMapper,
    values: dict[str, str | None],
    job: dict[str, Any] | None,
    start_text: str | None,
    end_text: str | None,
    problems: dict[str, str] | None = None,
) -> SourcePerson:
    updated = raw.get("updatedAt")
    return SourcePerson(
        source_id=person_id,
        employment_status=status,
        lifecycle=lifecycle_of(status),
        values=values,
        job_start_date=_as_date(start_text),
        job_end_date=_as_date(end_text),
        updated_at=updated if isinstance(updated, str) else None,
        extras={"primaryJobId": job.get("id") if job is not None else None},
        field_problems=problems or _NO_PROBLEMS,
    )


def _normalise_wanted(
    raw: dict[str, Any],
    person_id: str,
    status: str,
    lifecycle_of: StatusMapper,
    job_details: Mapping[str, str | None] | None,
    wanted: frozenset[str],
) -> SourcePerson:
    values: dict[str, str | None] = {}
    problems: dict[str, str] | None = None
    custom: Any = None
    for key in wanted:
        extract = _EXTRACTORS.get(key)
        if extract is not None:
            values[key] = extract(raw)
        elif key.startswith("custom."):
            if custom is None:
                custom = raw.get("customFields")
                custom = custom if custom.__class__ is dict else {}
            api_name = key[7:]
            entry = custom.get(api_name, _ABSENT)
            if entry is _ABSENT and api_name.endswith(EMPLOYEE_NUMBER_SUFFIX):
                dropdown = custom.get(api_name[: -len(EMPLOYEE_NUMBER_SUFFIX)])
                if dropdown.__class__ is dict and dropdown.get("type") == PEOPLE_DROPDOWN:
                    values[key] = dropdown_employee_number(dropdown.get("value"))
                continue
            if entry is _ABSENT:  # not delivered: absent, as in a full normalisation
                continue
            value = entry.get("value") if entry.__class__ is dict else _ABSENT
            text = None if value is None else custom_text(value)
            if isinstance(text, _Unreadable):
                problems = problems or {}
                problems[key] = _unreadable(api_name, entry)
            else:
                values[key] = text
    job = primary_job(raw.get("jobs"))
    start_text = _date_text(job.get("startDate")) if job is not None else None
    end_text = _date_text(job.get("endDate")) if job is not None else None
    for key in wanted & _JOB_SUMMARY_KEYS:
        if key == "job.startDate":
            values[key] = start_text
        elif key == "job.endDate":
            values[key] = end_text
        else:
            values[key] = _text(job.get(key[4:])) if job is not None else None
    if job_details is not None:
        values.update((k, v) for k, v in job_details.items() if k in wanted)
        job_problems = job_details.problems if isinstance(job_details, JobDetails) else None
        if job_problems:
            wanted_problems = {k: v for k, v in job_problems.items() if k in wanted}
            if wanted_problems:
                problems = {**(problems or {}), **wanted_problems}
    return _person(raw, person_id, status, lifecycle_of, values, job, start_text, end_text, problems)


_ABSENT = object()
_JOB_SUMMARY_KEYS = frozenset({"job.name", "job.jobStatus", "job.startDate", "job.endDate"})


def primary_job(jobs: Any) -> dict[str, Any] | None:
    """The job summary flagged ``isPrimaryJob`` (Current/Ending before Future before Past, newest first).

    intelliHR lists summaries newest first. Should no summary carry the flag, the same preference
    picks among all of them, so a person with jobs never looks jobless.
    """
    if jobs.__class__ is not list or not jobs:
        return None
    best: dict[str, Any] | None = None
    best_rank = 99
    best_flagged = False
    for job in jobs:  # newest first, so the first of the best rank wins
        if job.__class__ is not dict:
            continue
        flagged = job.get("isPrimaryJob") is True
        if best_flagged and not flagged:
            continue
        status = job.get("jobStatus")
        rank = _JOB_RANK.get(status, 3) if status.__class__ is str else 3  # a list or object: unknown
        if (flagged and not best_flagged) or rank < best_rank:
            best, best_rank, best_flagged = job, rank, flagged
    return best


def job_details_values(job: Mapping[str, Any]) -> JobDetails:
    """The mappable details of one ``/jobs`` record, its custom fields (``job.custom.<apiName>``) included.

    Job custom values are read by type exactly as a person's (:func:`custom_text`); one in a shape
    hrsync does not read is left out of the values and reported in ``problems``, naming the field.
    """
    values = {
        "job.positionTitle": _named(job.get("positionTitle")),
        "job.businessUnit": _named(job.get("businessUnit")),
        "job.businessEntity": _named(job.get("businessEntity")),
        "job.location": _named(job.get("location")),
        "job.manager": _person_name(job.get("supervisorPerson")),
        "job.workType": _text(job.get("workType")),
        "job.workClass": _text(job.get("workClass")),
    }
    problems: dict[str, str] | None = None
    custom = job.get("customFields")
    if custom.__class__ is dict:
        for api_name, entry in custom.items():
            if not isinstance(api_name, str) or not api_name:
                continue
            key = JOB_CUSTOM_PREFIX + api_name
            value = entry.get("value") if entry.__class__ is dict else _ABSENT
            text = None if value is None else custom_text(value)
            if isinstance(text, _Unreadable):
                problems = problems or {}
                problems[key] = _unreadable(api_name, entry, "job ")
            else:
                values[key] = text
            if entry.__class__ is dict and entry.get("type") == PEOPLE_DROPDOWN:
                values[key + EMPLOYEE_NUMBER_SUFFIX] = dropdown_employee_number(entry.get("value"))
    return JobDetails(values, problems)


class _Unreadable:
    """A custom value in a shape no published type has (see ``tests/data/intellihr/README.md``)."""

    def __repr__(self) -> str:
        return "UNREADABLE"


UNREADABLE: Final = _Unreadable()
PEOPLE_DROPDOWN = "PEOPLE_DROPDOWN"
#: ``custom.<apiName>.employeeNumber``: the employee number of the person a PEOPLE_DROPDOWN names.
EMPLOYEE_NUMBER_SUFFIX = ".employeeNumber"
_NO_PROBLEMS: Mapping[str, str] = MappingProxyType({})


def custom_text(value: Any) -> str | _Unreadable | None:
    """A custom field's value as text, by its published shape (the shapes of the types do not overlap):

    * a string (TEXT, NUMBER as ``"50"``, DATE, other scalar types): itself; a bare number: its digits;
    * SINGLE_SELECT ``{id, label}``: the label;
    * MULTI_SELECT ``{ids, labels}``: the labels in their order, joined with ", " (one CSV cell);
    * PEOPLE_DROPDOWN ``{options: {job, person}}``: the person's display name.

    ``None`` when unset or blank; :data:`UNREADABLE` for any other shape (a future type, say), which
    the caller must report rather than blank.
    """
    if value is None or value.__class__ is str:
        return _text(value)
    if isinstance(value, (bool, int, float)):
        return _text(value)
    if isinstance(value, dict):
        label = value.get("label", _ABSENT)
        if "id" in value and (label is None or isinstance(label, str)) and len(value) == 2:
            return _text(label)
        labels = value.get("labels")
        if isinstance(labels, list) and "ids" in value and len(value) == 2:
            if not all(item is None or isinstance(item, str) for item in labels):
                return UNREADABLE
            parts = [item for item in labels if item and not item.isspace()]
            return ", ".join(parts) if parts else None
        options = value.get("options", _ABSENT)
        if len(value) == 1 and (options is None or isinstance(options, dict)):
            person = options.get("person") if options else None
            if person is None:
                return None
            if isinstance(person, dict):
                name = person.get("displayName")
                if name is None or isinstance(name, str):
                    return _text(name)
    return UNREADABLE


def dropdown_employee_number(value: Any) -> str | None:
    """The employee number of the person a PEOPLE_DROPDOWN value names (``None`` if none or unreadable)."""
    if isinstance(value, dict):
        options = value.get("options")
        person = options.get("person") if isinstance(options, dict) else None
        if isinstance(person, dict):
            return _text(person.get("employeeNumber"))
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value and not value.isspace() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None  # an object where text belongs: nothing we could show faithfully


def _date_text(value: Any) -> str | None:
    """``YYYY-MM-DD`` from a date or an RFC 3339 datetime (its calendar date as written)."""
    if value is None:
        return None
    text = _text(value)
    if text is None:
        return None
    if len(text) > 10 and _DATE.match(text):
        return text[:10]
    return text  # a plain date as is; anything else passed on for validation to flag


def _as_date(text: str | None) -> date | None:
    if text is None or len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _primary_address(addresses: Any) -> dict[str, Any] | None:
    if not isinstance(addresses, list):
        return None
    first: dict[str, Any] | None = None
    for address in addresses:
        if isinstance(address, dict):
            if address.get("isPrimary") is True:
                return address
            if first is None:
                first = address
    return first


def _named(value: Any) -> str | None:
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _person_name(value: Any) -> str | None:
    if isinstance(value, dict):
        name = _text(value.get("displayName")) or _text(value.get("name"))
        if name:
            return name
        parts = [p for p in (_text(value.get("firstName")), _text(value.get("lastName"))) if p]
        return " ".join(parts) if parts else None
    return _text(value)
