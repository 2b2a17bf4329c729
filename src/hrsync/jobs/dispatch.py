"""Turning due schedules into queued runs, and rescuing runs whose worker died.

Everything here is safe to run from several schedulers at once (two machines, or a portal and a
``hrsync scheduler`` started by mistake):

* a due integration is *claimed* by a conditional ``UPDATE … SET next_run_at = <next> WHERE
  next_run_at = <the due value we read>`` in the same transaction that queues its run. On
  PostgreSQL the second scheduler's UPDATE waits for the first one's row lock, then finds the value
  changed and matches nothing; on SQLite writers are serialised. Either way one run is created.
* a stale run is failed by a conditional ``UPDATE … WHERE status = 'running' AND <heartbeat still
  old>``, again in the transaction that queues its retry, so two recoverers retry it once.

The queue callbacks (``enqueue``) are called only *after* the commit: a worker must never receive
a run id it cannot yet see. If the process dies between commit and enqueue, the run stays queued
in the database and :func:`requeue_queued_runs` hands it out again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from hrsync.domain.schedule import next_run_for
from hrsync.jobs.routing import is_large, routes_by_size
from hrsync.services import activity
from hrsync.services.errors import ServiceError
from hrsync.store.models import (
    ImportRun,
    Integration,
    IntegrationStatus,
    RunPhase,
    RunStatus,
    RunTrigger,
)
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)


class Enqueue(Protocol):
    """Hands a committed run id to whoever executes runs. ``large``: the queue the scheduler chose in the
    transaction that queued the run; passed only where runs go to queues by size (a broker)."""

    def __call__(self, run_id: int, *, large: bool | None = None) -> Any: ...


SKIPPED_ACTION = "scheduled_import_skipped"
RETRIED_ACTION = "import_retried"
DEFAULT_STALE_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3  # a run is tried at most this many times before recovery gives up
SCHEDULE_BATCH = 500
STALE_REASON = (
    "The worker running this import stopped responding (no heartbeat since {since}); "
    "no member was changed."
)


@dataclass
class ScheduleReport:
    """What one :func:`schedule_due` pass did (the loop logs it; tests assert on it)."""

    queued: list[int] = field(default_factory=list)  # new run ids, in the order they were enqueued
    skipped: list[dict[str, Any]] = field(default_factory=list)  # integration id, blocking run id, reason
    lost_race: int = 0  # due integrations another scheduler claimed first
    errors: list[int] = field(default_factory=list)  # integrations that raised (logged; retried next pass)

    def to_dict(self) -> dict[str, Any]:
        return {
            "queued": list(self.queued),
            "skipped": list(self.skipped),
            "lost_race": self.lost_race,
            "errors": list(self.errors),
        }


@dataclass
class RecoveryReport:
    """What one :func:`recover_stale_runs` pass did."""

    failed: list[int] = field(default_factory=list)  # stale run ids marked failed
    retried: list[tuple[int, int]] = field(default_factory=list)  # (failed run id, new run id)
    gave_up: list[int] = field(default_factory=list)  # failed with no retry (attempts used up, blocked)

    def to_dict(self) -> dict[str, Any]:
        return {
            "failed": list(self.failed),
            "retried": [list(pair) for pair in self.retried],
            "gave_up": list(self.gave_up),
        }


def _due_clause(now: datetime) -> Any:
    return (
        (Integration.status == IntegrationStatus.LIVE.value)
        & Integration.quarantined_at.is_(None)  # quarantined: no scheduled import until lifted (issue 16)
        & Integration.next_run_at.is_not(None)
        & (Integration.next_run_at <= now)
    )


def due_integrations(
    session: Session, now: datetime | None = None, *, limit: int | None = None
) -> list[Integration]:
    """Live integrations whose ``next_run_at`` has come, most overdue first (never a quarantined one)."""
    stmt = (
        select(Integration)
        .where(_due_clause(now or utcnow()))
        .order_by(Integration.next_run_at, Integration.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt).all())


def count_due(session: Session, now: datetime | None = None, *, within: timedelta = timedelta(minutes=15)) -> int:
    """How many live integrations fell due in the last ``within`` and are not yet queued by the scheduler
    (on the index ``ix_integration_status_next_run_at``): in a rush the scheduler queues runs seconds after
    they fall due, and these wait as surely as the broker's (hrsync.jobs.give_way). One due for longer is
    not waiting on a rush: the scheduler is down, or fails on it every pass."""
    now = now or utcnow()
    return int(session.scalar(
        select(func.count()).select_from(Integration)
        .where(_due_clause(now), Integration.next_run_at > now - within)) or 0)


def _log(session: Session, integration: Integration, action: str, detail: dict[str, Any]) -> None:
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    action=action, detail=detail)


def _schedule_one(session: Session, integration_id: int, now: datetime, report: ScheduleReport) -> int | None:
    """Claim one due integration, queue its run, advance its schedule. Returns the new run id."""
    from hrsync.sync.runs import RunBlocked, request_run  # imported when used: keeps the scheduler light

    integration = session.get(Integration, integration_id, options=[joinedload(Integration.programme)])
    if integration is None or integration.status != IntegrationStatus.LIVE.value or integration.quarantined_at:
        return None
    due_at = integration.next_run_at
    if due_at is None or due_at > now:
        return None
    # Missed slots (the scheduler was down) are not replayed: one run now, then the next regular slot.
    schedule_error = None
    try:
        following = next_run_for(integration, integration.programme, after=now)
    except ValueError as exc:  # a stored schedule the services would refuse today: run once, then stop
        following, schedule_error = None, str(exc)
        log.error("integration %s has an unusable schedule (%s); scheduling stopped", integration_id, exc)
    claimed = session.execute(
        update(Integration)
        .where(
            Integration.id == integration_id,
            Integration.next_run_at == due_at,
            Integration.status == IntegrationStatus.LIVE.value,
            Integration.quarantined_at.is_(None),
        )
        .values(next_run_at=following, updated_at=Integration.updated_at)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        report.lost_race += 1
        return None
    # What the claim wrote, as the loaded row's own value: set as a change, it was flushed again before the
    # next statement (a second UPDATE per run, which also moved updated_at that the claim keeps).
    set_committed_value(integration, "next_run_at", following)
    detail: dict[str, Any] = {
        "due_at": due_at.isoformat(),
        "next_run_at": following.isoformat() if following else None,
    }
    if schedule_error:
        _log(session, integration, "schedule_stopped", {**detail, "reason": schedule_error})
    try:
        run = request_run(session, integration_id, trigger=RunTrigger.SCHEDULE.value)
    except RunBlocked as blocked:
        detail.update(run_id=blocked.run_id, reason=blocked.reason)
    except ServiceError as exc:  # e.g. the key was revoked between two passes
        detail.update(run_id=None, reason=exc.reason)
    else:
        return run.id
    _log(session, integration, SKIPPED_ACTION, detail)
    report.skipped.append(
        {"integration_id": integration_id, "run_id": detail["run_id"], "reason": detail["reason"]}
    )
    log.info("scheduled import of integration %s skipped: %s", integration_id, detail["reason"])
    return None


def _safe_enqueue(enqueue: Enqueue | None, run_id: int, large: bool | None = None) -> None:
    if enqueue is None:
        return
    try:
        if large is None:
            enqueue(run_id)
        else:
            enqueue(run_id, large=large)
    except Exception:  # the run stays queued in the database; requeue_queued_runs hands it out again
        log.exception("run %s queued but not handed to a worker", run_id)


def schedule_due(
    factory: sessionmaker[Session],
    now: datetime | None = None,
    enqueue: Enqueue | None = None,
    *,
    limit: int = SCHEDULE_BATCH,
) -> ScheduleReport:
    """Queue a run for every due live integration (one transaction each) and hand it to ``enqueue``.

    The batch shares one session bound to one connection, checked out once, not once per run: 2,000
    programmes due in one minute make the scheduler's round trips per run count (issue 27)."""
    now = now or utcnow()
    report = ScheduleReport()
    routed = routes_by_size()
    # A session gives its connection back at every commit; bound to one connection, it keeps it.
    with factory.kw["bind"].connect() as connection, factory(bind=connection) as session:
        with session.begin():
            ids = [i.id for i in due_integrations(session, now, limit=limit)]
        session.expunge_all()
        for integration_id in ids:
            try:
                with session.begin():
                    run_id = _schedule_one(session, integration_id, now, report)
                    large = is_large(session, integration_id, run_id) if routed and run_id is not None else None
            except Exception:  # one broken integration must not stop the others being scheduled
                log.exception("could not schedule integration %s", integration_id)
                report.errors.append(integration_id)
                continue
            finally:
                session.expunge_all()  # each integration read afresh: nothing carried from the one before
            if run_id is not None:
                report.queued.append(run_id)
                _safe_enqueue(enqueue, run_id, large)
    return report


