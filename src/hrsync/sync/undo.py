"""Undoing an import: the member events a run wrote, played backwards, as a run of its own.

The events are the source of truth (``MemberEvent.changes`` = ``{field: [old, new]}``):

============  ====================================================================================
event         reversal
============  ====================================================================================
created,      LEAVER today (the usual 60-day close-down follows); invitations already sent are not
pending       recalled
updated       UPDATE: every changed field back to its old value (employee ID, address, HR record,
              names, attributes, status, and the employment status and start date the run wrote)
leaver        REINSTATE to the status before (invited, active or pending), leaving dates cleared
reinstated    LEAVER again with the leaving dates the reinstatement cleared (events written before
              hrsync kept them cannot be undone: those members are skipped with a reason)
============  ====================================================================================

A member is **skipped** (a warning on the undo run, named in its warnings file) when it changed
after the run: a later member event (another import, an invitation accepted, a pre-hire's start,
the close-down), a write since the run (``updated_at``), or any value that is no longer what the
run left; also when its personal data was deleted, or when putting back its employee ID or address
would clash with another member's. The rest is planned as a :class:`~hrsync.domain.SyncPlan` of
changes without drafts, checked by the mass-change brake like any import (held for approval when it
would make too many leavers: :mod:`hrsync.sync.decisions` applies it then) and written by the
import's own writer (:func:`hrsync.sync.apply.apply_plan`) in the caller's one transaction, which
also clears the fingerprint of every member it writes (no draft: no fingerprint), so the next
import takes them the full way. Decision 0027 says why each rule is what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrsync.domain import (
    BrakeDecision,
    ChangeKind,
    CurrentMember,
    MemberStatus,
    PlannedChange,
    RecordIssue,
    Severity,
    SyncPlan,
    check_brake,
)
from hrsync.domain.fields import EMPLOYEE_ID
from hrsync.domain.plan_types import Changes, member_basis
from hrsync.domain.vocabulary import access_until_for, email_key, programme_today
from hrsync.errors import RunBlocked, RunNotFound, ServiceError
from hrsync.notify.outbox import UNDONE_REASON, cancel_invitations
from hrsync.store import activity
from hrsync.store.locks import hold_row
from hrsync.store.models import (
    ImportRun,
    Integration,
    Member,
    MemberEvent,
    Programme,
    RunPhase,
    RunStatus,
    RunTrigger,
)
from hrsync.store.types import IN_CHUNK, utcnow
from hrsync.sync.apply import LEAVER_DATES, apply_plan
from hrsync.sync.context import mapping_of
from hrsync.sync.finish import finish_run, record_counts, store_issues
from hrsync.sync.runs import HELD_PLAN_LIFETIME, RunOutcome, active_run, expire_held_runs, next_run_number, worker_name

UNDO_WINDOW: Final = timedelta(days=60)
UNDO_SKIPPED: Final = "undo_skipped"
_KEY_COLUMNS: Final = ("first_name", "last_name", "email", "employee_id", "source_id", "status")
_DATE_COLUMNS: Final = ("start_date", *LEAVER_DATES)
_UNDONE_STATUSES: Final = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.HELD,
                           RunStatus.SUCCEEDED, RunStatus.SUCCEEDED_WITH_ERRORS)


# ------------------------------------------------------------------------------------------------
# which runs can be undone
# ------------------------------------------------------------------------------------------------


def undo_refusal(session: Session, run: ImportRun, now: datetime | None = None) -> str | None:
    """Why ``run`` cannot be undone (one sentence for people), or ``None`` when it can."""
    title = f"Import #{run.number or run.id}"
    if run.trigger == RunTrigger.UNDO.value:
        return (f"{title} is itself an undo, and an undo cannot be undone: run an import to bring the "
                "HR system's values back.")
    if run.trigger == RunTrigger.SCIM.value:
        return (f"{title} holds the changes your identity provider sent over SCIM: change the users there, "
                "and it sends the changes again.")
    if run.dry_run:
        what = "preview" if run.trigger == RunTrigger.PREVIEW.value else "dry run"
        return f"{title} was a {what}: it changed no member, so there is nothing to undo."
    if run.status == RunStatus.HELD.value:
        return f"{title} is held and changed no member yet: reject it instead of undoing it."
    if run.status == RunStatus.FAILED.value:
        return f"{title} failed and changed no member: there is nothing to undo."
    if run.status in (RunStatus.REJECTED.value, RunStatus.EXPIRED.value):
        return f"{title} was {run.status} and changed no member: there is nothing to undo."
    if run.status not in (RunStatus.SUCCEEDED.value, RunStatus.SUCCEEDED_WITH_ERRORS.value):
        return f"{title} is still {run.status}: wait for it to finish."
    finished = run.finished_at or run.created_at
    if (now or utcnow()) - finished > UNDO_WINDOW:
        return f"{title} finished more than {UNDO_WINDOW.days} days ago: it can no longer be undone."
    earlier = session.scalar(
        select(ImportRun).where(
            ImportRun.undo_of_id == run.id,
            ImportRun.status.in_([s.value for s in _UNDONE_STATUSES]),
        ).limit(1)
    )
    if earlier is not None:
        return f"{title} was already undone by import #{earlier.number or earlier.id}; a run can be undone once."
    integration = session.get(Integration, run.integration_id)
    key = None if integration is None else mapping_of(integration).get(EMPLOYEE_ID)
    if integration is not None and integration.key_source and key != integration.key_source:
        return (f"The employee ID's field changed in the mapping since {title}: run an import first, "
                "then undo is possible for imports made from then on.")
    if not session.scalar(select(func.count()).select_from(MemberEvent).where(MemberEvent.run_id == run.id)):
        return f"{title} changed no member: there is nothing to undo."
    return None


# ------------------------------------------------------------------------------------------------
# planning the reversal
# ------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    """A member as stored now, with what the reversal compares and restores."""

    id: int
    employee_id: str | None
    email: str | None
    status: str
    first_name: str | None
    last_name: str | None
    attributes: dict[str, Any]
    source_id: str | None
    employment_status: str | None
    start_date: date | None
    leaving_date: date | None
    leaver_since: date | None
    access_until: date | None
    updated_at: datetime

    def value(self, key: str) -> Any:
        if key in _KEY_COLUMNS or key == "employment_status":
            return getattr(self, key)
        if key in _DATE_COLUMNS:
            stored = getattr(self, key)
            return None if stored is None else stored.isoformat()
        return self.attributes.get(key)

    def current(self) -> CurrentMember:
        values: dict[str, str | None] = dict(self.attributes)
        values.update(first_name=self.first_name, last_name=self.last_name)
        return CurrentMember(self.id, self.employee_id or "", self.email or "", MemberStatus(self.status), values,
                             self.source_id, self.leaver_since)


@dataclass
class UndoPlan:
    """The reversal of one run: the plan to write, how many events it read, and the brake's word."""

    plan: SyncPlan
    events: int
    brake: BrakeDecision = field(default_factory=lambda: BrakeDecision(False))

    @property
    def skipped(self) -> list[RecordIssue]:
        return [i for i in self.plan.issues if i.code == UNDO_SKIPPED]


