"""The simulated account's employee fields, as ``GET /v1/meta/fields`` lists them.

BambooHR names every employee field twice: a field ID (a number for top-level fields, a dotted
string for sub-fields) and, for most fields, an API alias such as ``workEmail``. Reports and the
Get Employee endpoint accept either. Standard fields carry their documented alias; the account's
custom fields get the ``custom…`` aliases BambooHR gives custom fields, except one that has none and
can be asked for by its number only (as the spec says: "alias … only present when the field has an
alias"). The numbers are the simulator's own: BambooHR's real field numbers differ per account for
custom fields and are not promised for standard ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One employee field: ``id`` (what ``meta/fields`` lists), display ``name``, data ``type``, ``alias``."""

    id: int
    name: str
    type: str
    alias: str | None
    custom: bool = False

    @property
    def key(self) -> str:
        """How the simulator's records store the value: the alias, or the number for alias-less fields."""
        return self.alias or str(self.id)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "name": self.name, "type": self.type}
        if self.alias:
            out["alias"] = self.alias
        return out


STANDARD_FIELDS: tuple[FieldDef, ...] = (
    FieldDef(1, "First Name", "text", "firstName"),
    FieldDef(2, "Last Name", "text", "lastName"),
    FieldDef(3, "Middle Name", "text", "middleName"),
    FieldDef(4, "Preferred Name", "text", "preferredName"),
    FieldDef(5, "Display Name", "text", "displayName"),
    FieldDef(6, "Employee #", "text", "employeeNumber"),
    FieldDef(7, "Work Email", "email", "workEmail"),
    FieldDef(8, "Home Email", "email", "homeEmail"),
    FieldDef(9, "Status", "status", "status"),
    FieldDef(10, "Hire Date", "date", "hireDate"),
    FieldDef(11, "Original Hire Date", "date", "originalHireDate"),
    FieldDef(12, "Termination Date", "date", "terminationDate"),
    FieldDef(13, "Employment Status", "list", "employmentHistoryStatus"),
    FieldDef(14, "Department", "list", "department"),
    FieldDef(15, "Division", "list", "division"),
    FieldDef(16, "Job Title", "list", "jobTitle"),
    FieldDef(17, "Location", "list", "location"),
    FieldDef(18, "Reporting to", "employee", "supervisor"),
    FieldDef(19, "Supervisor employee ID", "int", "supervisorEId"),
    FieldDef(20, "Mobile Phone", "phone", "mobilePhone"),
    FieldDef(21, "Work Phone", "phone", "workPhone"),
    FieldDef(22, "Gender", "gender", "gender"),
    FieldDef(23, "Birth Date", "date", "dateOfBirth"),
    FieldDef(24, "Country", "country", "country"),
    FieldDef(25, "Last changed", "timestamp", "lastChanged"),
)

CUSTOM_FIELDS: tuple[FieldDef, ...] = (
    FieldDef(4001, "Shirt size", "list", "customShirtSize", custom=True),
    FieldDef(4002, "Cost centre", "text", "customCostCentre", custom=True),
    FieldDef(4003, "Rewards opt-in", "checkbox", None, custom=True),
)

ALL_FIELDS: tuple[FieldDef, ...] = STANDARD_FIELDS + CUSTOM_FIELDS

#: The fields the employee directory (``GET /v1/employees/directory``) shows, in its order.
DIRECTORY_FIELDS: tuple[str, ...] = (
    "displayName", "firstName", "lastName", "preferredName", "jobTitle", "workPhone", "mobilePhone",
    "workEmail", "department", "location", "division", "supervisor", "photoUploaded", "photoUrl",
    "canUploadPhoto",
)
DIRECTORY_EXTRA = {  # directory-only keys that are not employee fields in meta/fields
    "photoUploaded": ("Employee photo", "bool"),
    "photoUrl": ("Photo URL", "url"),
    "canUploadPhoto": ("Can upload photo", "bool"),
}

DATE_TYPES = frozenset({"date"})
MAX_FIELDS = 400  # documented: at most 400 fields per report or Get Employee request


def resolve(requested: str) -> FieldDef | None:
    """The field a request names, by alias or by number (as BambooHR accepts both); None if unknown."""
    name = requested.strip()
    for f in ALL_FIELDS:
        if f.alias == name or str(f.id) == name:
            return f
    return None
