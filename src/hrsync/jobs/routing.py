"""Which queue an import travels on: the rule that keeps small imports from waiting behind large ones.

An import's size is known only after it has read its source, so the rule looks back: an integration
whose last whole-directory read (an import, or the set-up wizard's preview) found at least
``HRSYNC_LARGE_IMPORT_PEOPLE`` people (default 20,000) is large, and its next imports go to the
large-import queue. An integration set up in the portal is sized by its preview, so even its first
import takes the right queue; one created without a preview (the CLI) starts on the import queue, and a
directory that grew past the line moves over after one import. Workers choose with
``hrsync worker --queues all|small|large`` (docs/deploy.md, "A fleet of programmes").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hrsync.config import get_settings
from hrsync.store.db import session_scope
from hrsync.store.enums import RunStatus, RunTrigger
from hrsync.store.models import ImportRun

_FINISHED = (RunStatus.SUCCEEDED.value, RunStatus.SUCCEEDED_WITH_ERRORS.value, RunStatus.HELD.value,
             RunStatus.REJECTED.value, RunStatus.EXPIRED.value)
#: Runs that read the whole directory, and so tell its size: the wizard's preview (a dry run, so a new
#: integration set up in the portal is sized before its first import) and every kind of full import. Not a
#: one-person run, a webhook's re-fetch, an undo or an hour of SCIM writes, whose totals say nothing of it.
WHOLE_READS = (RunTrigger.PREVIEW.value, RunTrigger.MANUAL.value, RunTrigger.SCHEDULE.value, RunTrigger.CLI.value,
               RunTrigger.API.value)


def routes_by_size() -> bool:
    """Whether runs are sent to queues by size here: with a broker, and a size line above zero."""
    settings = get_settings()
    return bool(settings.broker_url) and settings.large_import_people > 0


def _last_whole_read(integration_id: Any) -> Any:
    """The total of the integration's last finished whole-directory read other than run ``:run_id``."""
    return (select(ImportRun.total)
            .where(ImportRun.integration_id == integration_id, ImportRun.id != bindparam("run_id"),
                   ImportRun.status.in_(_FINISHED), ImportRun.total.is_not(None), ImportRun.trigger.in_(WHOLE_READS))
            .order_by(ImportRun.id.desc())  # previews have no number
            .limit(1))


# Built once: the scheduler asks for every run it queues (issue 27).
_LAST_TOTAL = _last_whole_read(bindparam("integration_id"))
_LAST_TOTAL_OF_RUNS_INTEGRATION = _last_whole_read(
    select(ImportRun.integration_id).where(ImportRun.id == bindparam("run_id")).scalar_subquery())


def is_large_run(run_id: int) -> bool:
    """Whether run ``run_id`` belongs on the large-import queue (one indexed look-up): its integration's
    last whole-directory read (:data:`WHOLE_READS`, dry runs and previews included) found at least
    ``HRSYNC_LARGE_IMPORT_PEOPLE`` people."""
    threshold = get_settings().large_import_people
    if threshold <= 0:
        return False
    with session_scope() as session:
        last_total = session.scalar(_LAST_TOTAL_OF_RUNS_INTEGRATION, {"run_id": run_id})
    return last_total is not None and last_total >= threshold


def is_large(session: Session, integration_id: int, run_id: int) -> bool:
    """:func:`is_large_run` in the caller's session: the scheduler decides in the transaction that queues
    the run, and spares itself a session (a connection's check-out and ping) per run (issue 27)."""
    threshold = get_settings().large_import_people
    if threshold <= 0:
        return False
    last_total = session.scalar(_LAST_TOTAL, {"integration_id": integration_id, "run_id": run_id})
    return last_total is not None and last_total >= threshold
