"""Which members an import may touch: each member is owned by one door (docs/decisions/0031).

An import plans only for the members its own integration owns. Every other member (another
integration's, one added by hand, one whose integration was deleted) is *foreign*: its
:attr:`~hrsync.domain.plan_types.CurrentMember.owner` names its door. A person whose employee ID is a
foreign member's, or who would claim a foreign member's e-mail address, is an ``owned_elsewhere``
error: the record is skipped and the foreign member stays exactly as it is, never taken over. Like
any record error, the person still counts as present (their own member, if any, is not vanished).

Inactive people are checked by employee ID only: like everywhere in the planner, they do not claim
an address (a past employee and a contractor may share one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from hrsync.domain.plan_types import CurrentMember
from hrsync.domain.records import MemberDraft, RecordIssue, Severity
from hrsync.domain.vocabulary import MemberStatus, email_key
from hrsync.sources.base import Lifecycle

OWNED_ELSEWHERE: Final = "owned_elsewhere"


@dataclass
class Ownership:
    """The split of one import's drafts: those it may plan, and the ones another door's member holds."""

    drafts: list[MemberDraft]
    issues: list[RecordIssue] = field(default_factory=list)
    #: Foreign members a skipped person pointed at (member id → the person's employee ID): their
    #: door's side of the clash (an event in the member's history, written by the apply).
    claims: dict[int, str] = field(default_factory=dict)


def own_members(current: Iterable[CurrentMember]) -> tuple[list[CurrentMember], list[CurrentMember]]:
    """(the members this import owns, every other member), deleted tombstones left out of both."""
    own: list[CurrentMember] = []
    foreign: list[CurrentMember] = []
    for member in current:
        if member.status != MemberStatus.DELETED:
            (own if member.owner is None else foreign).append(member)
    return own, foreign


def skip_owned_elsewhere(drafts: Iterable[MemberDraft], foreign: Iterable[CurrentMember]) -> Ownership:
    """The drafts whose person is not another door's member, and an error for each that is."""
    foreign = list(foreign)
    if not foreign:
        return Ownership(list(drafts))
    by_id = {m.employee_id: m for m in foreign if m.employee_id}
    by_email = {email_key(m.email): m for m in foreign if m.email}
    result = Ownership([])
    for draft in drafts:
        holder = by_id.get(draft.employee_id)
        what, field_key = f"Employee ID {draft.employee_id!r}", "employee_id"
        if holder is None and draft.lifecycle != Lifecycle.INACTIVE and draft.email:
            holder = by_email.get(draft.email_key)
            what, field_key = f"Email {draft.email!r}", "email"
        if holder is None:
            result.drafts.append(draft)
            continue
        result.claims.setdefault(holder.id, draft.employee_id)
        result.issues.append(RecordIssue(
            Severity.ERROR, OWNED_ELSEWHERE,
            f"{what} belongs to a member owned by {holder.owner}; this person was skipped and that member "
            "left as it is. To let this integration manage the member, adopt it when publishing this "
            "integration (or remove it from the other door first).",
            field_key, draft.employee_id, draft.source_id,
        ))
    return result
