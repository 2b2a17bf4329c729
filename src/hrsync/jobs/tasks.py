"""Celery tasks. There is one: run an import by id; everything else the scheduler loop does.

The task is a thin shell over :func:`hrsync.sync.execute.execute_run`, which claims the run
atomically: a duplicate or late message finds the run already claimed or finished and returns
``None`` without touching anything.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Task

from hrsync.jobs.celery_app import RUN_IMPORT_TASK, app

log = logging.getLogger(__name__)


@app.task(  # type: ignore[untyped-decorator]
    name=RUN_IMPORT_TASK, bind=True, acks_late=True, reject_on_worker_lost=True
)
def run_import(self: Task, run_id: int) -> dict[str, Any] | None:
    from hrsync.sync.execute import execute_run

    worker_id = f"celery:{self.request.hostname}:{os.getpid()}"
    outcome = execute_run(int(run_id), worker_id=worker_id)
    if outcome is None:
        log.info("run %s was already claimed by another worker; nothing to do", run_id)
        return None
    log.info("run %s finished: %s", run_id, outcome.status)
    return outcome.to_json()
