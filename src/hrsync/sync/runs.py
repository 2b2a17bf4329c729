"""A run's life before it works: queued (or refused), claimed by one worker, or expired while held.

The database's one-active-run index decides races between two callers queueing; the atomic
``queued → running`` update of :func:`claim` decides races between two workers executing.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain.fields import validate_mapping
from hrsync.domain.vocabulary import COUNT_KEYS
from hrsync.errors import RunBlocked, ServiceError
from hrsync.sources.registry import REGISTRY
from hrsync.store.enums import ACTIVE_RUN_STATUSES, FINISHED_RUN_STATUSES
from hrsync.store.models import ImportIssue, ImportRun, Integration, IntegrationStatus, RunPhase, RunStatus, RunTrigger
from hrsync.store.types import utcnow

__all__ = [
    "HELD_PLAN_LIFETIME", "RunBlocked", "RunOutcome", "active_run", "claim", "discard_previews",
    "expire_held_runs", "request_run", "worker_name",
]

HELD_PLAN_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class RunOutcome:
    """What the CLI prints and the API returns about a run."""

    id: int
    status: str
    counts: dict[str, int]
    reason: str | None
    dry_run: bool
    failure_code: str | None = None
    number: int | None = None  # the run's number in its integration's history (#1, #2, …)
    ignored: int = 0  # inactive people who were never members: nothing to do
    excluded: int = 0  # people the scoping rules left out who were never members: nothing to do

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "status": self.status, **self.counts,
                "ignored": self.ignored, "excluded": self.excluded, "reason": self.reason, "dry_run": self.dry_run}

    @classmethod
    def of(cls, run: ImportRun) -> RunOutcome:
        return cls(
            id=run.id,
            status=run.status,
            counts={k: int(getattr(run, k) or 0) for k in COUNT_KEYS},
            reason=run.reason,
            dry_run=run.dry_run,
            failure_code=run.failure_code,
            number=run.number,
            ignored=int(run.ignored or 0),
            excluded=int(run.excluded or 0),
        )


# Built once: a fleet's scheduler asks both for every run it queues, and building the statement (and its
# cache key) anew each time cost more than the round trip (issue 27).
_ACTIVE_RUN = select(ImportRun).where(
    ImportRun.integration_id == bindparam("integration_id"),
    ImportRun.status.in_([s.value for s in ACTIVE_RUN_STATUSES]),
)
_HIGHEST_NUMBER = select(func.max(ImportRun.number)).where(ImportRun.integration_id == bindparam("integration_id"))


def active_run(session: Session, integration_id: int) -> ImportRun | None:
    """The integration's queued, running or held run, if any."""
    return session.scalar(_ACTIVE_RUN, {"integration_id": integration_id})


def _blocked_reason(run: ImportRun) -> str:
    if run.status == RunStatus.HELD:
        return f"Run {run.id} is held awaiting a decision: approve or reject it first."
    return f"Run {run.id} is already {run.status}."


def _refuse_unless_importable(integration: Integration, dry_run: bool) -> None:
    """Real imports need a published integration with access; a dry run also works on a draft.

    A revoked integration has no access, whatever its source; one whose kind has a secret setting
    (an API key) also needs it stored."""
    kind = REGISTRY.get(integration.kind)
    if integration.status == IntegrationStatus.REVOKED or (
        kind is not None and kind.secret_field() is not None and not integration.secret_encrypted
    ):
        name = kind.display_name if kind else integration.kind
        raise ServiceError(
            f"This integration has no {name} access: re-authorize it with a new API key.", code="no_access"
        )
    if not dry_run and integration.status not in (IntegrationStatus.LIVE, IntegrationStatus.PAUSED):
        raise ServiceError("Publish the integration before importing (a dry run works before).", code="draft")


