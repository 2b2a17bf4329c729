"""Every member write of the SCIM door, in one place (issue 24, item 3).

The SCIM door owns the members it creates (``member.door = 'integration'``, its integration's id) and
writes them by the same rules as every door: values checked by the domain's field rules, an employee
ID or address another member holds refused (409 ``uniqueness``, naming the owning door), the
integration's welcome e-mail setting (an invitation at most once), and the leaver lifecycle:
deactivating makes the member a leaver today, following the 60-day close-down (never deleted at
once), and activating again within the 60 days reinstates them.

Issue 23's manual door (``services/manual_members``) brings the shared member-writing functions; this
module is the one place that switches to them when they land (docs/decisions/0033-scim-door.md).

Each write is recorded in the integration's history: one entry per integration per hour (trigger
``scim``) whose counts grow with every write, with a refused write as an error row of that entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrsync.domain.fields import MEMBER_FIELDS
from hrsync.domain.validation import InvalidValue, check_field
from hrsync.domain.vocabulary import MemberStatus, access_until_for, email_key, programme_today
from hrsync.lifecycle.closedown import close_down_leaver
from hrsync.lifecycle.tokens import revoke_member_links
from hrsync.notify.outbox import cancel_link_emails, queue_invitation
from hrsync.services import scim_hold
from hrsync.services.errors import ServiceError
from hrsync.store.models import (
    ImportIssue,
    ImportRun,
    Integration,
    Member,
    MemberDoor,
    MemberEvent,
    Programme,
    RunPhase,
    RunStatus,
    RunTrigger,
    ScimUser,
)
from hrsync.store.types import utcnow
from hrsync.sync.runs import next_run_number

ACTOR = "SCIM"
TRIGGER = RunTrigger.SCIM.value
_COLUMNS = ("employee_id", "email", "first_name", "last_name")
_LIVE = (MemberStatus.ACTIVE.value, MemberStatus.INVITED.value, MemberStatus.PENDING.value)
_WITH_ACCESS = (MemberStatus.ACTIVE.value, MemberStatus.INVITED.value)


class Refused(ServiceError):
    """A write the rules refuse: ``conflict`` for a value another member (or user) holds."""

    def __init__(self, reason: str, code: str, *, conflict: bool = False) -> None:
        super().__init__(reason, code=code)
        self.conflict = conflict


@dataclass(frozen=True)
class ScimValues:
    """A User as the integration's mapping reads it: member fields, plus the SCIM client's own names."""

    fields: dict[str, str | None]
    user_name: str
    external_id: str | None
    active: bool


def _clean(fields: dict[str, str | None]) -> dict[str, str | None]:
    clean: dict[str, str | None] = {}
    for key, raw in fields.items():
        if key not in MEMBER_FIELDS:
            continue
        try:
            clean[key] = None if raw is None else check_field(key, raw)
        except InvalidValue as bad:
            raise Refused(f"{MEMBER_FIELDS[key].label} {bad.reason}.", bad.code) from None
    for key in ("employee_id", "email"):
        if not clean.get(key):
            raise Refused(f"{MEMBER_FIELDS[key].label} is required: the User has no value the mapping "
                          "reads it from.", f"missing_{key}")
    return clean


def _refuse_taken(session: Session, integration: Integration, clean: dict[str, str | None],
                  user_name: str, me: int | None) -> None:
    holder = session.scalar(select(Member).where(
        Member.programme_id == integration.programme_id, Member.id != (me or 0),
        or_(Member.employee_id == clean["employee_id"], Member.email_lower == email_key(clean["email"]))).limit(1))
    if holder is not None:
        what = (f"Employee ID {clean['employee_id']!r}" if holder.employee_id == clean["employee_id"]
                else f"Email {clean['email']!r}")
        mine = holder.door == MemberDoor.INTEGRATION.value and holder.integration_id == integration.id
        owner = "this SCIM integration" if mine else "another door (an import or the portal)"
        raise Refused(f"{what} already belongs to a member owned by {owner}.",
                      "uniqueness" if mine else "owned_elsewhere", conflict=True)
    taken = session.scalar(select(ScimUser.member_id).where(
        ScimUser.integration_id == integration.id, ScimUser.user_name_key == user_name.strip().lower(),
        ScimUser.member_id != (me or 0)))
    if taken is not None:
        raise Refused(f"userName {user_name!r} is already taken.", "uniqueness", conflict=True)


def _history(session: Session, integration: Integration) -> ImportRun:
    """This hour's history entry of the integration's SCIM writes (made on first use)."""
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    run = session.scalar(select(ImportRun).where(
        ImportRun.integration_id == integration.id, ImportRun.trigger == TRIGGER,
        ImportRun.created_at >= hour, ImportRun.created_at < hour + timedelta(hours=1)).order_by(ImportRun.id))
    if run is not None:
        return run
    run = ImportRun(integration_id=integration.id, programme_id=integration.programme_id, trigger=TRIGGER,
                    status=RunStatus.SUCCEEDED.value, phase=RunPhase.DONE.value, created_at=now,
                    started_at=now, finished_at=now, total=0, processed=0,
                    number=next_run_number(session, integration.id))
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:  # another request made this hour's entry (or took the number) first
        return _history(session, integration)
    return run


def _count(run: ImportRun, column: str) -> None:
    setattr(run, column, (getattr(run, column) or 0) + 1)
    run.processed = (run.processed or 0) + 1
    run.total = run.processed
    run.finished_at = utcnow()
    if column == "errors":
        run.status = RunStatus.SUCCEEDED_WITH_ERRORS.value


def _event(session: Session, member: Member, run: ImportRun, kind: str, changes: dict[str, Any]) -> None:
    session.add(MemberEvent(programme_id=member.programme_id, member_id=member.id, run_id=run.id, kind=kind,
                            actor=ACTOR, changes=changes or None, created_at=utcnow()))


def record_refusal(session: Session, integration: Integration, values: dict[str, Any], reason: str,
                   code: str) -> None:
    """A refused write, as an error row of this hour's history entry (its error file)."""
    run = _history(session, integration)
    _count(run, "errors")
    name = " ".join(v for v in (values.get("first_name"), values.get("last_name")) if v) or None
    session.add(ImportIssue(run_id=run.id, severity="error", employee_id=(values.get("employee_id") or None),
                            person_name=name, field=None, code=code[:64], message=reason))


