"""The SCIM door's member writes: the manual door's own functions, with the SCIM integration as owner.

Every write goes through :mod:`hrsync.services.manual_members` (issue 23's member-writing functions)
with a :class:`~hrsync.services.manual_members.Writer` naming the SCIM integration, so the rules are
every door's: values checked by the domain's field rules, an employee ID or address another member
holds refused (naming the door that owns it: a 409 ``uniqueness`` to the client), the integration's
welcome e-mail setting (an invitation at most once), and the lifecycle: deactivating makes the
member a leaver today, following the 60-day close-down (never deleted at once), and activating
again within the 60 days reinstates them. What is the SCIM door's own is here: the client's names
for a member (``scim_user``), the hour's history entry every write is counted in (a refused write is
an error row of it), and the mass-deactivation brake (:mod:`hrsync.services.scim_hold`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrsync.domain.vocabulary import MemberStatus
from hrsync.services import manual_members as door
from hrsync.services import scim_hold
from hrsync.services.errors import ServiceError
from hrsync.store.models import (
    ImportIssue,
    ImportRun,
    Integration,
    Member,
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
_NAMED = ("employee_id", "email", "first_name", "last_name")  # ManualValues' own fields
_WITH_ACCESS = (MemberStatus.ACTIVE.value, MemberStatus.INVITED.value)
#: Codes of refusals that mean "someone holds this already": 409 uniqueness to the client.
CONFLICTS = frozenset({"owned_elsewhere", "uniqueness"})


class Refused(ServiceError):
    """A write the SCIM door itself refuses (a userName another User holds)."""


@dataclass(frozen=True)
class ScimValues:
    """A User as the integration's mapping reads it: member fields, plus the SCIM client's own names."""

    fields: dict[str, str | None]
    user_name: str
    external_id: str | None
    active: bool

    def member_values(self) -> door.ManualValues:
        """Every mapped field, a blank one as "" (a User without it clears it, as a PUT says)."""
        named = {k: self.fields.get(k) or "" for k in _NAMED}
        extra = {k: v or "" for k, v in self.fields.items() if k not in _NAMED}
        return door.ManualValues(**named, extra=extra)


def _writer(integration: Integration, run: ImportRun) -> door.Writer:
    return door.Writer(integration=integration, label=ACTOR, run_id=run.id)


def _refuse_taken_user_name(session: Session, integration: Integration, user_name: str, me: int | None) -> None:
    taken = session.scalar(select(ScimUser.member_id).where(
        ScimUser.integration_id == integration.id, ScimUser.user_name_key == user_name.strip().lower(),
        ScimUser.member_id != (me or 0)))
    if taken is not None:
        raise Refused(f"userName {user_name!r} is already taken.", code="uniqueness")


def _history(session: Session, integration: Integration) -> ImportRun:
    """This hour's history entry of the integration's SCIM writes (made on first use)."""
    now = utcnow()
    hour = now.replace(minute=0, second=0, microsecond=0)
    run = session.scalar(select(ImportRun).where(
        ImportRun.integration_id == integration.id, ImportRun.trigger == TRIGGER,
        ImportRun.status.in_((RunStatus.SUCCEEDED.value, RunStatus.SUCCEEDED_WITH_ERRORS.value)),
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


def record_refusal(session: Session, integration: Integration, values: dict[str, Any], reason: str,
                   code: str) -> None:
    """A refused write, as an error row of this hour's history entry (its error file)."""
    run = _history(session, integration)
    _count(run, "errors")
    name = " ".join(v for v in (values.get("first_name"), values.get("last_name")) if v) or None
    session.add(ImportIssue(run_id=run.id, severity="error", employee_id=(values.get("employee_id") or None),
                            person_name=name, field=None, code=code[:64], message=reason))


def _deleted_one(session: Session, integration: Integration, employee_id: str | None) -> ScimUser | None:
    """The User this integration deleted whose member still holds this employee ID (a leaver in its 60 days)."""
    if not employee_id:
        return None
    return session.scalar(select(ScimUser).join(Member, Member.id == ScimUser.member_id).where(
        ScimUser.integration_id == integration.id, ScimUser.deleted_at.is_not(None),
        Member.employee_id == employee_id.strip()))


def create(session: Session, integration: Integration, values: ScimValues) -> Member:
    """A new member owned by the SCIM integration (invited when its welcome e-mail is on; pending when
    the User is inactive); a User this integration deleted comes back instead (within its 60 days)."""
    deleted = _deleted_one(session, integration, values.fields.get("employee_id"))
    if deleted is not None:
        member = session.get_one(Member, deleted.member_id)
        deleted.deleted_at = None
        replace(session, integration, member, deleted, values)
        return member
    _refuse_taken_user_name(session, integration, values.user_name, None)
    programme = session.get_one(Programme, integration.programme_id)
    run = _history(session, integration)
    member = door.add_member(session, programme, values.member_values(), None, invite=integration.welcome_email,
                             active=values.active, by=_writer(integration, run))
    session.add(ScimUser(member_id=member.id, integration_id=integration.id, user_name=values.user_name,
                         user_name_key=values.user_name.strip().lower(), external_id=values.external_id))
    session.flush()
    _count(run, "created")
    return member


def replace(session: Session, integration: Integration, member: Member, scim: ScimUser,
            values: ScimValues) -> bool:
    """The member as the User now says (a PUT, or a PATCH once applied); True when its deactivation
    was held for an owner's approval instead (:mod:`hrsync.services.scim_hold`)."""
    _refuse_taken_user_name(session, integration, values.user_name, member.id)
    programme = session.get_one(Programme, integration.programme_id)
    run = _history(session, integration)
    by = _writer(integration, run)
    if door.edit_member(session, programme, member, values.member_values(), None, by=by):
        _count(run, "updated")
    scim.user_name, scim.user_name_key = values.user_name, values.user_name.strip().lower()
    scim.external_id = values.external_id
    held = False
    if values.active:
        scim_hold.release(session, integration, member)
        if member.status == MemberStatus.LEAVER.value:
            door.mark_eligible(session, programme, member, None, by=by)
            _count(run, "reinstated")
        elif member.status == MemberStatus.PENDING.value:
            door.start_member(session, programme, member, invite=integration.welcome_email, by=by)
            _count(run, "updated")
    elif member.status in _WITH_ACCESS:
        held = _leave_or_hold(session, integration, member, programme, run)
    session.flush()
    return held


def deactivate(session: Session, integration: Integration, member: Member, scim: ScimUser) -> bool:
    """``DELETE``: a leaver following the close-down (nothing is deleted at once); the User is gone for
    the client from now on. True when the deactivation was held for an owner's approval."""
    held = False
    if member.status != MemberStatus.LEAVER.value:
        programme = session.get_one(Programme, integration.programme_id)
        held = _leave_or_hold(session, integration, member, programme, _history(session, integration))
    if not held:
        scim.deleted_at = utcnow()
    return held


def _leave_or_hold(session: Session, integration: Integration, member: Member, programme: Programme,
                   run: ImportRun) -> bool:
    reason = scim_hold.must_hold(session, integration)
    if reason is not None:
        scim_hold.hold(session, integration, member, reason)
        return True
    door.mark_ineligible(session, programme, member, None, by=_writer(integration, run))
    _count(run, "leavers")
    return False
