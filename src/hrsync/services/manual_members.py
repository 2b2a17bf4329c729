"""The manual door: members an administrator adds, edits, and marks ineligible or eligible by hand.

A manual member is owned by no integration (``member.door = 'manual'``): no import changes it, and an
import meeting its employee ID or address reports ``owned_elsewhere`` (:mod:`hrsync.domain.ownership`).
The rules are the imports' own, from the same places:

* values are checked by the domain's field rules (:func:`hrsync.domain.validation.check_field`);
* an employee ID or address another member holds (any door) is refused, naming that door;
* a new member is invited through the outbox's invitation (once; the link is made at sending),
  unless the administrator says not to, when it is active at once without an e-mail;
* an address change revokes the open links sent to the old address and, for a member still
  invited, sends the invitation again to the new one;
* *ineligible* makes the member a leaver today and runs their close-down step at once (the day-1
  reminder, the same e-mail every leaver gets; days 30 and 53 and the deletion follow from the
  daily close-down); *eligible again* within the 60 days ends the leaver period, like a reinstated
  import member (no e-mail: their account simply works again).

Every change is a member event (actor: the administrator) and an activity row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hrsync.domain.fields import MEMBER_FIELDS
from hrsync.domain.validation import InvalidValue, check_field
from hrsync.domain.vocabulary import MemberStatus, access_until_for, email_key, programme_today
from hrsync.lifecycle.closedown import close_down_leaver
from hrsync.lifecycle.tokens import revoke_member_links
from hrsync.notify.outbox import queue_invitation
from hrsync.services import activity
from hrsync.services.errors import NotFound, ServiceError
from hrsync.services.queries import member_in_programme
from hrsync.store.models import AdminUser, Member, MemberDoor, MemberEvent, Programme
from hrsync.store.types import utcnow
from hrsync.sync.members import MANUAL_DOOR, door_names

EDITABLE = ("employee_id", "email", "first_name", "last_name")
_ACTIVE_STATUSES = (MemberStatus.ACTIVE.value, MemberStatus.INVITED.value, MemberStatus.PENDING.value)


@dataclass(frozen=True)
class ManualValues:
    """What an administrator typed; ``None`` leaves a value as it is (on an edit)."""

    employee_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


def _checked(values: ManualValues, *, new: bool) -> dict[str, str | None]:
    """The values by the domain's field rules: {field: clean value}; raises with the field's label."""
    clean: dict[str, str | None] = {}
    for key in EDITABLE:
        raw = getattr(values, key)
        if raw is None:
            continue
        label = MEMBER_FIELDS[key].label
        try:
            clean[key] = check_field(key, raw)
        except InvalidValue as bad:
            raise ServiceError(f"{label} {raw[:60]!r} {bad.reason}.", code=bad.code) from None
        if clean[key] is None and key in ("employee_id", "email"):
            raise ServiceError(f"{label} is required.", code=f"missing_{key}")
    if new and not (clean.get("employee_id") and clean.get("email")):
        missing = "employee_id" if not clean.get("employee_id") else "email"
        raise ServiceError(f"{MEMBER_FIELDS[missing].label} is required.", code=f"missing_{missing}")
    return clean


def _refuse_taken(session: Session, programme_id: int, clean: dict[str, str | None], me: int | None) -> None:
    """An employee ID or address another member holds is refused, naming the door that owns it."""
    conditions = []
    if clean.get("employee_id"):
        conditions.append(Member.employee_id == clean["employee_id"])
    if clean.get("email"):
        conditions.append(Member.email_lower == email_key(clean["email"]))
    if not conditions:
        return
    holder = session.scalar(select(Member).where(Member.programme_id == programme_id, or_(*conditions),
                                                 Member.id != (me or 0)).limit(1))
    if holder is None:
        return
    what = ("Employee ID " + repr(clean["employee_id"]) if holder.employee_id == clean.get("employee_id")
            else "Email " + repr(clean["email"]))
    raise ServiceError(f"{what} already belongs to a member owned by {owner_of(session, holder)}.",
                       code="owned_elsewhere")


def owner_of(session: Session, member: Member) -> str:
    """The door that owns ``member``, in words."""
    if member.door == MemberDoor.MANUAL.value:
        return MANUAL_DOOR
    names = door_names(session, member.programme_id)
    return names.get(member.integration_id or 0, "an integration that was deleted")


def manual_member(session: Session, programme_id: int, member_id: int) -> Member:
    """A member of the programme that the manual door owns; anything else is refused."""
    member = member_in_programme(session, programme_id, member_id)
    if member is None or member.status == MemberStatus.DELETED.value:
        raise NotFound(f"Member {member_id}")
    if member.door != MemberDoor.MANUAL.value:
        raise ServiceError(f"This member is owned by {owner_of(session, member)}: change it there, not by hand.",
                           code="owned_elsewhere")
    return member


def _event(session: Session, member: Member, kind: str, actor: AdminUser | None, changes: dict[str, Any]) -> None:
    session.add(MemberEvent(programme_id=member.programme_id, member_id=member.id, kind=kind,
                            actor=_who(actor), changes=changes or None, created_at=utcnow()))


def _who(actor: AdminUser | None) -> str:
    return (actor.email if actor is not None else None) or "cli"


def _log(session: Session, member: Member, action: str, actor: AdminUser | None, **detail: Any) -> None:
    activity.record(session, programme_id=member.programme_id, action=action,
                    admin_id=actor.id if actor is not None else None,
                    detail={"member_id": member.id, "employee_id": member.employee_id, **detail})


def add_member(session: Session, programme: Programme, values: ManualValues, actor: AdminUser | None, *,
               invite: bool = True) -> Member:
    """Add a member by hand: invited (or, with ``invite=False``, active without an e-mail)."""
    clean = _checked(values, new=True)
    _refuse_taken(session, programme.id, clean, None)
    status = MemberStatus.INVITED if invite else MemberStatus.ACTIVE
    member = Member(programme_id=programme.id, door=MemberDoor.MANUAL.value, integration_id=None,
                    status=status.value, attributes={}, **clean)
    session.add(member)
    session.flush()
    if invite:
        queue_invitation(session, member, programme)
    _event(session, member, "added_by_hand", actor, {k: [None, v] for k, v in clean.items() if v is not None})
    _log(session, member, "member_added", actor, invited=invite)
    return member


def edit_member(session: Session, programme: Programme, member: Member, values: ManualValues,
                actor: AdminUser | None) -> dict[str, list[Any]]:
    """Change a manual member's values; returns what changed (field → [old, new])."""
    clean = _checked(values, new=False)
    changes = {k: [getattr(member, k), v] for k, v in clean.items() if getattr(member, k) != v}
    if not changes:
        return {}
    _refuse_taken(session, programme.id, {k: v for k, (_old, v) in changes.items()}, member.id)
    for key, (_old, new) in changes.items():
        setattr(member, key, new)
    if "email" in changes:
        revoke_member_links(session, [member.id])  # a link sent to the old address must not open the account
        if member.status == MemberStatus.INVITED.value:
            session.flush()
            queue_invitation(session, member, programme, resend=True)
    _event(session, member, "edited_by_hand", actor, changes)
    _log(session, member, "member_edited", actor, fields=sorted(changes))
    return changes