def settle_mapping(integration: Integration) -> bool:
    """A draft created before its source had anything to map (an empty drop folder: the SFTP order, set
    up first, files later) takes its kind's suggested mapping now (a membership file's columns matched
    by name), when that mapping is complete. Every run request and a publish call this; ``True`` when
    it mapped. An integration that has a mapping keeps it."""
    if integration.mapping:
        return False
    kind = REGISTRY.get(integration.kind)
    suggested = kind.default_mapping(integration) if kind is not None else {}
    if not suggested or validate_mapping(suggested):
        return False
    integration.mapping = dict(suggested)
    return True


def request_run(
    session: Session,
    integration_id: int,
    *,
    trigger: str = RunTrigger.MANUAL.value,
    triggered_by_id: int | None = None,
    dry_run: bool = False,
) -> ImportRun:
    """Queue a run inside the caller's transaction, or raise :class:`RunBlocked` (or a
    :class:`~hrsync.errors.ServiceError` saying why the integration cannot import)."""
    integration = session.get(Integration, integration_id)
    if integration is None:
        raise ServiceError(f"Integration {integration_id} was not found.", code="not_found")
    _refuse_unless_importable(integration, dry_run)
    settle_mapping(integration)
    if not integration.mapping:
        raise ServiceError("Nothing is mapped yet, and no file's columns could be matched by name (the first file "
                           "needs columns such as “Employee ID” and “Email”). Add a file, or map the fields first "
                           "(the setup's mapping step, or `hrsync integration edit` with --map).", code="mapping")
    current = active_run(session, integration_id)
    if current is not None and current.status == RunStatus.HELD.value and expire_held_runs(
        session, integration_id=integration_id
    ):  # an expired held run no longer blocks it (checked only when one is there: a statement less per run)
        current = active_run(session, integration_id)
    if current is not None:
        raise RunBlocked(_blocked_reason(current), current.id)
    run = ImportRun(
        integration_id=integration_id,
        programme_id=integration.programme_id,
        # the wizard's preview takes no number: the first real import is #1
        number=None if trigger == RunTrigger.PREVIEW.value else next_run_number(session, integration_id),
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


def next_run_number(session: Session, integration_id: int) -> int:
    """The next number in this integration's own history (#1, #2, …). Two runs of one
    integration are never requested at once (the one-active-run index), and a race that still
    collides fails on ``uq_import_run_integration_number`` and is reported as blocked."""
    highest = session.scalar(_HIGHEST_NUMBER, {"integration_id": integration_id})
    return (highest or 0) + 1


def discard_previews(session: Session, integration_id: int) -> int:
    """Delete the integration's finished previews and their issues, inside the caller's transaction.

    The wizard keeps one preview per review: a new one replaces the last instead of piling up in
    the history. A preview still queued or running is left alone (it blocks a new run anyway).
    """
    finished = [s.value for s in FINISHED_RUN_STATUSES]
    ids = list(session.scalars(select(ImportRun.id).where(
        ImportRun.integration_id == integration_id, ImportRun.trigger == RunTrigger.PREVIEW.value,
        ImportRun.status.in_(finished),
    )))
    if ids:
        session.execute(delete(ImportIssue).where(ImportIssue.run_id.in_(ids)))
        session.execute(delete(ImportRun).where(ImportRun.id.in_(ids)).execution_options(synchronize_session="fetch"))
    return len(ids)


def expire_held_runs(session: Session, now: datetime | None = None, *, integration_id: int | None = None) -> int:
    """Held plans older than seven days expire: nothing applied, the integration unblocked. With
    ``integration_id``, that integration's only (a run request: the scheduler's pass expires the rest)."""
    now = now or utcnow()
    scoped = () if integration_id is None else (ImportRun.integration_id == integration_id,)
    result = session.execute(
        update(ImportRun)
        .where(ImportRun.status == RunStatus.HELD.value, ImportRun.expires_at <= now, *scoped)
        .values(status=RunStatus.EXPIRED.value, plan=None, finished_at=now,
                reason="The held import was neither approved nor rejected within 7 days.")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def worker_name() -> str:
    """Who is executing: host, process and thread, as the run row's ``worker_id`` shows it."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim(factory: sessionmaker[Session], run_id: int, worker_id: str) -> bool:
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