def _rows(session: Session, ids: list[int]) -> dict[int, _Row]:
    found: dict[int, _Row] = {}
    columns = (Member.id, Member.employee_id, Member.email, Member.status, Member.first_name, Member.last_name,
               Member.attributes, Member.source_id, Member.employment_status, Member.start_date,
               Member.leaving_date, Member.leaver_since, Member.access_until, Member.updated_at)
    for i in range(0, len(ids), IN_CHUNK):
        for r in session.execute(select(*columns).where(Member.id.in_(ids[i:i + IN_CHUNK]))):
            found[r[0]] = _Row(r[0], r[1], r[2], r[3], r[4], r[5], dict(r[6] or {}), *r[7:])
    return found


def _latest_events(session: Session, ids: list[int]) -> dict[int, int]:
    """Each member's newest event id (any writer: imports, invitations, the close-down)."""
    latest: dict[int, int] = {}
    for i in range(0, len(ids), IN_CHUNK):
        rows = session.execute(
            select(MemberEvent.member_id, func.max(MemberEvent.id))
            .where(MemberEvent.member_id.in_(ids[i:i + IN_CHUNK])).group_by(MemberEvent.member_id)
        )
        latest.update({mid: int(eid) for mid, eid in rows if mid is not None})
    return latest


def _pairs(changes: Any) -> dict[str, tuple[Any, Any]]:
    if not isinstance(changes, dict):
        return {}
    return {k: (v[0], v[1]) for k, v in changes.items() if isinstance(v, (list, tuple)) and len(v) == 2}


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def plan_undo(session: Session, run: ImportRun, today: date, threshold_pct: float) -> UndoPlan:
    """The reversal of ``run``'s member events against the members as they are now (reads only)."""
    events = session.execute(
        select(MemberEvent.id, MemberEvent.member_id, MemberEvent.kind, MemberEvent.changes)
        .where(MemberEvent.run_id == run.id).order_by(MemberEvent.id)
    ).all()
    ids = [e.member_id for e in events if e.member_id is not None]
    rows = _rows(session, ids)
    latest = _latest_events(session, ids)
    finished = run.finished_at or run.created_at
    changes: list[PlannedChange] = []
    warnings: list[RecordIssue] = []

    def skip(row: _Row | None, why: str) -> None:
        warnings.append(RecordIssue(
            Severity.WARNING, UNDO_SKIPPED,
            f"Not undone: {why}. This member was left as it is now.",
            None, None if row is None else row.employee_id, None if row is None else row.source_id,
        ))

    for event_id, member_id, kind, raw in events:
        row = rows.get(member_id) if member_id is not None else None
        if row is None or row.status == MemberStatus.DELETED.value:
            skip(row, "the member's personal data was deleted by the close-down since")
            continue
        if latest.get(row.id, event_id) > event_id or row.updated_at > finished:
            skip(row, "the member changed after this import (a later import, an invitation accepted or sent "
                      "again, a start date reached, or the close-down)")
            continue
        recorded = _pairs(raw)
        moved = [k for k, (_old, new) in recorded.items() if row.value(k) != new]
        if moved:
            skip(row, f"its {', '.join(sorted(moved))} changed after this import")
            continue
        change = _reversal(kind, row, recorded, today)
        if change is None:
            skip(row, "this import was recorded before hrsync kept the leaving dates a reinstatement "
                      "cleared, so they cannot be put back")
            continue
        changes.append(change)

    changes = _without_clashes(session, run.programme_id, changes, {r.id: r for r in rows.values()}, skip)
    plan = SyncPlan(changes=changes, unchanged_count=0, issues=warnings, source_count=len(events))
    active, total = _member_counts(session, run.programme_id)
    brake = check_brake(plan, active_members=active, total_members=total, threshold_pct=threshold_pct)
    return UndoPlan(plan, len(events), brake)


