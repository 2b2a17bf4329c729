"""What an administrator can map: intelliHR's standard fields and the tenant's custom fields.

The keys are a contract with the domain's default mapping (``employeeNumber`` → Unique ID,
``primaryEmailAddress`` → Email, ...), so they are spelled once, here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hrsync.sources.base import FieldGroup, SourceField
from hrsync.sources.intellihr.normalise import EMPLOYEE_NUMBER_SUFFIX, JOB_CUSTOM_PREFIX

P, J, C, JC = FieldGroup.PERSON, FieldGroup.JOB, FieldGroup.CUSTOM, FieldGroup.JOB_CUSTOM

STANDARD_FIELDS: tuple[SourceField, ...] = (
    SourceField("employeeNumber", "Employee number", P),
    SourceField("primaryEmailAddress", "Primary email address", P, "email"),
    SourceField("firstName", "First name", P),
    SourceField("lastName", "Last name", P),
    SourceField("middleName", "Middle name", P),
    SourceField("preferredName", "Preferred name", P),
    SourceField("displayName", "Display name", P),
    SourceField("title", "Title", P),
    SourceField("gender", "Gender", P, "select"),
    SourceField("dateOfBirth", "Date of birth", P, "date", personal=True),
    SourceField("primaryPhoneNumber", "Primary phone number", P, personal=True),
    SourceField("employmentStatus", "Employment status", P, "select"),
    SourceField("autoIncrementIntellihrId", "intelliHR ID", P, "number"),
    SourceField("isSupervisor", "Is a supervisor", P, "boolean"),
    SourceField("address.street", "Address: street", P, personal=True),
    SourceField("address.suburb", "Address: suburb", P, personal=True),
    SourceField("address.state", "Address: state", P, personal=True),
    SourceField("address.postcode", "Address: postcode", P, personal=True),
    SourceField("address.country", "Address: country", P, personal=True),
    SourceField("job.name", "Job name", J),
    SourceField("job.startDate", "Job start date", J, "date"),
    SourceField("job.endDate", "Job end date (the day after the last day)", J, "date"),
    SourceField("job.jobStatus", "Job status", J, "select"),
    SourceField("job.positionTitle", "Position title", J, needs_job_details=True),
    SourceField("job.businessUnit", "Business unit", J, needs_job_details=True),
    SourceField("job.businessEntity", "Business entity", J, needs_job_details=True),
    SourceField("job.location", "Location", J, needs_job_details=True),
    SourceField("job.manager", "Manager", J, "person", needs_job_details=True),
    SourceField("job.workType", "Work type", J, needs_job_details=True),
    SourceField("job.workClass", "Work class", J, needs_job_details=True),
)

_CUSTOM_KINDS = {
    "TEXT": "text",
    "NUMBER": "number",
    "SINGLE_SELECT": "select",
    "MULTI_SELECT": "multiselect",
    "PEOPLE_DROPDOWN": "person",
}


def _kind(type_name: Any) -> str:
    return _CUSTOM_KINDS.get(str(type_name or "").upper(), "text")


def _add(found: dict[str, SourceField], key: str, label: str, group: FieldGroup, kind: str,
         sensitive: bool = False) -> None:
    job = group is JC
    found[key] = SourceField(key, label, group, kind, needs_job_details=job, sensitive=sensitive)
    if kind == "person":  # the named person's employee number, as a field of its own
        number = key + EMPLOYEE_NUMBER_SUFFIX
        found[number] = SourceField(number, f"{label}: employee number", group, needs_job_details=job,
                                    sensitive=sensitive)


def definition_fields(definitions: Iterable[Any]) -> list[SourceField]:
    """The mappable custom fields from ``GET /custom-field-definitions`` records, in the order listed.

    Enabled PERSON definitions become ``custom.<apiName>``, enabled JOB ones ``job.custom.<apiName>``
    (read from ``/jobs``, so they need job details); other model types (addresses, training, ...) and
    disabled definitions are left out. Each is labelled with its human ``name`` and marked sensitive
    when the definition says ``isSensitive``.
    """
    found: dict[str, SourceField] = {}
    for definition in definitions:
        if not isinstance(definition, dict) or definition.get("isEnabled") is not True:
            continue
        api_name = definition.get("apiName")
        model = definition.get("modelType")
        if not isinstance(api_name, str) or not api_name or model not in ("PERSON", "JOB"):
            continue
        key = f"custom.{api_name}" if model == "PERSON" else f"{JOB_CUSTOM_PREFIX}{api_name}"
        if key in found:
            continue
        name = definition.get("name")
        label = name.strip() if isinstance(name, str) and name.strip() else api_name
        _add(found, key, label, C if model == "PERSON" else JC, _kind(definition.get("type")),
             definition.get("isSensitive") is True)
    return sorted(found.values(), key=lambda f: f.group is JC)  # person ones first, each in listed order


def custom_fields(people: Iterable[dict[str, Any]]) -> list[SourceField]:
    """The person custom fields seen on these people, by api name, in first-seen order.

    The fallback when ``/custom-field-definitions`` cannot be read: every person carries every
    enabled definition of the tenant (``value`` null when unset), so the first page is enough in
    practice. Job custom fields and sensitivity cannot be learnt this way.
    """
    found: dict[str, SourceField] = {}
    for person in people:
        custom = person.get("customFields")
        if not isinstance(custom, dict):
            continue
        for api_name, entry in custom.items():
            if not isinstance(api_name, str) or not api_name or f"custom.{api_name}" in found:
                continue
            entry = entry if isinstance(entry, dict) else {}
            name = entry.get("name")
            label = name if isinstance(name, str) and name else api_name
            _add(found, f"custom.{api_name}", str(label), C, _kind(entry.get("type")))
    return list(found.values())
