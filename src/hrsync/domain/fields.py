"""The member fields, their rules, and how a mapping ties them to source fields (ONE place).

A *mapping* is ``{member field key: source field key}``, for example
``{"employee_id": "employeeNumber", "email": "primaryEmailAddress"}``. Every rule about a member
field (its label, whether it is required, its maximum length, what kind of value it holds) lives
in :data:`MEMBER_FIELDS`; the validators in :mod:`hrsync.domain.validation` and the portal's
mapping page read it from here, so a rule is never written twice.

Decisions:

* Only ``employee_id`` (the unique key that matches people to members) and ``email`` are required.
* **Extra attributes.** A target that is not a member field is accepted only in the form
  ``custom.<name>`` (``name``: a letter, then letters, digits or ``_``; at most 64 characters).
  Such a value is plain bounded text (at most 255 characters, no ``<`` or ``>``) stored with the
  member under that exact key. Free names without the ``custom.`` prefix are refused, because a
  typo such as ``frist_name`` would otherwise silently become an attribute nobody looks at.
* Any member field may take any source field, custom fields included; the same source field may
  feed several member fields.
* Source keys starting with ``job.`` need the ``/jobs`` details, except the ones the person record
  already carries in its job summaries (see :data:`JOB_SUMMARY_KEYS`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class FieldKind(StrEnum):
    """What kind of value a member field holds; each kind has one validator."""

    IDENTIFIER = "identifier"  # the unique key: trimmed text, no < or >
    EMAIL = "email"
    NAME = "name"  # letters of any script, spaces, hyphens, dots, apostrophes
    GENDER = "gender"  # one of GENDERS
    DATE = "date"  # ISO YYYY-MM-DD in and stored; shown in the integration's date format
    PHONE = "phone"
    TEXT = "text"  # bounded, single line, no < or >


@dataclass(frozen=True, slots=True)
class MemberField:
    """One field of a member and its rule."""

    key: str
    label: str
    kind: FieldKind
    max_length: int
    required: bool = False
    description: str = ""


EMPLOYEE_ID: Final = "employee_id"
EMAIL: Final = "email"
KEY_FIELDS: Final = frozenset({EMPLOYEE_ID, EMAIL})

GENDERS: Final = ("Male", "Female", "Non-binary", "Not specified")

EXTRA_PREFIX: Final = "custom."
EXTRA_MAX_LENGTH: Final = 255
_EXTRA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def _fields(*fields: MemberField) -> dict[str, MemberField]:
    return {f.key: f for f in fields}


MEMBER_FIELDS: Final[dict[str, MemberField]] = _fields(
    MemberField(
        EMPLOYEE_ID, "Employee ID", FieldKind.IDENTIFIER, 100, required=True,
        description="The unique key that matches an HR person to a member.",
    ),
    MemberField(
        EMAIL, "Email", FieldKind.EMAIL, 200, required=True,
        description="Unique within the programme, compared without regard to case.",
    ),
    MemberField("first_name", "First name", FieldKind.NAME, 50),
    MemberField("last_name", "Last name", FieldKind.NAME, 50),
    MemberField("preferred_name", "Preferred name", FieldKind.NAME, 50),
    MemberField("gender", "Gender", FieldKind.GENDER, 20),
    MemberField("date_of_birth", "Date of birth", FieldKind.DATE, 10),
    MemberField("start_date", "Start date", FieldKind.DATE, 10),
    MemberField("job_title", "Job title", FieldKind.TEXT, 100),
    MemberField("department", "Department", FieldKind.TEXT, 100),
    MemberField("location", "Location", FieldKind.TEXT, 100),
    MemberField("manager", "Manager", FieldKind.TEXT, 100),
    MemberField("phone", "Phone", FieldKind.PHONE, 30),
    MemberField("address", "Address", FieldKind.TEXT, 255),
    MemberField("postcode", "Postcode", FieldKind.TEXT, 20),
    MemberField("country", "Country", FieldKind.TEXT, 100),
)

DEFAULT_MAPPING: Final[dict[str, str]] = {
    "employee_id": "employeeNumber",
    "email": "primaryEmailAddress",
    "first_name": "firstName",
    "last_name": "lastName",
}

#: ``job.`` keys the person record carries itself (its job summaries); all others need ``/jobs``.
JOB_SUMMARY_KEYS: Final = frozenset({"job.name", "job.startDate", "job.endDate", "job.jobStatus"})


def is_extra_attribute(target: str) -> bool:
    """True for a well-formed extra attribute target (``custom.<name>``)."""
    return target.startswith(EXTRA_PREFIX) and _EXTRA_NAME.fullmatch(target[len(EXTRA_PREFIX):]) is not None


def member_field(target: str) -> MemberField:
    """The rule for a mapping target: a member field, or the text rule of an extra attribute.

    Raises ``KeyError`` for a target that is neither.
    """
    known = MEMBER_FIELDS.get(target)
    if known is not None:
        return known
    if is_extra_attribute(target):
        name = target[len(EXTRA_PREFIX):]
        return MemberField(target, name, FieldKind.TEXT, EXTRA_MAX_LENGTH, description="Extra attribute.")
    raise KeyError(target)


def needs_job_details(source_key: str) -> bool:
    """Whether reading this source field requires fetching ``/jobs``."""
    return source_key.startswith("job.") and source_key not in JOB_SUMMARY_KEYS


def mapping_needs_job_details(mapping: Mapping[str, str]) -> bool:
    """True when any mapped source field lives on ``/jobs``: only then are job details fetched."""
    return any(needs_job_details(source) for source in mapping.values())


def validate_mapping(
    mapping: Mapping[str, str], available_source_keys: Collection[str] | None = None
) -> list[str]:
    """Every problem with a mapping, each as one sentence for the administrator; empty when fine.

    ``available_source_keys`` (what the source's ``fields()`` offers) is checked when given.
    Problems about the two required fields come first, then the others in mapping order.
    """
    problems: list[str] = []
    for key in (EMPLOYEE_ID, EMAIL):
        source = mapping.get(key)
        if not isinstance(source, str) or not source.strip():
            label = MEMBER_FIELDS[key].label
            why = (
                "it is the unique key that matches HR people to members"
                if key == EMPLOYEE_ID
                else "every member needs an e-mail address"
            )
            problems.append(f"{label} must be mapped to a source field: {why}.")
    available = None if available_source_keys is None else frozenset(available_source_keys)
    for target, source in mapping.items():
        if target in MEMBER_FIELDS:
            label = MEMBER_FIELDS[target].label
        elif is_extra_attribute(target):
            label = f"Extra attribute {target[len(EXTRA_PREFIX):]!r}"
        else:
            problems.append(
                f"{target!r} is not a member field; use one of {', '.join(MEMBER_FIELDS)}, "
                f"or 'custom.<name>' (a letter, then letters, digits or _) for an extra attribute."
            )
            continue
        if not isinstance(source, str) or not source.strip():
            if target not in KEY_FIELDS:  # already reported above
                problems.append(f"{label} has no source field; choose one or remove the line.")
            continue
        if available is not None and source not in available:
            problems.append(f"{label} is mapped from {source!r}, which the HR system does not offer.")
    return problems