def _reversal(kind: str, row: _Row, recorded: dict[str, tuple[Any, Any]], today: date) -> PlannedChange | None:
    """The change that takes ``row`` back to before the event; ``None`` when the event lacks what is needed."""
    back: Changes = {k: (new, old) for k, (old, new) in recorded.items() if k not in LEAVER_DATES}
    employee_id = row.employee_id or ""
    basis = member_basis(row.current())
    if kind in ("created", "pending"):
        leaver = MemberStatus.LEAVER
        return PlannedChange(ChangeKind.LEAVER, employee_id, row.id, None, {"status": (row.status, leaver.value)},
                             leaver, today, basis, today, access_until_for(today))
    if kind == "leaver":
        previous = MemberStatus(back["status"][1] or MemberStatus.ACTIVE.value)
        return PlannedChange(ChangeKind.REINSTATE, employee_id, row.id, None, back, previous, basis=basis)
    if kind == "reinstated":
        if any(k not in recorded for k in LEAVER_DATES):
            return None
        since = _date(recorded["leaver_since"][0])
        return PlannedChange(ChangeKind.LEAVER, employee_id, row.id, None, back, MemberStatus.LEAVER,
                             _date(recorded["leaving_date"][0]), basis, since,
                             _date(recorded["access_until"][0]))
    return PlannedChange(ChangeKind.UPDATE, employee_id, row.id, None, back, basis=basis)


def _without_clashes(session: Session, programme_id: int, changes: list[PlannedChange], rows: dict[int, _Row],
                     skip: Any) -> list[PlannedChange]:
    """Drop the reversals whose restored employee ID or address another member holds after the undo
    (say a new hire of the run took an address another member gave up), until none clashes."""
    movers = [c for c in changes if "employee_id" in c.changes or "email" in c.changes]
    if not movers:
        return changes
    holders: dict[tuple[str, str], set[int]] = {}
    for mid, employee_id, email_lower in session.execute(
        select(Member.id, Member.employee_id, Member.email_lower)
        .where(Member.programme_id == programme_id, Member.status != MemberStatus.DELETED.value)
    ):
        if employee_id:
            holders.setdefault(("id", employee_id), set()).add(mid)
        if email_lower:
            holders.setdefault(("email", email_lower), set()).add(mid)
    kept = list(changes)
    while True:
        claims = {key: set(ids) for key, ids in holders.items()}
        for c in kept:
            assert c.member_id is not None
            for name, column in (("id", "employee_id"), ("email", "email")):
                if column in c.changes:
                    old, new = c.changes[column]
                    old_key = old if name == "id" else email_key(old)
                    new_key = new if name == "id" else email_key(new)
                    if old_key:
                        claims.get((name, old_key), set()).discard(c.member_id)
                    if new_key:
                        claims.setdefault((name, new_key), set()).add(c.member_id)
        clashing = {mid for ids in claims.values() if len(ids) > 1 for mid in ids}
        dropped = [c for c in kept if c.member_id in clashing and ("employee_id" in c.changes or "email" in c.changes)]
        if not dropped:
            return kept
        for c in dropped:
            skip(rows.get(c.member_id or 0), "its old employee ID or e-mail address now belongs to another member")
        kept = [c for c in kept if c not in dropped]