def _set_attributes(member: Member, clean: dict[str, str | None]) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    attributes = dict(member.attributes or {})
    for key, value in clean.items():
        old = getattr(member, key) if key in _COLUMNS else attributes.get(key)
        if old == value:
            continue
        changes[key] = [old, value]
        if key in _COLUMNS:
            setattr(member, key, value)
        elif value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    member.attributes = attributes
    return changes


def _deleted_one(session: Session, integration: Integration, clean: dict[str, str | None]) -> ScimUser | None:
    """The User this integration deleted whose member still holds this employee ID (a leaver in its 60 days)."""
    return session.scalar(select(ScimUser).join(Member, Member.id == ScimUser.member_id).where(
        ScimUser.integration_id == integration.id, ScimUser.deleted_at.is_not(None),
        Member.employee_id == clean["employee_id"]))


def create(session: Session, integration: Integration, values: ScimValues) -> Member:
    """A new member owned by the SCIM integration (invited when its welcome e-mail is on); a User this
    integration deleted comes back instead (reinstated, within the leaver's 60 days)."""
    clean = _clean(values.fields)
    deleted = _deleted_one(session, integration, clean)
    if deleted is not None:
        member = session.get_one(Member, deleted.member_id)
        deleted.deleted_at = None
        replace(session, integration, member, deleted, values)
        return member
    _refuse_taken(session, integration, clean, values.user_name, None)
    programme = session.get_one(Programme, integration.programme_id)
    status = _starting(integration) if values.active else MemberStatus.PENDING  # inactive: known, no access
    member = Member(programme_id=programme.id, door=MemberDoor.INTEGRATION.value, integration_id=integration.id,
                    status=status.value, attributes={})
    changes = _set_attributes(member, clean)
    with session.begin_nested():  # two concurrent creates of one person: the second fails here, not later
        session.add(member)
        session.flush()
        session.add(ScimUser(member_id=member.id, integration_id=integration.id, user_name=values.user_name,
                             user_name_key=values.user_name.strip().lower(), external_id=values.external_id))
        session.flush()
    run = _history(session, integration)
    _count(run, "created")
    _event(session, member, run, "created", changes)
    if status == MemberStatus.INVITED:
        queue_invitation(session, member, programme)
    return member


