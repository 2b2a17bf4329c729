"""How a person is named and a member field is labelled wherever people read them (ONE place).

Pages, e-mails and CSV files call these; templates never join name parts themselves, so a missing
part can never show as ``None``.
"""

from __future__ import annotations

from typing import Final

from hrsync.domain.fields import EXTRA_PREFIX, MEMBER_FIELDS

#: What a member whose personal data the close-down deleted is called.
DELETED_NAME: Final = "(personal data deleted)"


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


def field_label(key: str) -> str:
    """The human label of a member field or extra attribute (``custom.cost_centre`` → "Cost centre")."""
    known = MEMBER_FIELDS.get(key)
    if known is not None:
        return known.label
    if key.startswith(EXTRA_PREFIX):
        name = key[len(EXTRA_PREFIX):].replace("_", " ").strip()
        return name[:1].upper() + name[1:] if name else key
    return key
