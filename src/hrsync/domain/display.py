"""How a person is named and a member field is labelled and shown wherever people read them (ONE place).

Pages, e-mails and CSV files call these; templates never join name parts themselves, so a missing
part can never show as ``None``. Member values are stored as text (dates as ISO ``YYYY-MM-DD``);
:func:`field_text` is the one place a stored value becomes what a person reads, in the date format
of the programme (:func:`shown_date_format` decides which format that is). :func:`change_lines` is the
one place a member's changes are worded (the member page's history, the review, a run's page, the trace).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final, NamedTuple

from hrsync.domain.dates import DEFAULT_DATE_FORMAT, display_iso, format_date
from hrsync.domain.fields import EXTRA_PREFIX, MEMBER_FIELDS, FieldKind
from hrsync.sources.base import Lifecycle

#: What a member whose personal data the close-down deleted is called.
DELETED_NAME: Final = "(personal data deleted)"
#: What a member with no name at all (none mapped, none given) is called where a name is expected.
NO_NAME: Final = "(no name)"

#: The member fields a name is composed of (the first two are columns, the third an attribute).
NAME_FIELDS: Final = ("first_name", "last_name", "preferred_name")

#: A member's own record fields (not mapped from a source), as people read them.
RECORD_LABELS: Final = {
    "status": "Status",
    "employment_status": "Employment status",
    "leaving_date": "Leaving date",
    "leaver_since": "Leaver since",
    "access_until": "Access until",
    "source_id": "HR record ID",
    "name": "Name",
}

#: A member's status as pages and files word it (the members list, a member's page, the CSV export).
MEMBER_STATUS_LABELS: Final = {
    "pending": "Pending (pre-hire)",
    "invited": "Invited",
    "active": "Active",
    "leaver": "Leaver",
    "deleted": "Deleted",
}

#: What an employment status means for membership (a lifecycle), in the words of the mapping step's status
#: mapping, its Review step and a trace.
LIFECYCLE_LABELS: Final = {
    Lifecycle.ACTIVE.value: "Active: a member with access",
    Lifecycle.PENDING.value: "Pending: invited on their start date",
    Lifecycle.INACTIVE.value: "Inactive: marked as a leaver",
}


def lifecycle_label(lifecycle: object) -> str:
    """A lifecycle code as people read it ("active" → "Active: a member with access")."""
    text = str(getattr(lifecycle, "value", lifecycle) or "")
    return LIFECYCLE_LABELS.get(text, text.capitalize())



def member_status_label(status: object) -> str:
    """A member's status code as people read it ("invited" → "Invited", "pending" → "Pending (pre-hire)")."""
    text = str(status or "")
    return MEMBER_STATUS_LABELS.get(text, text.replace("_", " ").capitalize())


_WORDS = re.compile(r"[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+[0-9]*|[0-9]+")


def _part(value: object) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def display_name(first: object = None, last: object = None, preferred: object = None) -> str:
    """The name people read: the preferred name (else the first name), then the family name.

    Blank or missing parts are left out; an empty string when there is no name at all.
    """
    given = _part(preferred) or _part(first)
    return " ".join(p for p in (given, _part(last)) if p)


def sort_name(first: object = None, last: object = None, preferred: object = None) -> str:
    """The name for a sorted list: "Family, Given" (or whichever part exists)."""
    given = _part(preferred) or _part(first)
    family = _part(last)
    return f"{family}, {given}" if family and given else family or given


def given_name(first: object = None, preferred: object = None) -> str:
    """The name a greeting uses ("Hello Lo,"): the preferred name, else the first name; may be empty."""
    return _part(preferred) or _part(first)


def name_of(values: Mapping[str, object]) -> str:
    """:func:`display_name` of values keyed by member field (a draft's values, a member's attributes)."""
    return display_name(*(values.get(k) for k in NAME_FIELDS))


def source_name(values: Mapping[str, object], mapping: Mapping[str, str]) -> str:
    """:func:`display_name` of a source record as read (before validation), through ``mapping``.

    The error file names the person an error is about even when the record was skipped.
    """
    return display_name(*(values.get(mapping[k]) if k in mapping else None for k in NAME_FIELDS))


def member_name(first: object, last: object, attributes: Mapping[str, object] | None, *,
                deleted: bool = False, sort: bool = False) -> str:
    """A stored member's name for a page: never blank, never ``None``.

    ``deleted``: the close-down removed the personal data. ``sort``: "Family, Given" (lists).
    """
    if deleted:
        return DELETED_NAME
    preferred = (attributes or {}).get("preferred_name")
    name = sort_name(first, last, preferred) if sort else display_name(first, last, preferred)
    return name or NO_NAME