def replace(session: Session, integration: Integration, member: Member, scim: ScimUser,
            values: ScimValues) -> bool:
    """The member as the User now says (a PUT, or a PATCH once applied); True when its deactivation
    was held for an owner's approval instead (:mod:`hrsync.services.scim_hold`)."""
    clean = _clean(values.fields)
    _refuse_taken(session, integration, clean, values.user_name, member.id)
    programme = session.get_one(Programme, integration.programme_id)
    run = _history(session, integration)
    changes = _set_attributes(member, {k: v for k, v in clean.items()})
    scim.user_name, scim.user_name_key = values.user_name, values.user_name.strip().lower()
    scim.external_id = values.external_id
    if changes:
        if "email" in changes:
            revoke_member_links(session, [member.id])  # a link sent to the old address must not open the account
            cancel_link_emails(session, member_id=member.id, reason="the e-mail address changed")
            if member.status == MemberStatus.INVITED.value:
                session.flush()
                queue_invitation(session, member, programme, resend=True)
        _count(run, "updated")
        _event(session, member, run, "updated", changes)
    held = False
    if values.active:
        scim_hold.release(session, integration, member)
        if member.status == MemberStatus.LEAVER.value:
            _reinstate(session, member, programme, run)
        elif member.status == MemberStatus.PENDING.value:
            _start(session, integration, member, programme, run)
    elif member.status in _WITH_ACCESS:
        held = _leave_or_hold(session, integration, member, programme, run)
    session.flush()
    return held


def deactivate(session: Session, integration: Integration, member: Member, scim: ScimUser) -> bool:
    """``DELETE``: a leaver following the close-down (nothing is deleted at once); the User is gone for
    the client from now on. True when the deactivation was held for an owner's approval."""
    if member.status not in _LIVE:
        scim.deleted_at = utcnow()
        return False
    programme = session.get_one(Programme, integration.programme_id)
    held = _leave_or_hold(session, integration, member, programme, _history(session, integration))
    if not held:
        scim.deleted_at = utcnow()
    return held


def _leave_or_hold(session: Session, integration: Integration, member: Member, programme: Programme,
                   run: ImportRun) -> bool:
    reason = scim_hold.must_hold(session, integration)
    if reason is None:
        _leave(session, member, programme, run)
        return False
    scim_hold.hold(session, integration, member, reason)
    return True


def _leave(session: Session, member: Member, programme: Programme, run: ImportRun) -> None:
    today = programme_today(programme.timezone)
    old = member.status
    member.status = MemberStatus.LEAVER.value
    member.leaving_date = member.leaver_since = today
    member.access_until = access_until_for(today)
    revoke_member_links(session, [member.id])  # an unused invitation must not open a leaver's account
    session.flush()
    close_down_leaver(session, member, programme, today=today, now=utcnow())
    _count(run, "leavers")
    _event(session, member, run, "leaver", {"status": [old, MemberStatus.LEAVER.value]})


def _starting(integration: Integration) -> MemberStatus:
    return MemberStatus.INVITED if integration.welcome_email else MemberStatus.ACTIVE


def _start(session: Session, integration: Integration, member: Member, programme: Programme, run: ImportRun) -> None:
    """A User created inactive is activated: invited (or active) as a new member would have been."""
    status = _starting(integration)
    changes = {"status": [member.status, status.value]}
    member.status = status.value
    if status == MemberStatus.INVITED:
        session.flush()
        queue_invitation(session, member, programme)
    _count(run, "updated")
    _event(session, member, run, "started", changes)


def _reinstate(session: Session, member: Member, programme: Programme, run: ImportRun) -> None:
    today = programme_today(programme.timezone)
    if member.access_until is not None and today >= member.access_until:
        raise Refused("The 60-day leaver window has ended: create the user again.", "window_ended")
    changes: dict[str, list[Any]] = {"status": [member.status, MemberStatus.ACTIVE.value]}
    for column in ("leaving_date", "leaver_since", "access_until"):
        value = getattr(member, column)
        changes[column] = [value.isoformat() if value else None, None]
        setattr(member, column, None)
    member.status = MemberStatus.ACTIVE.value
    _count(run, "reinstated")
    _event(session, member, run, "reinstated", changes)
