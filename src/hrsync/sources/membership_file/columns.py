"""Column matching: which header of a membership file feeds which member field.

A pure function of the header row, shared by ``hrsync integration add --source file`` and the
portal's upload step. Headers are compared *normalised*: case-folded, accents kept, and every run
of characters that is not a letter or a digit read as one space, so ``"E-mail"``, ``"e_mail"`` and
``" EMAIL "`` all read ``"e mail"`` / ``"email"``. Spaces are then dropped, so ``"Employee ID"``
and ``"employeeid"`` are the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

#: Member field → header names that mean it (compared normalised; see :func:`normalise_header`).
SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "employee_id": ("Employee ID", "Employee Number", "Employee No", "Employee #", "Emp ID", "Staff ID",
                    "Staff Number", "Payroll ID", "Payroll Number", "Unique ID", "Member ID", "ID"),
    "email": ("Email", "E-mail", "Email Address", "E-mail Address", "Work Email", "Work E-mail",
              "Business Email", "Primary Email", "Mail"),
    "first_name": ("First name", "Given name", "Forename", "First"),
    "last_name": ("Last name", "Surname", "Family name", "Last"),
    "preferred_name": ("Preferred name", "Known as", "Nickname"),
    "gender": ("Gender", "Sex"),
    "date_of_birth": ("Date of birth", "DOB", "Birth date", "Birthday"),
    "start_date": ("Start date", "Hire date", "Date joined", "Joining date", "Employment start date",
                   "Company start date"),
    "job_title": ("Job title", "Position", "Position title", "Role"),
    "department": ("Department", "Business unit", "Team", "Division"),
    "location": ("Location", "Office", "Site", "Work location"),
    "manager": ("Manager", "Line manager", "Supervisor", "Reports to"),
    "phone": ("Phone", "Phone number", "Mobile", "Mobile number", "Telephone", "Work phone"),
    "address": ("Address", "Street address", "Home address", "Address line 1"),
    "postcode": ("Postcode", "Post code", "Postal code", "ZIP", "ZIP code"),
    "country": ("Country",),
}

#: Header names of the employment-status column (see :func:`find_status_column`).
STATUS_SYNONYMS: Final = ("Employment status", "Employee status", "Status", "Employment", "Staff status")


def normalise_header(header: str) -> str:
    """``header`` as compared for matching: case-folded letters and digits only."""
    return "".join(c for c in header.casefold() if c.isalnum())


def _index(synonyms: Mapping[str, Sequence[str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for target, names in synonyms.items():
        for name in names:
            index.setdefault(normalise_header(name), target)
    return index


_INDEX: Final = _index(SYNONYMS)
_STATUS: Final = frozenset(normalise_header(n) for n in STATUS_SYNONYMS)


def match_columns(headers: Iterable[str]) -> dict[str, str]:
    """Member field → the header that feeds it, for every header whose name is a known synonym.

    The first header (left to right) matching a field wins; later ones for the same field are left
    unmatched. Unknown headers are left out: they can still be mapped by name.
    """
    matched: dict[str, str] = {}
    for header in headers:
        target = _INDEX.get(normalise_header(header))
        if target is not None and target not in matched:
            matched[target] = header
    return matched


def find_status_column(headers: Iterable[str]) -> str | None:
    """The first header naming an employment status (``Status``, ``Employment status``, ...), or None."""
    for header in headers:
        if normalise_header(header) in _STATUS:
            return header
    return None
