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

A door that pushes its members one at a time (the SCIM door, docs/scim.md) writes through these same
functions with a :class:`Writer` naming its integration: what it adds it owns
(``member.door = 'integration'``), its events carry its history entry and name it as the actor, and
its changes are counted in that history rather than in the activity log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hrsync.domain.fields import MEMBER_FIELDS
from hrsync.domain.validation import InvalidValue, check_field
from hrsync.domain.vocabulary import MemberStatus, access_until_for, email_key, programme_today
from hrsync.lifecycle.closedown import close_down_leaver
from hrsync.lifecycle.tokens import revoke_member_links
from hrsync.notify.outbox import cancel_link_emails, queue_invitation
from hrsync.services import activity
from hrsync.services.errors import NotFound, ServiceError
from hrsync.services.queries import member_in_programme
from hrsync.store.models import AdminUser, Integration, Member, MemberDoor, MemberEvent, Programme
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
    #: Other member fields (job title, department …), kept in the member's attributes; "" clears one.
    extra: Mapping[str, str | None] = field(default_factory=dict)


#: The member events of each change: (added, edited, made a leaver, made eligible again).
MANUAL_EVENTS = ("added_by_hand", "edited_by_hand", "made_ineligible", "made_eligible")
PUSHED_EVENTS = ("created", "updated", "leaver", "reinstated")


@dataclass(frozen=True)
class Writer:
    """Who writes: the manual door (``integration`` None: an administrator, or the CLI), or an
    integration that pushes its members (it owns what it adds)."""

    actor: AdminUser | None = None
    integration: Integration | None = None
    label: str | None = None  # the events' actor when no administrator writes ("SCIM")
    run_id: int | None = None  # the history entry the events belong to

    @property
    def events(self) -> tuple[str, str, str, str]:
        return MANUAL_EVENTS if self.integration is None else PUSHED_EVENTS


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
    for key, raw in values.extra.items():
        if key not in MEMBER_FIELDS or key in EDITABLE:
            raise ServiceError(f"{key!r} is not a member field.", code="unknown_field")
        if raw is None:
            clean[key] = None
            continue
        try:
            clean[key] = check_field(key, raw)
        except InvalidValue as bad:
            raise ServiceError(f"{MEMBER_FIELDS[key].label} {raw[:60]!r} {bad.reason}.", code=bad.code) from None
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


def _event(session: Session, member: Member, which: int, by: Writer, changes: dict[str, Any]) -> None:
    session.add(MemberEvent(programme_id=member.programme_id, member_id=member.id, kind=by.events[which],
                            run_id=by.run_id, actor=_who(by), changes=changes or None, created_at=utcnow()))


def _who(by: Writer) -> str:
    return (by.actor.email if by.actor is not None else None) or by.label or "cli"


def _log(session: Session, member: Member, action: str, by: Writer, **detail: Any) -> None:
    if by.integration is not None:  # a pushing door's changes are counted in its own history
        return
    activity.record(session, programme_id=member.programme_id, action=action,
                    admin_id=by.actor.id if by.actor is not None else None,
                    detail={"member_id": member.id, "employee_id": member.employee_id, **detail})


def _columns_and_attributes(clean: Mapping[str, str | None]) -> tuple[dict[str, str | None], dict[str, str]]:
    return ({k: v for k, v in clean.items() if k in EDITABLE},
            {k: v for k, v in clean.items() if k not in EDITABLE and v is not None})


def add_member(session: Session, programme: Programme, values: ManualValues, actor: AdminUser | None, *,
               invite: bool = True, active: bool = True, by: Writer | None = None) -> Member:
    """Add a member by hand: invited (or, with ``invite=False``, active without an e-mail); with
    ``active=False`` pending (known, no access, no e-mail) until :func:`start_member`."""
    by = by or Writer(actor)
    clean = _checked(values, new=True)
    _refuse_taken(session, programme.id, clean, None)
    status = MemberStatus.PENDING if not active else MemberStatus.INVITED if invite else MemberStatus.ACTIVE
    columns, attributes = _columns_and_attributes(clean)
    owner = by.integration
    member = Member(programme_id=programme.id, status=status.value, attributes=attributes, **columns,
                    door=MemberDoor.MANUAL.value if owner is None else MemberDoor.INTEGRATION.value,
                    integration_id=None if owner is None else owner.id)
    session.add(member)
    session.flush()
    if status == MemberStatus.INVITED:
        queue_invitation(session, member, programme)
    _event(session, member, 0, by, {k: [None, v] for k, v in clean.items() if v is not None})
    _log(session, member, "member_added", by, invited=invite)
    return member


def start_member(session: Session, programme: Programme, member: Member, *, invite: bool, by: Writer) -> None:
    """A pending member gets access: invited (or active without an e-mail), as when added."""
    status = MemberStatus.INVITED if invite else MemberStatus.ACTIVE
    changes: dict[str, list[Any]] = {"status": [member.status, status.value]}
    member.status = status.value
    if invite:
        session.flush()
        queue_invitation(session, member, programme)
    _event(session, member, 1, by, changes)


def edit_member(session: Session, programme: Programme, member: Member, values: ManualValues,
                actor: AdminUser | None, *, by: Writer | None = None) -> dict[str, list[Any]]:
    """Change a member's values; returns what changed (field → [old, new])."""
    by = by or Writer(actor)
    clean = _checked(values, new=False)
    attributes = dict(member.attributes or {})

    def now(key: str) -> Any:
        return getattr(member, key) if key in EDITABLE else attributes.get(key)

    changes = {k: [now(k), v] for k, v in clean.items() if now(k) != v}
    if not changes:
        return {}
    _refuse_taken(session, programme.id, {k: v for k, (_old, v) in changes.items() if k in EDITABLE}, member.id)
    for key, (_old, new) in changes.items():
        if key in EDITABLE:
            setattr(member, key, new)
        elif new is None:
            attributes.pop(key, None)
        else:
            attributes[key] = new
    member.attributes = attributes
    if "email" in changes:
        revoke_member_links(session, [member.id])  # a link sent to the old address must not open the account
        # an invitation not sent yet would still go to the old address: it goes, and a new one to the new
        cancel_link_emails(session, member_id=member.id, reason="the e-mail address changed")
        if member.status == MemberStatus.INVITED.value:
            session.flush()
            queue_invitation(session, member, programme, resend=True)
    _event(session, member, 1, by, changes)
    _log(session, member, "member_edited", by, fields=sorted(changes))
    return changes


def mark_ineligible(session: Session, programme: Programme, member: Member, actor: AdminUser | None, *,
                    by: Writer | None = None) -> None:
    """A leaver today, following the close-down (the day-1 reminder is queued at once)."""
    by = by or Writer(actor)
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
    _event(session, member, 2, by, {"status": [old, MemberStatus.LEAVER.value]})
    _log(session, member, "member_ineligible", by)


def mark_eligible(session: Session, programme: Programme, member: Member, actor: AdminUser | None, *,
                  by: Writer | None = None) -> None:
    """End a member's leaver period within its 60 days: active again."""
    by = by or Writer(actor)
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
    _event(session, member, 3, by, changes)
    _log(session, member, "member_eligible", by)