def field_label(key: str) -> str:
    """The human label of a member field or extra attribute.

    ``custom.cost_centre`` and ``custom.costCentre`` (an HR system's api name) → "Cost centre";
    acronyms stay as they are (``custom.payrollID`` → "Payroll ID").
    """
    known = MEMBER_FIELDS.get(key)
    if known is not None:
        return known.label
    if key in RECORD_LABELS:
        return RECORD_LABELS[key]
    if key.startswith(EXTRA_PREFIX):
        words = _WORDS.findall(key[len(EXTRA_PREFIX):])
        if not words:
            return key
        words = [w if len(w) > 1 and w.isupper() else w.lower() for w in words]
        return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])
    return key


def target_label(key: str, source_key: str | None = None, source_labels: Mapping[str, str] | None = None) -> str:
    """A mapping target's label wherever the mapping is shown (the mapping step, its transforms, the
    review): a member field's own label; an extra attribute under the label of the source field it
    keeps ("T-shirt size"), else :func:`field_label` of its name."""
    if key not in MEMBER_FIELDS and key.startswith(EXTRA_PREFIX) and source_key and source_labels:
        label = source_labels.get(source_key)
        if label:
            return label
    return field_label(key)


def is_date_field(key: str) -> bool:
    known = MEMBER_FIELDS.get(key)
    return (known is not None and known.kind == FieldKind.DATE) or key in (
        "leaving_date", "leaver_since", "access_until")


def field_text(key: str, value: object, date_format: str) -> str:
    """A member field's value as people read it: dates in ``date_format``, blank for nothing."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return format_date(value, date_format)
    if isinstance(value, (list, tuple)):
        return ", ".join(field_text(key, v, date_format) for v in value if v is not None)
    text = str(value)
    return display_iso(text, date_format) if is_date_field(key) else text


def shown_date_format(programme_format: str | None, integration_formats: Iterable[str | None] = ()) -> str:
    """The date format a programme's pages and files use.

    The administrator chooses a date format per integration (the setup wizard asks); when every
    integration of the programme uses the same one, that is the programme's. Otherwise (none yet,
    or two integrations that disagree) the programme's own setting.
    """
    chosen = {f for f in integration_formats if f}
    if len(chosen) == 1:
        return chosen.pop()
    return programme_format or DEFAULT_DATE_FORMAT


#: A value that is blank before or after a change.
BLANK: Final = "—"


class ChangeLine(NamedTuple):
    """One changed member field as people read it: its label, the value before and after."""

    label: str
    old: str
    new: str

    @property
    def shown(self) -> str:
        """The change after its label: "Smith → Jones"; a value that was blank before reads as the new
        value alone ("Invited" for a member just created, never "— → Invited")."""
        return self.new if self.old == BLANK else f"{self.old} → {self.new}"

    def words(self) -> str:
        """In a sentence: "last name Smith → Jones" (the label's first letter lower-case unless an acronym)."""
        label = self.label if self.label[1:2].isupper() else self.label[:1].lower() + self.label[1:]
        return f"{label} {self.shown}"


def _change_text(key: str, value: Any, date_format: str) -> str:
    text = field_text(key, value, date_format)
    if not text:
        return BLANK
    return member_status_label(text) if key == "status" else text


def change_lines(changes: Mapping[str, Any] | None, date_format: str) -> list[ChangeLine]:
    """A member's changes (``{field: [old, new]}``, as plans, member events and previews hold them) as
    labelled lines: dates in ``date_format``, a status in :data:`MEMBER_STATUS_LABELS`' words, a blank value as
    "—" (:attr:`ChangeLine.shown` leaves a blank "before" out). A value that is
    not a pair is shown as the new value."""
    lines = []
    for key, pair in (changes or {}).items():
        old, new = (pair[0], pair[1]) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        lines.append(ChangeLine(field_label(key), _change_text(key, old, date_format),
                                _change_text(key, new, date_format)))
    return lines


def change_words(changes: Mapping[str, Any] | None, date_format: str) -> str:
    """:func:`change_lines` in one sentence: "last name Smith → Jones; status Invited → Leaver"."""
    return "; ".join(line.words() for line in change_lines(changes, date_format))
