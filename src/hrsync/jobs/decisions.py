"""Decisions on held runs (approve, reject) as jobs: asked for in a request, applied by a worker.

Applying an approved plan writes every member it changes, which can take minutes; a web request
must not do it. So a decision has two halves:

* :func:`request_decision` (called by :mod:`hrsync.services.imports` in the request's
  transaction) records the *intent* on the held run: ``decided_at`` and ``decided_by_id`` are
  set while the status stays ``held``, and the activity log says which decision was asked for.
  A second decision on the same run is refused from then on.
* :func:`apply_decision` (a worker: the embedded pool or the Celery task ``hrsync.decide_run``)
  applies it with the runner, in the runner's own transaction.

As with imports, the queue only carries ids: a lost message is found again by
:func:`pending_decisions` (held runs with an intent recorded), a duplicate finds the run no longer
held and does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hrsync.services.errors import ServiceError
from hrsync.store import activity
from hrsync.store.locks import hold_row
from hrsync.store.models import ActivityLog, ImportRun, RunStatus
from hrsync.store.types import utcnow

log = logging.getLogger(__name__)

Decision = Literal["approve", "reject"]
DECISIONS: tuple[Decision, ...] = ("approve", "reject")
REQUESTED_ACTIONS: dict[Decision, str] = {"approve": "approval_requested", "reject": "rejection_requested"}
FAILED_ACTION = "decision_failed"


@dataclass(frozen=True)
class PendingDecision:
    """A decision asked for and not applied yet."""

    run_id: int
    decision: Decision
    admin_id: int | None


def _decision_of(value: str) -> Decision:
    if value not in DECISIONS:
        raise ValueError(f"unknown decision {value!r}")
    return value


def request_decision(session: Session, run: ImportRun, decision: str, admin_id: int | None) -> PendingDecision:
    """Record the intent to approve or reject a held run; raises ``ServiceError`` (code ``state``)
    when the run is not held or a decision on it is already under way."""
    chosen = _decision_of(decision)
    hold_row(session, ImportRun, run.id)  # re-read under the lock: two decisions at once, one wins
    if run.status != RunStatus.HELD.value:
        raise ServiceError(f"Run {run.id} is {run.status}, not held: there is nothing to decide.", code="state")
    if run.decided_at is not None:
        raise ServiceError(f"A decision on run {run.id} is already being applied.", code="state")
    run.decided_at = utcnow()
    run.decided_by_id = admin_id
    activity.record(session, programme_id=run.programme_id, integration_id=run.integration_id, admin_id=admin_id,
                    action=REQUESTED_ACTIONS[chosen], detail={"run_id": run.id})
    session.flush()
    return PendingDecision(run.id, chosen, admin_id)


def pending_decision(session: Session, run: ImportRun) -> PendingDecision | None:
    """The decision asked for on this held run and not applied yet, if any."""
    if run.status != RunStatus.HELD.value or run.decided_at is None:
        return None
    entries = session.scalars(
        select(ActivityLog)
        .where(ActivityLog.integration_id == run.integration_id,
               ActivityLog.action.in_(tuple(REQUESTED_ACTIONS.values())))
        .order_by(ActivityLog.id.desc())
        .limit(50)
    )
    for entry in entries:
        if isinstance(entry.detail, dict) and entry.detail.get("run_id") == run.id:
            decision: Decision = "approve" if entry.action == REQUESTED_ACTIONS["approve"] else "reject"
            return PendingDecision(run.id, decision, run.decided_by_id)
    return None


def pending_decisions(session: Session, *, requested_before: datetime | None = None) -> list[PendingDecision]:
    """Every decision asked for and not applied yet, oldest first."""
    stmt = select(ImportRun).where(ImportRun.status == RunStatus.HELD.value, ImportRun.decided_at.is_not(None))
    if requested_before is not None:
        stmt = stmt.where(ImportRun.decided_at < requested_before)
    found = (pending_decision(session, run) for run in session.scalars(stmt.order_by(ImportRun.id)))
    return [p for p in found if p is not None]


def _withdraw(factory: sessionmaker[Session], run_id: int, error: str) -> None:
    """A decision that crashed is withdrawn (the run is plainly held again), not retried forever."""
    with factory() as session, session.begin():
        run = session.get(ImportRun, run_id)
        if run is None or run.status != RunStatus.HELD.value:
            return
        run.decided_at = None
        run.decided_by_id = None
        activity.record(session, programme_id=run.programme_id, integration_id=run.integration_id,
                        action=FAILED_ACTION, detail={"run_id": run_id, "error": error})


def apply_decision(
    run_id: int, decision: str, admin_id: int | None, *, factory: sessionmaker[Session] | None = None
) -> Any:
    """Apply a requested decision with the runner; ``None`` when there was nothing to decide
    (already decided, expired). Returns the runner's outcome otherwise."""
    from hrsync.sync.decisions import approve_run, reject_run

    act: Callable[..., Any] = approve_run if _decision_of(decision) == "approve" else reject_run
    try:
        return act(run_id, admin_id=admin_id, factory=factory)
    except ServiceError as exc:  # a duplicate message, or the plan expired meanwhile
        log.info("run %s: %s not applied: %s", run_id, decision, exc.reason)
        return None
    except Exception as exc:
        log.exception("run %s: applying the %s decision failed", run_id, decision)
        from hrsync.store.db import session_factory

        _withdraw(factory or session_factory(), run_id, f"{type(exc).__name__}: {exc}")
        raise


def requeue_pending_decisions(
    factory: sessionmaker[Session],
    send: Callable[[int, str, int | None], Any],
    *,
    requested_before: datetime | None = None,
    skip: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Hand every pending decision to ``send`` again (lost messages, a restart); returns run ids."""
    with factory() as session:
        pending = [p for p in pending_decisions(session, requested_before=requested_before) if p.run_id not in skip]
    for p in pending:
        try:
            send(p.run_id, p.decision, p.admin_id)
        except Exception:  # stays pending in the database; the next pass tries again
            log.exception("decision on run %s not handed to a worker", p.run_id)
    return [p.run_id for p in pending]