def mark_ineligible(session: Session, programme: Programme, member: Member, actor: AdminUser | None) -> None:
    """A leaver today, following the close-down (the day-1 reminder is queued at once)."""
    if member.status not in _ACTIVE_STATUSES:
        raise ServiceError("This member is already a leaver.", code="not_eligible")
    today = programme_today(programme.timezone)
    old = member.status
    member.status = MemberStatus.LEAVER.value
    member.leaving_date = today
    member.leaver_since = today
    member.access_until = access_until_for(today)
    revoke_member_links(session, [member.id])  # an unused invitation must not open a leaver's account
    session.flush()
    close_down_leaver(session, member, programme, today=today, now=utcnow())
    _event(session, member, "made_ineligible", actor, {"status": [old, MemberStatus.LEAVER.value]})
    _log(session, member, "member_ineligible", actor)


def mark_eligible(session: Session, programme: Programme, member: Member, actor: AdminUser | None) -> None:
    """End a manual member's leaver period within its 60 days: active again."""
    today = programme_today(programme.timezone)
    if member.status != MemberStatus.LEAVER.value:
        raise ServiceError("Only a member marked ineligible can be made eligible again.", code="not_a_leaver")
    if member.access_until is not None and today >= member.access_until:
        raise ServiceError("The 60-day leaver window has ended: add the person again instead.", code="window_ended")
    changes: dict[str, list[Any]] = {"status": [member.status, MemberStatus.ACTIVE.value]}
    for column in ("leaving_date", "leaver_since", "access_until"):
        value = getattr(member, column)
        changes[column] = [value.isoformat() if value else None, None]
        setattr(member, column, None)
    member.status = MemberStatus.ACTIVE.value
    _event(session, member, "made_eligible", actor, changes)
    _log(session, member, "member_eligible", actor)
