"""Starting an import from the portal or the API: queue, commit, then hand the run to a worker.

One function for both front doors so the portal's *Import data now* and ``POST /api/v1/...runs``
behave alike: the run is queued with :func:`hrsync.sync.runs.request_run` (which raises
:class:`~hrsync.errors.RunBlocked` when one is active or held), the activity log says who
asked, the transaction is **committed before** the run id leaves the process (a worker must
never receive an id it cannot see yet), and :func:`hrsync.jobs.enqueue.enqueue_run` picks Celery
or the embedded worker. When neither is running the run stays queued in the database for the
next scheduler pass, exactly as the jobs module documents.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from hrsync.services import activity
from hrsync.store.models import AdminUser, ImportRun, Integration
from hrsync.sync.runs import request_run

log = logging.getLogger(__name__)


def start_import(
    session: Session,
    integration: Integration,
    *,
    trigger: str,
    actor: AdminUser | None = None,
    dry_run: bool = False,
    via: str | None = None,
) -> ImportRun:
    """Queue, log, commit and dispatch a run. Raises ``RunBlocked`` or ``ServiceError`` unchanged."""
    run = request_run(
        session, integration.id, trigger=trigger, triggered_by_id=actor.id if actor else None, dry_run=dry_run
    )
    detail: dict[str, object] = {"run_id": run.id, "dry_run": dry_run}
    if via:
        detail["via"] = via
    activity.record(session, programme_id=integration.programme_id, integration_id=integration.id,
                    admin_id=actor.id if actor else None, action="imported_now", detail=detail)
    session.commit()
    dispatch(run.id)
    return run


def dispatch(run_id: int) -> str:
    """Hand a committed, queued run to whatever executes runs in this deployment."""
    from hrsync.jobs.enqueue import enqueue_run

    destination = enqueue_run(run_id)
    log.info("run %s handed to %s", run_id, destination)
    return destination
