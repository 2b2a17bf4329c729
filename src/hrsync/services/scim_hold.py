"""The mass-change brake for the SCIM door: deactivations past the leaver threshold wait for a person.

An identity provider that loses its group assignment or its directory connection deactivates
everyone. So a deactivation (``active: false`` or ``DELETE``) is **held** instead of applied when the
integration's deactivations of the last hour, this one included, pass the integration's leaver
threshold by the imports' own rule (:func:`hrsync.domain.brake.too_many_leavers`: more than the
threshold's share of its active members, and at least five). A held deactivation joins one held
run of the integration (trigger ``scim``): the owner is e-mailed as for a held import, and
approves it (the members become leavers, through the runner's own apply) or rejects it (they stay
as they are) like any held run. While a run is held, every further deactivation joins it; a User
activated again meanwhile leaves it. The client is answered ``202 Accepted`` with the User as it
still is (``active: true``): the change was accepted, not applied.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrsync.domain.brake import too_many_leavers
from hrsync.domain.plan_types import ChangeKind, PlannedChange, SyncPlan
from hrsync.domain.vocabulary import MemberStatus, access_until_for, programme_today
from hrsync.store.models import ImportRun, Integration, Member, MemberEvent, Programme, RunStatus, RunTrigger
from hrsync.store.types import utcnow
from hrsync.sync.finish import finish_run
from hrsync.sync.runs import HELD_PLAN_LIFETIME, next_run_number

_LIVE = (MemberStatus.ACTIVE.value, MemberStatus.INVITED.value, MemberStatus.PENDING.value)


def held_run(session: Session, integration: Integration) -> ImportRun | None:
    return session.scalar(select(ImportRun).where(
        ImportRun.integration_id == integration.id, ImportRun.trigger == RunTrigger.SCIM.value,
        ImportRun.status == RunStatus.HELD.value))


def must_hold(session: Session, integration: Integration) -> str | None:
    """Why one more deactivation now must wait for a person, or None to apply it."""
    if held_run(session, integration) is not None:
        return "held"
    recent = session.scalar(
        select(func.count()).select_from(MemberEvent).join(ImportRun, ImportRun.id == MemberEvent.run_id).where(
            ImportRun.integration_id == integration.id, ImportRun.trigger == RunTrigger.SCIM.value,
            MemberEvent.kind == "leaver", MemberEvent.created_at >= utcnow() - timedelta(hours=1))) or 0
    live = session.scalar(select(func.count()).select_from(Member).where(
        Member.integration_id == integration.id, Member.status.in_(_LIVE))) or 0
    decision = too_many_leavers(recent + 1, live + recent, integration.leaver_threshold_pct,
                                what="The identity provider's deactivations of the last hour")
    return decision.reason if decision.hold else None


def _plan(run: ImportRun) -> SyncPlan:
    if run.plan:
        return SyncPlan.from_json(run.plan)
    return SyncPlan(changes=[], unchanged_count=0, issues=[], source_count=0)


def hold(session: Session, integration: Integration, member: Member, reason: str) -> None:
    """Add the member's deactivation to the integration's held run (made, and its owner told, on first use)."""
    run = held_run(session, integration)
    first = run is None
    if run is None:
        now = utcnow()
        run = ImportRun(integration_id=integration.id, programme_id=integration.programme_id,
                        trigger=RunTrigger.SCIM.value, status=RunStatus.RUNNING.value, created_at=now,
                        started_at=now, number=next_run_number(session, integration.id))
        session.add(run)
        session.flush()
    plan = _plan(run)
    if any(change.member_id == member.id for change in plan.changes):
        return
    today = programme_today(session.get_one(Programme, integration.programme_id).timezone)
    plan.changes.append(PlannedChange(
        ChangeKind.LEAVER, member.employee_id or "", member.id, None,
        {"status": (member.status, MemberStatus.LEAVER.value)}, MemberStatus.LEAVER, today,
        None, today, access_until_for(today)))
    _store(session, run, plan, reason if first else run.reason)


def release(session: Session, integration: Integration, member: Member) -> None:
    """A User activated again while its deactivation is held: it leaves the held run."""
    run = held_run(session, integration)
    if run is None:
        return
    plan = _plan(run)
    kept = [change for change in plan.changes if change.member_id != member.id]
    if len(kept) != len(plan.changes):
        plan.changes[:] = kept
        run.plan = plan.to_json()
        run.leavers = len(kept)


def _store(session: Session, run: ImportRun, plan: SyncPlan, reason: str | None) -> None:
    run.leavers = len(plan.changes)
    run.total = run.processed = len(plan.changes)
    if run.status == RunStatus.HELD.value:
        run.plan = plan.to_json()
        return
    run.expires_at = utcnow() + HELD_PLAN_LIFETIME
    finish_run(session, run, RunStatus.HELD, reason=reason, plan=plan.to_json())


def is_held(session: Session, integration: Integration, member: Member) -> bool:
    run = held_run(session, integration)
    return run is not None and any(change.member_id == member.id for change in _plan(run).changes)