def _member_counts(session: Session, programme_id: int) -> tuple[int, int]:
    rows = dict(session.execute(
        select(Member.status, func.count()).where(Member.programme_id == programme_id).group_by(Member.status)
    ).all())
    active = int(rows.get(MemberStatus.ACTIVE.value, 0)) + int(rows.get(MemberStatus.INVITED.value, 0))
    total = sum(int(n) for s, n in rows.items() if s != MemberStatus.DELETED.value)
    return active, total


# ------------------------------------------------------------------------------------------------
# the undo run
# ------------------------------------------------------------------------------------------------


def _undoable(session: Session, run_id: int, programme_id: int | None, *,
              hold: bool = False) -> tuple[ImportRun, Integration, Programme]:
    """The run, its integration and programme; ``hold`` (to undo it) locks the run's row first, on
    SQLite too, so of two undos at the same moment one waits, then sees the other's and refuses."""
    run = hold_row(session, ImportRun, run_id) if hold else session.get(ImportRun, run_id)
    if run is None or (programme_id is not None and run.programme_id != programme_id):
        raise RunNotFound(run_id)
    reason = undo_refusal(session, run)
    if reason is not None:
        raise ServiceError(reason, code="not_undoable")
    integration = session.get(Integration, run.integration_id)
    programme = session.get(Programme, run.programme_id)
    assert integration is not None and programme is not None
    return run, integration, programme


def preview_undo(session: Session, run_id: int, *, programme_id: int | None = None) -> UndoPlan:
    """What undoing ``run_id`` would do now (nothing written). Raises ``ServiceError`` if it cannot be undone."""
    run, integration, programme = _undoable(session, run_id, programme_id)
    return plan_undo(session, run, programme_today(programme.timezone), integration.leaver_threshold_pct)


def undo_run(
    session: Session, run_id: int, *, admin_id: int | None = None, programme_id: int | None = None,
) -> RunOutcome:
    """Undo ``run_id`` as a new run (trigger ``undo``) in the caller's transaction: applied, or held by
    the brake for approval. Raises ``ServiceError`` when it cannot be undone, ``RunBlocked`` while
    another run of the integration is active."""
    run, integration, programme = _undoable(session, run_id, programme_id, hold=True)
    expire_held_runs(session)
    current = active_run(session, integration.id)
    if current is not None:
        raise RunBlocked(f"Run {current.id} is {current.status}: wait for it (or decide on it) before undoing.",
                         current.id)
    now = utcnow()
    undo = ImportRun(
        integration_id=integration.id, programme_id=programme.id, number=next_run_number(session, integration.id),
        trigger=RunTrigger.UNDO.value, triggered_by_id=admin_id, undo_of_id=run.id, dry_run=False,
        status=RunStatus.RUNNING.value, phase=RunPhase.APPLYING.value, worker_id=worker_name(),
        started_at=now, heartbeat_at=now, attempts=1,
    )
    try:
        with session.begin_nested():
            session.add(undo)
            session.flush()
    except IntegrityError:
        raise RunBlocked("Another run of this integration has just started.", None) from None
    activity.record(session, programme_id=programme.id, integration_id=integration.id, admin_id=admin_id,
                    action="undo_requested", detail={"run_id": undo.id, "undo_of": run.id})
    reversal = plan_undo(session, run, programme_today(programme.timezone), integration.leaver_threshold_pct)
    if reversal.brake.hold:
        record_counts(undo, reversal.plan)
        store_issues(session, undo.id, reversal.plan.issues)
        undo.expires_at = utcnow() + HELD_PLAN_LIFETIME
        return finish_run(session, undo, RunStatus.HELD, reason=reversal.brake.reason, plan=reversal.plan.to_json())
    outcome = apply_plan(session, undo, reversal.plan)
    # the members this undo takes back are not invited any more: their waiting invitations are
    # cancelled (and say so on the E-mails page), not left to fail at the sender
    cancel_invitations(session, [c.member_id for c in reversal.plan.changes
                                 if c.kind == ChangeKind.LEAVER and c.member_id is not None], reason=UNDONE_REASON)
    return outcome


def undo_summary(reversal: UndoPlan) -> dict[str, int]:
    """The counts a confirmation shows: values restored, leavers brought back, members made leavers, skipped."""
    counts = reversal.plan.counts()
    return {
        "restored": counts["updated"], "reinstated": counts["reinstated"], "leavers": counts["leavers"],
        "skipped": len(reversal.skipped), "events": reversal.events,
    }


__all__ = ["UNDO_SKIPPED", "UNDO_WINDOW", "UndoPlan", "plan_undo", "preview_undo", "undo_refusal", "undo_run",
           "undo_summary"]
