"""An administrator's decision on a held run: apply its plan (re-checked) or discard it.

Each decision is one transaction that also writes the decision to the activity log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain import SyncPlan, recheck_held_plan
from hrsync.domain.vocabulary import programme_today
from hrsync.errors import RunNotFound, ServiceError
from hrsync.store import activity
from hrsync.store.db import session_factory
from hrsync.store.locks import hold_row
from hrsync.store.models import ImportRun, Programme, RunStatus
from hrsync.store.types import utcnow
from hrsync.sync.apply import apply_plan
from hrsync.sync.members import current_members
from hrsync.sync.runs import RunOutcome, expire_held_runs


def _held_run(session: Session, run_id: int) -> ImportRun:
    expire_held_runs(session)
    run = hold_row(session, ImportRun, run_id)  # two decisions at once: the second sees the first's
    if run is None:
        raise RunNotFound(run_id)
    if run.status != RunStatus.HELD:
        raise ServiceError(f"Run {run_id} is {run.status}, not held: there is nothing to decide.", code="state")
    return run


def _decided(session: Session, run: ImportRun, admin_id: int | None, action: str) -> None:
    run.decided_by_id = admin_id
    run.decided_at = utcnow()
    activity.record(
        session, programme_id=run.programme_id, integration_id=run.integration_id, admin_id=admin_id,
        action=action, detail={"run_id": run.id},
    )


def approve_run(
    run_id: int, *, admin_id: int | None = None, factory: sessionmaker[Session] | None = None
) -> RunOutcome:
    """Apply a held plan as it was computed, less the changes whose members moved on during the hold
    (deleted by the close-down, started, changed): those are skipped with a warning each, never
    written back over what happened since (see :func:`hrsync.domain.recheck_held_plan`). Leavers
    become leavers on the day of the approval, in the programme's time zone."""
    with (factory or session_factory())() as session, session.begin():
        run = _held_run(session, run_id)
        programme = session.get(Programme, run.programme_id)
        assert programme is not None
        plan = recheck_held_plan(
            SyncPlan.from_json(run.plan or {}),
            current_members(session, programme.id, run.integration_id),
            programme_today(programme.timezone),
        )
        run.status = RunStatus.RUNNING.value
        _decided(session, run, admin_id, "approved_run")
        return apply_plan(session, run, plan)


def reject_run(
    run_id: int, *, admin_id: int | None = None, factory: sessionmaker[Session] | None = None
) -> RunOutcome:
    """Discard a held plan: nothing applied, the integration unblocked."""
    with (factory or session_factory())() as session, session.begin():
        run = _held_run(session, run_id)
        run.status = RunStatus.REJECTED.value
        run.plan = None
        run.finished_at = utcnow()
        _decided(session, run, admin_id, "rejected_run")
        session.flush()
        return RunOutcome.of(run)
