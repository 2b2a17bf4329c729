"""What an administrator can map: intelliHR's standard fields and the tenant's custom fields.

The keys are a contract with the domain's default mapping (``employeeNumber`` → Unique ID,
``primaryEmailAddress`` → Email, ...), so they are spelled once, here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hrsync.sources.base import FieldGroup, SourceField
from hrsync.sources.intellihr.normalise import EMPLOYEE_NUMBER_SUFFIX

P, J, C = FieldGroup.PERSON, FieldGroup.JOB, FieldGroup.CUSTOM

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
    SourceField("dateOfBirth", "Date of birth", P, "date"),
    SourceField("primaryPhoneNumber", "Primary phone number", P),
    SourceField("employmentStatus", "Employment status", P, "select"),
    SourceField("autoIncrementIntellihrId", "intelliHR ID", P, "number"),
    SourceField("isSupervisor", "Is a supervisor", P, "boolean"),
    SourceField("address.street", "Address: street", P),
    SourceField("address.suburb", "Address: suburb", P),
    SourceField("address.state", "Address: state", P),
    SourceField("address.postcode", "Address: postcode", P),
    SourceField("address.country", "Address: country", P),
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


def custom_fields(people: Iterable[dict[str, Any]]) -> list[SourceField]:
    """The custom fields seen on these people, by api name, in first-seen order.

    intelliHR has no endpoint listing custom field definitions; every person carries every
    definition of the tenant (``value`` null when unset), so the first page is enough in practice.
    """
    found: dict[str, SourceField] = {}
    for person in people:
        custom = person.get("customFields")
        if not isinstance(custom, dict):
            continue
        for api_name, entry in custom.items():
            if api_name in found or not isinstance(api_name, str) or not api_name:
                continue
            entry = entry if isinstance(entry, dict) else {}
            name = entry.get("name")
            label = name if isinstance(name, str) and name else api_name
            kind = _CUSTOM_KINDS.get(str(entry.get("type") or "").upper(), "text")
            found[api_name] = SourceField(f"custom.{api_name}", str(label), C, kind)
            if kind == "person":  # the named person's employee number, as a field of its own
                key = f"custom.{api_name}{EMPLOYEE_NUMBER_SUFFIX}"
                found[key] = SourceField(key, f"{label}: employee number", C)
    return list(found.values())
