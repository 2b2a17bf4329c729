"""A run's error and warning codes in words: the "Problem" a person reads beside each issue.

The codes stay for machines (the CSV's "Problem code" column, the API); pages and files show
:func:`problem` beside them. :data:`PROBLEMS` has a phrase for every code hrsync's own rules raise
(a test checks it against the modules' code constants); a code it does not know (a source kind's
own, a SCIM refusal) reads as its words, never with underscores.
"""

from __future__ import annotations

from typing import Final

PROBLEMS: Final[dict[str, str]] = {
    # the record itself (hrsync.domain.records, hrsync.domain.validation)
    "missing_employee_id": "No employee ID",
    "missing_email": "No e-mail address",
    "unreadable_value": "A value could not be read",
    "too_long": "A value is too long",
    "illegal_characters": "A value has characters that are not allowed",
    "invalid_name": "Not a valid name",
    "invalid_email": "Not a valid e-mail address",
    "invalid_gender": "Not one of the allowed genders",
    "invalid_date": "Not a valid date",
    "invalid_phone": "Not a valid phone number",
    # the import as a whole (hrsync.domain.planner, ownership, held)
    "duplicate_employee_id": "Employee ID used by two people",
    "duplicate_email": "E-mail address used by two people",
    "email_taken": "E-mail address belongs to another member",
    "employee_id_taken": "Employee ID belongs to another member",
    "vanished": "No longer in the source",
    "reinstated_after_window": "Came back after their data was deleted",
    "owned_elsewhere": "Belongs to another integration",
    "held_change_skipped": "Changed while the import was held",
    # writing and undoing (hrsync.sync.apply, hrsync.sync.undo)
    "links_revoked": "Invitation link sent to an old address",
    "undo_skipped": "Not undone: changed since",
    # SCIM refusals (hrsync.services.scim_members)
    "uniqueness": "Already taken",
}


def problem(code: str | None) -> str:
    """The readable problem for ``code``: "No e-mail address" for ``missing_email``."""
    if not code:
        return ""
    known = PROBLEMS.get(code)
    if known is not None:
        return known
    words = code.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


__all__ = ["PROBLEMS", "problem"]
