"""What a BambooHR integration can map: the standard fields (BambooHR's aliases and labels) and the
account's custom fields, found in ``GET /v1/meta/fields`` and offered by their names.

``GET /v1/meta/fields`` lists every field of the account, hundreds of them (pay rates, tax numbers …).
hrsync offers the standard fields a membership needs (below) and the account's **custom** fields:
those whose alias starts with ``custom`` (the alias BambooHR gives a custom field) or that have no
alias at all (asked for by their number). Deprecated fields are left out. Each is keyed by what the
report asks for: its alias, or its number when it has none.
"""

from __future__ import annotations

from typing import Any, Final

from hrsync.sources.base import FieldGroup, SourceField

ID_KEY: Final = "id"
ID_LABEL: Final = "BambooHR employee ID"

_P, _J = FieldGroup.PERSON, FieldGroup.JOB

STANDARD_FIELDS: Final[tuple[SourceField, ...]] = (
    SourceField(ID_KEY, ID_LABEL, _P),
    SourceField("employeeNumber", "Employee #", _P),
    SourceField("workEmail", "Work Email", _P, "email"),
    SourceField("homeEmail", "Home Email", _P, "email"),
    SourceField("firstName", "First Name", _P),
    SourceField("middleName", "Middle Name", _P),
    SourceField("lastName", "Last Name", _P),
    SourceField("preferredName", "Preferred Name", _P),
    SourceField("displayName", "Display Name", _P),
    SourceField("gender", "Gender", _P),
    SourceField("dateOfBirth", "Birth Date", _P, "date", sensitive=True),
    SourceField("mobilePhone", "Mobile Phone", _P),
    SourceField("workPhone", "Work Phone", _P),
    SourceField("country", "Country", _P),
    SourceField("status", "Status (Active or Inactive)", _J),
    SourceField("employmentHistoryStatus", "Employment Status", _J, "select"),
    SourceField("hireDate", "Hire Date", _J, "date"),
    SourceField("originalHireDate", "Original Hire Date", _J, "date"),
    SourceField("terminationDate", "Termination Date", _J, "date"),
    SourceField("jobTitle", "Job Title", _J, "select"),
    SourceField("department", "Department", _J, "select"),
    SourceField("division", "Division", _J, "select"),
    SourceField("location", "Location", _J, "select"),
    SourceField("supervisor", "Reporting to", _J, "person"),
    SourceField("supervisorEId", "Reporting to (employee ID)", _J),
)
STANDARD_KEYS: Final = frozenset(f.key for f in STANDARD_FIELDS)
#: Read for every person whatever is mapped: they decide the status and the dates.
STATUS_KEYS: Final = ("status", "hireDate", "terminationDate", "lastChanged")

_KINDS: Final = {"date": "date", "email": "email", "checkbox": "boolean", "list": "select", "int": "number",
                 "currency": "number", "employee": "person", "multilist": "multiselect"}


def custom_fields(listing: Any) -> list[SourceField]:
    """The custom fields of a ``/meta/fields`` answer, by their names; entries of another shape are skipped."""
    found: dict[str, SourceField] = {}
    for entry in listing if isinstance(listing, list) else []:
        if not isinstance(entry, dict) or entry.get("deprecated") is True:
            continue
        alias, ident, name = entry.get("alias"), entry.get("id"), entry.get("name")
        if not isinstance(name, str) or not name.strip() or isinstance(ident, bool):
            continue
        if isinstance(alias, str) and alias.strip():
            if not alias.startswith("custom") or alias in STANDARD_KEYS:
                continue
            key = alias.strip()
        elif isinstance(ident, (int, str)) and str(ident).strip():
            key = str(ident).strip()
        else:
            continue
        kind = _KINDS.get(str(entry.get("type") or ""), "text")
        found.setdefault(key, SourceField(key, name.strip(), FieldGroup.CUSTOM, kind))
    return list(found.values())
