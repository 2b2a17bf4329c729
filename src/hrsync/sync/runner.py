"""One import, from start to finish: read everything → plan → brake → apply once → report.

The order is the safety:

1. **Read** the whole directory through the source (retries live in the connector). Nothing is
   written to members while reading, so a failed read changes no member.
2. **Plan** with the pure domain (:func:`hrsync.domain.plan_sync`) against the members as stored.
   Leavers are decided here, only after the whole directory was read.
3. **Brake**: a plan that would make too many leavers, or an empty directory for a programme
   with members, is **held** (plan stored, nothing applied) for an administrator.
4. **Apply** members, member events, record issues, invitations and the administrator's summary
   e-mail in **one transaction**, then finish the run with exact counts. A crash before the
   commit leaves the database as it was; the run is then marked failed by whoever notices
   (this process, or the stale-run recovery of :mod:`hrsync.jobs`).

Progress (phase, processed/total, heartbeat) is written on the run row in short separate
transactions, so the portal can show a live bar from any process.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain import (
    ChangeKind,
    CurrentMember,
    MemberStatus,
    PlannedChange,
    PlanOptions,
    RecordIssue,
    SyncPlan,
    build_draft,
    check_brake,
    mapping_needs_job_details,
    plan_sync,
    recheck_held_plan,
)
from hrsync.domain.fields import EMPLOYEE_ID
from hrsync.domain.records import MemberDraft, Severity, compile_mapping
from hrsync.domain.vocabulary import access_until_for
from hrsync.lifecycle.tokens import TokenPurpose, revoke_member_links
from hrsync.logs import run_context
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import mapping_of, source_for
from hrsync.sources.base import Source, SourceError
from hrsync.store.db import session_factory
from hrsync.store.enums import ACTIVE_RUN_STATUSES
from hrsync.store.models import (
    ImportIssue,
    ImportRun,
    Integration,
    IntegrationStatus,
    Member,
    MemberEvent,
    Programme,
    RunPhase,
    RunStatus,
    RunTrigger,
    email_key,
)
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

HELD_PLAN_LIFETIME = timedelta(days=7)
LEAVER_WINDOW_DAYS = 60
PROGRESS_INTERVAL = 0.5  # seconds between progress writes
HEARTBEAT_INTERVAL = 30.0  # seconds; stale-run recovery waits much longer (see hrsync.jobs)
GC_FREEZE_EVERY = 5_000  # people read between two moves of the kept drafts out of the GC's sight
IN_CHUNK = 10_000  # ids per IN (...) list: SQLite allows at most 32,766 parameters a statement
COUNT_KEYS = ("created", "updated", "unchanged", "leavers", "reinstated", "pending", "errors", "warnings")
_COLUMN_FIELDS = ("first_name", "last_name")  # member fields with a column; the rest live in attributes
_FINISHED = frozenset(
    {
        RunStatus.SUCCEEDED, RunStatus.SUCCEEDED_WITH_ERRORS, RunStatus.REJECTED,
        RunStatus.EXPIRED, RunStatus.FAILED,
    }
)

SourceFactory = Callable[[Integration], Source]
TIME_LIMIT_REASON = (
    "The import ran past the worker's time limit (the read deadline HRSYNC_IMPORT_READ_DEADLINE plus time "
    "to plan and apply) and was stopped; no member was changed."
)


class RunBlocked(Exception):
    """Another run of the integration is queued, running or held: this one cannot start."""

    def __init__(self, reason: str, run_id: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.run_id = run_id


class RunNotFound(ServiceError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"Run {run_id} was not found.", code="not_found")


@dataclass(frozen=True)
class RunOutcome:
    """What the CLI prints and the API returns about a run."""

    id: int
    status: str
    counts: dict[str, int]
    reason: str | None
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, **self.counts, "reason": self.reason, "dry_run": self.dry_run}

    @classmethod
    def of(cls, run: ImportRun) -> RunOutcome:
        return cls(
            id=run.id,
            status=run.status,
            counts={k: int(getattr(run, k) or 0) for k in COUNT_KEYS},
            reason=run.reason,
            dry_run=run.dry_run,
        )


def key_changed(integration: Integration) -> bool:
    """Whether the mapping's key field differs from the one the members' employee IDs came from."""
    return integration.key_source is not None and integration.key_source != mapping_of(integration)[EMPLOYEE_ID]


def programme_today(programme: Programme, now: datetime | None = None) -> date:
    """Today's date where the programme is: leaver dates and windows use it, not the server's."""
    return (now or utcnow()).astimezone(ZoneInfo(programme.timezone)).date()


# ------------------------------------------------------------------------------------------------
# starting a run
# ------------------------------------------------------------------------------------------------


def active_run(session: Session, integration_id: int) -> ImportRun | None:
    return session.scalar(
        select(ImportRun).where(
            ImportRun.integration_id == integration_id,
            ImportRun.status.in_([s.value for s in ACTIVE_RUN_STATUSES]),
        )
    )


def _blocked_reason(run: ImportRun) -> str:
    if run.status == RunStatus.HELD:
        return f"Run {run.id} is held awaiting a decision: approve or reject it first."
    return f"Run {run.id} is already {run.status}."


def request_run(
    session: Session,
    integration_id: int,
    *,
    trigger: str = RunTrigger.MANUAL.value,
    triggered_by_id: int | None = None,
    dry_run: bool = False,
) -> ImportRun:
    """Queue a run inside the caller's transaction, or raise :class:`RunBlocked`.

    Real imports need a published integration with access; a dry run also works on a draft (the
    wizard's preview). The database's one-active-run index is the final word when two callers race.
    """
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise ServiceError(f"Integration {integration_id} was not found.", code="not_found")
    if not integration.api_key_encrypted:
        raise ServiceError(
            "This integration has no intelliHR access: re-authorize it with a new API key.", code="no_access"
        )
    if not dry_run and integration.status not in (IntegrationStatus.LIVE, IntegrationStatus.PAUSED):
        raise ServiceError("Publish the integration before importing (a dry run works before).", code="draft")
    expire_held_runs(session)
    current = active_run(session, integration_id)
    if current is not None:
        raise RunBlocked(_blocked_reason(current), current.id)
    run = ImportRun(
        integration_id=integration_id,
        programme_id=integration.programme_id,
        trigger=trigger,
        triggered_by_id=triggered_by_id,
        dry_run=dry_run,
        status=RunStatus.QUEUED.value,
        phase=RunPhase.QUEUED.value,
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        current = active_run(session, integration_id)
        raise RunBlocked(
            _blocked_reason(current) if current else "Another run has just started.",
            current.id if current else None,
        ) from None
    return run


def expire_held_runs(session: Session, now: datetime | None = None) -> int:
    """Held plans older than seven days expire: nothing applied, the integration unblocked."""
    now = now or utcnow()
    result = session.execute(
        update(ImportRun)
        .where(ImportRun.status == RunStatus.HELD.value, ImportRun.expires_at <= now)
        .values(status=RunStatus.EXPIRED.value, plan=None, finished_at=now,
                reason="The held import was neither approved nor rejected within 7 days.")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------------------------------------
# progress
# ------------------------------------------------------------------------------------------------


class _Progress:
    """Writes phase, processed/total and the heartbeat on the run row, at most twice a second."""

    def __init__(self, factory: sessionmaker[Session], run_id: int) -> None:
        self._factory = factory
        self._run_id = run_id
        self._last = 0.0
        self._lock = threading.Lock()

    def write(self, *, force: bool = False, **values: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < PROGRESS_INTERVAL:
                return
            self._last = now
        with self._factory() as session, session.begin():
            session.execute(
                update(ImportRun)
                .where(ImportRun.id == self._run_id)
                .values(heartbeat_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )

    def phase(self, phase: RunPhase, **values: Any) -> None:
        self.write(force=True, phase=phase.value, **values)

    def fetched(self, processed: int, total: int | None) -> None:
        self.write(processed=processed, total=total)


class _Heartbeat(threading.Thread):
    """Keeps ``heartbeat_at`` fresh while the run works, even through a long wait on the HR API or
    a long apply, so stale-run recovery only ever takes over runs whose worker really died."""

    def __init__(self, factory: sessionmaker[Session], run_id: int) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self._factory = factory
        self._run_id = run_id
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(HEARTBEAT_INTERVAL):
            try:
                with self._factory() as session, session.begin():
                    session.execute(
                        update(ImportRun)
                        .where(ImportRun.id == self._run_id, ImportRun.status == RunStatus.RUNNING.value)
                        .values(heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
            except Exception:
                log.debug("heartbeat of run %s not written", self._run_id, exc_info=True)

    def stop(self) -> None:
        self._stopped.set()


# ------------------------------------------------------------------------------------------------
# executing a run
# ------------------------------------------------------------------------------------------------


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _claim(factory: sessionmaker[Session], run_id: int, worker_id: str) -> bool:
    """queued → running, atomically: whoever loses the race does nothing."""
    with factory() as session, session.begin():
        result = session.execute(
            update(ImportRun)
            .where(ImportRun.id == run_id, ImportRun.status == RunStatus.QUEUED.value)
            .values(
                status=RunStatus.RUNNING.value, phase=RunPhase.FETCHING.value, worker_id=worker_id,
                started_at=utcnow(), heartbeat_at=utcnow(), attempts=ImportRun.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def _current_members(session: Session, programme_id: int) -> list[CurrentMember]:
    rows = session.execute(
        select(
            Member.id, Member.employee_id, Member.email, Member.status, Member.first_name,
            Member.last_name, Member.attributes, Member.source_id, Member.leaver_since,
        ).where(Member.programme_id == programme_id, Member.status != MemberStatus.DELETED.value)
    )
    members = []
    for mid, emp, email, status, first, last, attrs, source_id, leaver_since in rows:
        values: dict[str, str | None] = dict(attrs or {})
        values["first_name"] = first
        values["last_name"] = last
        members.append(
            CurrentMember(
                id=mid, employee_id=emp or "", email=email or "", status=MemberStatus(status),
                values=values, source_id=source_id, leaver_since=leaver_since,
            )
        )
    return members


def _read(
    source: Source, mapping: dict[str, str], progress: _Progress
) -> tuple[list[MemberDraft], list[RecordIssue], int]:
    compiled = compile_mapping(mapping)
    drafts: list[MemberDraft] = []
    issues: list[RecordIssue] = []
    count = 0
    for person in source.people(
        include_job_details=mapping_needs_job_details(mapping),
        on_progress=progress.fetched,
        fields=set(mapping.values()),
    ):
        count += 1
        if count % GC_FREEZE_EVERY == 0:
            gc.collect(1)  # young cyclic garbage (responses, tracebacks) goes; what is kept is frozen
            gc.freeze()
        draft, person_issues = build_draft(person, compiled)
        if draft is not None:
            drafts.append(draft)
        issues.extend(person_issues)
    return drafts, issues, count


def _fail(factory: sessionmaker[Session], run_id: int, reason: str) -> RunOutcome:
    """Finish a run as failed (members untouched) and queue the administrator's notice."""
    from hrsync.notify.outbox import queue_run_summary

    with factory() as session, session.begin():
        run = session.get(ImportRun, run_id)
        assert run is not None
        run.status = RunStatus.FAILED.value
        run.phase = RunPhase.DONE.value
        run.reason = reason
        run.plan = None
        run.finished_at = utcnow()
        session.flush()
        queue_run_summary(session, run)
        return RunOutcome.of(run)


def execute_run(
    run_id: int,
    *,
    url: str | None = None,
    worker_id: str | None = None,
    source_factory: SourceFactory | None = None,
) -> RunOutcome | None:
    """Run a queued import to its end. ``None`` when another worker already took it."""
    factory = session_factory(url)
    if not _claim(factory, run_id, worker_id or _worker_name()):
        return None
    progress = _Progress(factory, run_id)
    heartbeat = _Heartbeat(factory, run_id)
    heartbeat.start()
    try:
        with run_context(run_id):
            return _execute_logged(factory, run_id, progress, source_factory)
    finally:
        heartbeat.stop()


def _execute_logged(
    factory: sessionmaker[Session], run_id: int, progress: _Progress, source_factory: SourceFactory | None
) -> RunOutcome:
    log.info("run %s started", run_id)
    try:
        outcome = _execute(factory, run_id, progress, source_factory)
        log.info("run %s finished: %s", run_id, outcome.status)
        return outcome
    except SourceError as exc:
        log.warning("run %s failed reading the source: %s", run_id, exc.reason)
        return _fail(factory, run_id, exc.reason)
    except ServiceError as exc:
        return _fail(factory, run_id, exc.reason)
    except SoftTimeLimitExceeded:  # Celery's task time limit (hrsync.jobs.celery_app.time_limits)
        log.warning("run %s stopped at the worker's time limit", run_id)
        return _fail(factory, run_id, TIME_LIMIT_REASON)
    except Exception:
        log.exception("run %s crashed", run_id)
        return _fail(factory, run_id, "The import stopped on an internal error; no member was changed.")


def _execute(
    factory: sessionmaker[Session], run_id: int, progress: _Progress, source_factory: SourceFactory | None
) -> RunOutcome:
    with factory() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        integration = session.get(Integration, run.integration_id)
        assert integration is not None
        programme = session.get(Programme, integration.programme_id)
        assert programme is not None
        mapping = mapping_of(integration)
        dry_run = run.dry_run
        source = source_factory(integration) if source_factory else source_for(integration)

    # Hundreds of thousands of long-lived drafts: the cyclic garbage collector would re-scan them
    # over and over while they pile up and while the plan is built (a third of the time
    # otherwise), so what is kept is moved out of its sight as it accumulates (see _read).
    try:
        try:
            drafts, issues, source_count = _read(source, mapping, progress)
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()
        gc.freeze()
        return _plan_and_finish(factory, run_id, progress, integration, programme, dry_run,
                                drafts, issues, source_count)
    finally:
        gc.unfreeze()


def _plan_and_finish(
    factory: sessionmaker[Session],
    run_id: int,
    progress: _Progress,
    integration: Integration,
    programme: Programme,
    dry_run: bool,
    drafts: list[MemberDraft],
    issues: list[RecordIssue],
    source_count: int,
) -> RunOutcome:
    """Plan against the members as stored, then hold, report (dry run) or apply."""
    progress.phase(RunPhase.PLANNING, processed=source_count, total=source_count)
    with factory() as session:
        current = _current_members(session, programme.id)
        today = programme_today(programme)
        options = PlanOptions(
            today=today,
            welcome_email=integration.welcome_email,
            blanks_clear_values=integration.blanks_clear_values,
            vanished_are_leavers=integration.vanished_are_leavers,
            leaver_window_days=LEAVER_WINDOW_DAYS,
            match_by_record=key_changed(integration),
        )
        plan = plan_sync(current, drafts, issues, options, source_count=source_count)
        active = sum(1 for m in current if m.status in (MemberStatus.ACTIVE, MemberStatus.INVITED))
        brake = check_brake(
            plan, active_members=active, total_members=len(current),
            threshold_pct=integration.leaver_threshold_pct,
        )

    if dry_run:
        return _finish_without_applying(factory, run_id, plan, RunStatus.SUCCEEDED, None, store_plan=False)
    if brake.hold:
        return _finish_without_applying(factory, run_id, plan, RunStatus.HELD, brake.reason, store_plan=True)

    progress.phase(RunPhase.APPLYING)
    with factory() as session, session.begin():
        # Locked: stale-run recovery waits for this apply to commit instead of failing the run under it.
        run = session.get(ImportRun, run_id, with_for_update=True)
        assert run is not None
        if run.status != RunStatus.RUNNING:
            raise ServiceError(f"Run {run_id} was taken over while it ran ({run.status}); nothing applied.")
        return _apply(session, run, plan, today)


def _finish_without_applying(
    factory: sessionmaker[Session],
    run_id: int,
    plan: SyncPlan,
    status: RunStatus,
    reason: str | None,
    *,
    store_plan: bool,
) -> RunOutcome:
    """A dry run or a held run: counts and issues recorded, no member touched."""
    from hrsync.notify.outbox import queue_run_summary

    with factory() as session, session.begin():
        run = session.get(ImportRun, run_id)
        assert run is not None
        _record_counts(run, plan)
        if status == RunStatus.SUCCEEDED and run.errors:
            status = RunStatus.SUCCEEDED_WITH_ERRORS
        run.status = status.value
        run.reason = reason
        run.phase = RunPhase.DONE.value
        if store_plan:
            run.plan = plan.to_json()
            run.expires_at = utcnow() + HELD_PLAN_LIFETIME
        else:
            run.plan = _preview(plan)
        run.finished_at = None if status == RunStatus.HELD else utcnow()
        _store_issues(session, run.id, plan.issues)
        session.flush()
        queue_run_summary(session, run)
        return RunOutcome.of(run)


PREVIEW_EXAMPLES = 5


def _preview(plan: SyncPlan) -> dict[str, Any]:
    """A dry run's examples of each kind of change (the wizard's review page shows them)."""
    examples: dict[str, list[dict[str, Any]]] = {}
    for change in plan.changes:
        bucket = examples.setdefault(change.kind.value, [])
        if len(bucket) < PREVIEW_EXAMPLES:
            shown: dict[str, list[str | None]] = {}
            if change.kind in (ChangeKind.CREATE, ChangeKind.PENDING) and change.draft is not None:
                # a new member's own details say more than "status → invited"
                shown["email"] = [None, change.draft.email]
                shown.update({k: [None, v] for k, v in change.draft.values.items() if v is not None})
            shown.update({k: [old, new] for k, (old, new) in change.changes.items()})
            bucket.append({"employee_id": change.employee_id, "changes": shown})
    return {"preview": examples}


def _record_counts(run: ImportRun, plan: SyncPlan) -> None:
    for key, value in plan.counts().items():
        setattr(run, key, value)
    run.processed = plan.source_count
    run.total = plan.source_count


def _store_issues(session: Session, run_id: int, issues: Iterable[RecordIssue]) -> None:
    session.execute(delete(ImportIssue).where(ImportIssue.run_id == run_id))
    rows = [
        {
            "run_id": run_id, "severity": i.severity.value, "employee_id": i.employee_id,
            "source_id": i.source_id, "field": i.field, "code": i.code, "message": i.message,
        }
        for i in issues
    ]
    if rows:
        session.execute(insert(_table(ImportIssue)), rows)


# ------------------------------------------------------------------------------------------------
# applying a plan (one transaction, the caller's)
# ------------------------------------------------------------------------------------------------


def _table(model: type[Any]) -> Table:
    """The Core table of a model: bulk inserts through Core skip the ORM's per-row bookkeeping."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _split_values(values: dict[str, str | None]) -> tuple[dict[str, Any], dict[str, str | None]]:
    columns = {k: values[k] for k in _COLUMN_FIELDS if k in values}
    attributes = {k: v for k, v in values.items() if k not in _COLUMN_FIELDS}
    return columns, attributes


def _apply(session: Session, run: ImportRun, plan: SyncPlan, today: date) -> RunOutcome:
    """Write a plan: existing members first (keys they give up freed before anyone takes them), then
    new members in chunks, then issues, invitations and the summary; all in the caller's transaction."""
    from hrsync.notify.outbox import queue_invitations, queue_run_summary

    integration = session.get(Integration, run.integration_id)
    programme = session.get(Programme, run.programme_id)
    assert integration is not None and programme is not None
    now = utcnow()
    invite = integration.welcome_email and integration.status == IntegrationStatus.LIVE
    writer = _MemberWriter(session, run, programme.id, integration.id, now, invite)
    integration.key_source = mapping_of(integration)[EMPLOYEE_ID]  # the members' IDs come from it now

    # Existing members before new ones: an address (or employee ID) one member gives up may be
    # taken by another member or a new hire in the same import.
    invitees = writer.update_existing([c for c in plan.changes if c.kind not in _NEW_KINDS], today)
    new = [c for c in plan.changes if c.kind in _NEW_KINDS]
    # In chunks, each with its events and invitations, so 100,000 new members never sit in memory
    # three times over as rows, events and e-mails at once.
    for i in range(0, len(new), IN_CHUNK):
        new_invitees = writer.insert_new(new[i:i + IN_CHUNK])
        if invite:
            queue_invitations(session, new_invitees, programme, now=now)

    plan.issues.extend(_revoke_links_to_old_addresses(session, writer.readdressed, now))
    _store_issues(session, run.id, plan.issues)
    if invite:
        queue_invitations(session, invitees, programme, now=now)

    _record_counts(run, plan)
    run.status = (RunStatus.SUCCEEDED_WITH_ERRORS if run.errors else RunStatus.SUCCEEDED).value
    run.phase = RunPhase.DONE.value
    run.plan = None
    run.finished_at = utcnow()
    session.flush()
    queue_run_summary(session, run)
    return RunOutcome.of(run)


_NEW_KINDS = (ChangeKind.CREATE, ChangeKind.PENDING)
Invitee = tuple[int, str, date | None]  # (member id, e-mail, start date)


class _MemberWriter:
    """Turns planned changes into member rows and events (one apply, the caller's transaction)."""

    def __init__(self, session: Session, run: ImportRun, programme_id: int, integration_id: int,
                 now: datetime, invite: bool) -> None:
        self.session = session
        self.run_id = run.id
        self.programme_id = programme_id
        self.integration_id = integration_id
        self.now = now
        self.invite = invite
        self.readdressed: list[tuple[int, str, str]] = []  # (member id, old address, new address)

    def _event(self, member_id: int, kind: str, change: PlannedChange) -> dict[str, Any]:
        return {
            "programme_id": self.programme_id, "member_id": member_id, "run_id": self.run_id, "kind": kind,
            "changes": {k: [old, new] for k, (old, new) in change.changes.items()},
            "actor": "import", "created_at": self.now,
        }

    def update_existing(self, changes: list[PlannedChange], today: date) -> list[Invitee]:
        """Update, make leavers and reinstate; return the members updated into ``invited``."""
        invitees: list[Invitee] = []
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        attribute_updates: dict[int, dict[str, str | None]] = {}
        for change in changes:
            assert change.member_id is not None
            params: dict[str, Any] = {"id": change.member_id, "updated_at": self.now}
            for field, (old_value, new_value) in change.changes.items():
                if field in _COLUMN_FIELDS or field in ("email", "source_id", "employee_id"):
                    params[field] = new_value
                    if field == "email":
                        params["email_lower"] = email_key(new_value)
                        if old_value and new_value and email_key(old_value) != email_key(new_value):
                            self.readdressed.append((change.member_id, old_value, new_value))
                elif field == "status":
                    params["status"] = new_value
                else:
                    attribute_updates.setdefault(change.member_id, {})[field] = new_value
            if change.draft is not None:
                params["employment_status"] = change.draft.employment_status
                if change.draft.start_date is not None:
                    params["start_date"] = change.draft.start_date
            if change.new_status is not None:
                params["status"] = change.new_status.value
            if change.kind == ChangeKind.LEAVER:
                params["leaving_date"] = change.leaving_date or today
                params["leaver_since"] = change.leaver_since or today
                params["access_until"] = change.access_until or access_until_for(today)
                events.append(self._event(change.member_id, "leaver", change))
            elif change.kind == ChangeKind.REINSTATE:
                params.update(leaving_date=None, leaver_since=None, access_until=None)
                events.append(self._event(change.member_id, "reinstated", change))
            else:
                events.append(self._event(change.member_id, "updated", change))
            if params.get("status") == MemberStatus.INVITED.value and change.draft is not None and self.invite:
                params["invited_at"] = self.now
                invitees.append((change.member_id, change.draft.email, change.draft.start_date))
            updates.append(params)
        self._merge_attributes(updates, attribute_updates)
        self._free_keys(updates)
        _bulk_update_members(self.session, updates)
        if events:
            self.session.execute(insert(_table(MemberEvent)), events)
        return invitees

    def _merge_attributes(self, updates: list[dict[str, Any]], extra: dict[int, dict[str, str | None]]) -> None:
        """Changed attributes are merged into the stored ones (the others are kept as they are)."""
        if not extra:
            return
        stored: dict[int, dict[str, Any] | None] = {}
        ids = list(extra)
        for i in range(0, len(ids), IN_CHUNK):
            rows_found = self.session.execute(
                select(Member.id, Member.attributes).where(Member.id.in_(ids[i:i + IN_CHUNK]))
            )
            stored.update({member_id: attributes for member_id, attributes in rows_found})
        for params in updates:
            changed = extra.get(params["id"])
            if changed:
                params["attributes"] = {**(stored.get(params["id"]) or {}), **changed}

    def _free_keys(self, updates: list[dict[str, Any]]) -> None:
        """Clear the unique keys that change before writing any new one.

        Both databases check a unique index row by row, so a swap (or a rotation, or an address
        handed from one member to another) written in any order meets a duplicate half-way.
        Cleared first, in the same transaction, every new value lands on a free slot.
        """
        for column in ("email_lower", "employee_id"):
            ids = [p["id"] for p in updates if column in p]
            for i in range(0, len(ids), IN_CHUNK):
                self.session.execute(
                    update(Member).where(Member.id.in_(ids[i:i + IN_CHUNK])).values({column: None})
                    .execution_options(synchronize_session=False)
                )

    def insert_new(self, chunk: list[PlannedChange]) -> list[Invitee]:
        """Insert one chunk of new members with their events; return those to invite."""
        rows = []
        for change in chunk:
            draft = change.draft
            assert draft is not None and change.new_status is not None
            columns, attributes = _split_values(draft.values)
            rows.append(
                {
                    "programme_id": self.programme_id, "integration_id": self.integration_id,
                    "employee_id": draft.employee_id, "email": draft.email,
                    "email_lower": email_key(draft.email), "status": change.new_status.value,
                    "employment_status": draft.employment_status, "source_id": draft.source_id,
                    "start_date": draft.start_date, "attributes": attributes,
                    "first_name": columns.get("first_name"), "last_name": columns.get("last_name"),
                    "invited_at": self.now if self.invite and change.new_status == MemberStatus.INVITED else None,
                    "created_at": self.now, "updated_at": self.now,
                }
            )
        # Core executemany, then one SELECT for the new ids: an INSERT ... RETURNING whose rows
        # must come back in parameter order costs minutes at 100,000 rows on SQLite.
        self.session.execute(insert(_table(Member)), rows)
        del rows
        id_of: dict[str | None, int] = {
            employee_id: member_id
            for employee_id, member_id in self.session.execute(
                select(Member.employee_id, Member.id).where(
                    Member.programme_id == self.programme_id,
                    Member.employee_id.in_([c.employee_id for c in chunk]),
                )
            )
        }
        invitees: list[Invitee] = []
        events = []
        for change in chunk:
            member_id = id_of[change.employee_id]
            events.append(self._event(member_id, "created" if change.kind == ChangeKind.CREATE else "pending", change))
            if change.new_status == MemberStatus.INVITED and change.draft is not None:
                invitees.append((member_id, change.draft.email, change.draft.start_date))
        self.session.execute(insert(_table(MemberEvent)), events)
        return invitees


LINKS_REVOKED = "links_revoked"


def _revoke_links_to_old_addresses(
    session: Session, readdressed: list[tuple[int, str, str]], now: datetime
) -> list[RecordIssue]:
    """An address that changed takes its open links with it: a set-password or reset link sent to
    the old address must not open the account (whoever reads that mailbox now). A member whose
    invitation link died this way is named in a warning, so the administrator can invite again."""
    if not readdressed:
        return []
    revoked = revoke_member_links(session, [member_id for member_id, _old, _new in readdressed], now=now)
    issues = []
    for member_id, old, new in readdressed:
        if TokenPurpose.INVITATION in revoked.get(member_id, ()):
            employee_id, source_id = session.execute(
                select(Member.employee_id, Member.source_id).where(Member.id == member_id)
            ).one()
            issues.append(RecordIssue(
                Severity.WARNING, LINKS_REVOKED,
                f"The e-mail address changed from {old} to {new}: the invitation link sent to the old "
                "address no longer works. Use Invite again on the member's page to send one to the new address.",
                "email", employee_id, source_id,
            ))
    return issues


def _bulk_update_members(session: Session, updates: list[dict[str, Any]]) -> None:
    """ORM bulk UPDATE by primary key, grouped by the set of columns each row changes."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for params in updates:
        groups.setdefault(tuple(sorted(params)), []).append(params)
    for rows in groups.values():
        session.execute(update(Member), rows)


# ------------------------------------------------------------------------------------------------
# decisions on held runs
# ------------------------------------------------------------------------------------------------


def _held_run(session: Session, run_id: int) -> ImportRun:
    expire_held_runs(session)
    run = session.get(ImportRun, run_id, with_for_update=True)
    if run is None:
        raise RunNotFound(run_id)
    if run.status != RunStatus.HELD:
        raise ServiceError(f"Run {run_id} is {run.status}, not held: there is nothing to decide.", code="state")
    return run


def approve_run(run_id: int, *, admin_id: int | None = None, url: str | None = None) -> RunOutcome:
    """Apply a held plan as it was computed, less the changes whose members moved on during the hold
    (deleted by the close-down, started, changed): those are skipped with a warning each, never
    written back over what happened since (see :func:`hrsync.domain.recheck_held_plan`)."""
    factory = session_factory(url)
    with factory() as session, session.begin():
        run = _held_run(session, run_id)
        programme = session.get(Programme, run.programme_id)
        assert programme is not None
        today = programme_today(programme)
        plan = recheck_held_plan(SyncPlan.from_json(run.plan or {}), _current_members(session, programme.id), today)
        run.status = RunStatus.RUNNING.value
        run.decided_by_id = admin_id
        run.decided_at = utcnow()
        _log_decision(session, run, admin_id, "approved_run")
        return _apply(session, run, plan, today)


def reject_run(run_id: int, *, admin_id: int | None = None, url: str | None = None) -> RunOutcome:
    """Discard a held plan: nothing applied, the integration unblocked."""
    factory = session_factory(url)
    with factory() as session, session.begin():
        run = _held_run(session, run_id)
        run.status = RunStatus.REJECTED.value
        run.plan = None
        run.decided_by_id = admin_id
        run.decided_at = utcnow()
        run.finished_at = utcnow()
        _log_decision(session, run, admin_id, "rejected_run")
        session.flush()
        return RunOutcome.of(run)


def _log_decision(session: Session, run: ImportRun, admin_id: int | None, action: str) -> None:
    from hrsync.store.models import ActivityLog

    session.add(
        ActivityLog(
            programme_id=run.programme_id, integration_id=run.integration_id, admin_id=admin_id,
            action=action, detail={"run_id": run.id},
        )
    )


def run_in_programme(session: Session, programme_id: int, run_id: int) -> ImportRun:
    run = session.scalar(select(ImportRun).where(ImportRun.id == run_id, ImportRun.programme_id == programme_id))
    if run is None:
        raise RunNotFound(run_id)
    return run


def member_count(session: Session, programme_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Member).where(
                Member.programme_id == programme_id, Member.status != MemberStatus.DELETED.value
            )
        )
        or 0
    )


def is_finished(status: str) -> bool:
    return status in _FINISHED