def _last_sign_of_life() -> Any:
    return func.coalesce(ImportRun.heartbeat_at, ImportRun.started_at, ImportRun.created_at)


def count_alive(session: Session, now: datetime, alive_within: timedelta, *, besides_worker: str) -> int:
    """How many runs are running and were heard from within ``alive_within`` (the other side of
    :func:`stale_runs`), other than those whose worker id starts with ``besides_worker:``; on the index
    ``ix_import_run_status``."""
    return int(session.scalar(
        select(func.count()).select_from(ImportRun)
        .where(ImportRun.status == RunStatus.RUNNING.value, _last_sign_of_life() > now - alive_within,
               or_(ImportRun.worker_id.is_(None), ImportRun.worker_id.not_like(f"{besides_worker}:%")))) or 0)


def stale_runs(session: Session, now: datetime, stale_after: timedelta) -> list[int]:
    """Ids of running runs whose last heartbeat is older than ``stale_after``."""
    return list(
        session.scalars(
            select(ImportRun.id)
            .where(ImportRun.status == RunStatus.RUNNING.value, _last_sign_of_life() < now - stale_after)
            .order_by(ImportRun.id)
        ).all()
    )


def _recover_one(
    session: Session,
    run_id: int,
    now: datetime,
    stale_after: timedelta,
    max_attempts: int,
    report: RecoveryReport,
) -> int | None:
    from hrsync.notify.outbox import queue_run_summary
    from hrsync.sync.runs import RunBlocked, request_run

    run = session.get(ImportRun, run_id)
    if run is None:
        return None
    since = run.heartbeat_at or run.started_at or run.created_at
    failed = session.execute(
        update(ImportRun)
        .where(
            ImportRun.id == run_id,
            ImportRun.status == RunStatus.RUNNING.value,
            _last_sign_of_life() < now - stale_after,
        )
        .values(
            status=RunStatus.FAILED.value,
            phase=RunPhase.DONE.value,
            plan=None,
            finished_at=now,
            failure_code="worker_lost",
            reason=STALE_REASON.format(since=since.isoformat(timespec="seconds") if since else "it started"),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(failed, "rowcount", 0) != 1:  # it came back to life, or another recoverer won
        return None
    session.refresh(run)
    report.failed.append(run_id)
    log.warning("run %s: worker %s stopped responding; marked failed", run_id, run.worker_id)
    if run.attempts < max_attempts:
        try:
            with session.begin_nested():
                retry = request_run(
                    session,
                    run.integration_id,
                    trigger=run.trigger,
                    triggered_by_id=run.triggered_by_id,
                    dry_run=run.dry_run,
                )
                # The runner's claim counts the attempt: the retry starts where the dead one ended.
                retry.attempts = run.attempts
                session.flush()
        except (RunBlocked, ServiceError) as exc:
            log.warning("run %s not retried: %s", run_id, getattr(exc, "reason", exc))
        else:
            activity.record(
                session, programme_id=run.programme_id, integration_id=run.integration_id, action=RETRIED_ACTION,
                detail={"failed_run_id": run_id, "run_id": retry.id, "attempt": run.attempts + 1},
            )
            report.retried.append((run_id, retry.id))
            return retry.id
    report.gave_up.append(run_id)
    queue_run_summary(session, run)  # the administrator hears about the failure only when it is final
    return None


def recover_stale_runs(
    factory: sessionmaker[Session],
    now: datetime | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    enqueue: Enqueue | None = None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> RecoveryReport:
    """Fail runs whose worker stopped sending heartbeats, and queue a fresh attempt of each.

    Nothing needs undoing: the runner applies members in the same transaction that finishes the
    run, so a run still ``running`` in the database has changed no member. ``stale_after`` must
    be comfortably longer than the longest gap between two heartbeats of a live run.
    """
    now = now or utcnow()
    report = RecoveryReport()
    with factory() as session:
        ids = stale_runs(session, now, stale_after)
    for run_id in ids:
        try:
            with factory() as session, session.begin():
                retry_id = _recover_one(session, run_id, now, stale_after, max_attempts, report)
        except Exception:  # try the others; this one is still stale next pass
            log.exception("could not recover run %s", run_id)
            continue
        if retry_id is not None:
            _safe_enqueue(enqueue, retry_id)
    return report


def queued_run_ids(session: Session, *, created_before: datetime | None = None) -> list[int]:
    """Queued (not yet claimed) runs, oldest first."""
    stmt = select(ImportRun.id).where(ImportRun.status == RunStatus.QUEUED.value)
    if created_before is not None:
        stmt = stmt.where(ImportRun.created_at < created_before)
    return list(session.scalars(stmt.order_by(ImportRun.id)).all())


def requeue_queued_runs(
    factory: sessionmaker[Session],
    enqueue: Enqueue,
    *,
    created_before: datetime | None = None,
    skip: Iterable[int] = (),
) -> list[int]:
    """Hand queued runs to ``enqueue`` again (after a restart, or when a broker lost messages).

    Handing a run out twice is harmless: the runner's claim lets one worker execute it.
    """
    skipping = set(skip)
    with factory() as session:
        ids = [i for i in queued_run_ids(session, created_before=created_before) if i not in skipping]
    for run_id in ids:
        _safe_enqueue(enqueue, run_id)
    return ids
