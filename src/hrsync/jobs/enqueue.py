"""Where a newly queued run (or a decision on a held run) goes: what the services call.

``HRSYNC_BROKER_URL`` set → a Celery worker (scale-out mode). Otherwise → the embedded
scheduler of this process, if one was started (``hrsync serve``). With neither, the run simply
stays queued in the database and the next scheduler pass of any process hands it out.
Call it *after* the transaction that queued the run has committed.
"""

from __future__ import annotations

import logging
from typing import Literal

from hrsync.config import get_settings

log = logging.getLogger(__name__)

Destination = Literal["celery", "embedded", "database"]


def enqueue_run(run_id: int, *, large: bool | None = None) -> Destination:
    """Hand a queued run to whoever executes runs here; returns where it went. ``large``: the queue the
    scheduler already chose (:mod:`hrsync.jobs.routing`), with a broker."""
    if get_settings().broker_url:
        from hrsync.jobs.celery_app import send_run

        send_run(run_id, large=large)
        return "celery"
    from hrsync.jobs.embedded import current

    scheduler = current()
    if scheduler is not None:
        scheduler.enqueue(run_id)
        return "embedded"
    log.info("run %s stays queued until a scheduler picks it up", run_id)
    return "database"


def enqueue_decision(run_id: int, decision: str, admin_id: int | None) -> Destination:
    """Hand a requested decision on a held run (see :mod:`hrsync.jobs.decisions`) to a worker."""
    if get_settings().broker_url:
        from hrsync.jobs.celery_app import send_decision

        send_decision(run_id, decision, admin_id)
        return "celery"
    from hrsync.jobs.embedded import current

    scheduler = current()
    if scheduler is not None:
        scheduler.enqueue_decision(run_id, decision, admin_id)
        return "embedded"
    log.info("decision on run %s stays pending until a scheduler picks it up", run_id)
    return "database"
