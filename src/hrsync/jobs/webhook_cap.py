"""The cap on webhook-made runs: ``HRSYNC_WEBHOOK_RUNS_PER_HOUR`` per integration (issue 22).

Each delivery names one person and becomes (after coalescing) one ``webhook`` run in the history. A
holder of the URL (the token is the only credential; intelliHR signs nothing) could post a delivery
for a different person every few milliseconds and fill the history. So, per integration:

* up to the cap in the last hour, a hint becomes its one-person run as before;
* past the cap, the hint is dropped and **one full import** is queued instead (the scheduled import
  brought forward: trigger ``schedule``, the whole directory read, the brake as usual), once: while
  one made for the cap is within the last hour, further hints are dropped (coalesced). That full
  import reads every change the dropped hints named, or the next scheduled import does.

So an integration gets at most ``cap + 1`` entries an hour from webhooks, whatever arrives. Kept apart from
:mod:`hrsync.jobs.webhooks` (one check and one action it calls) so the two change independently.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hrsync.config import get_settings
from hrsync.store import activity
from hrsync.store.enums import RunTrigger
from hrsync.store.models import ActivityLog, ImportRun, Integration

WINDOW: Final = timedelta(hours=1)
FULL_IMPORT_ACTION: Final = "webhook_full_import"


def over_cap(factory: sessionmaker[Session], integration_id: int, now: datetime) -> bool:
    """Has the integration made its cap of webhook runs within the last hour?"""
    with factory() as session:
        made = session.scalar(select(func.count()).select_from(ImportRun).where(
            ImportRun.integration_id == integration_id, ImportRun.trigger == RunTrigger.WEBHOOK.value,
            ImportRun.created_at > now - WINDOW))
    return int(made or 0) >= get_settings().webhook_runs_per_hour


def full_import_instead(factory: sessionmaker[Session], integration_id: int, now: datetime) -> int | None:
    """Queue the one full import that covers the hints past the cap, and hand it to a worker: its run
    id, or ``None`` when one was already made within the hour (this hint is covered: coalesced).
    Raises ``RunBlocked`` while another run of the integration is active (the hint is tried later)."""
    from hrsync.jobs.enqueue import enqueue_run
    from hrsync.sync.runs import request_run

    with factory() as session, session.begin():
        integration = session.get(Integration, integration_id)
        if integration is None or session.scalar(select(ActivityLog.id).where(
                ActivityLog.integration_id == integration_id, ActivityLog.action == FULL_IMPORT_ACTION,
                ActivityLog.created_at > now - WINDOW).limit(1)) is not None:
            return None
        run = request_run(session, integration_id, trigger=RunTrigger.SCHEDULE.value)
        activity.record(session, programme_id=integration.programme_id, integration_id=integration_id,
                        admin_id=None, action=FULL_IMPORT_ACTION,
                        detail={"run_id": run.id, "cap": get_settings().webhook_runs_per_hour})
        run_id = run.id
    enqueue_run(run_id)
    return run_id
