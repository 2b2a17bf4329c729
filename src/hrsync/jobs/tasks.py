"""Celery tasks: run an import by id, and apply a decision on a held run; the rest is the loop's.

The import task is a thin shell over :func:`hrsync.sync.execute.execute_run`, which claims the run
atomically: a duplicate or late message finds the run already claimed or finished and returns
``None`` without touching anything. The decision task is :func:`hrsync.jobs.decisions.apply_decision`,
equally harmless twice (the second finds the run no longer held).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from hrsync.jobs.celery_app import DECIDE_RUN_TASK, RUN_IMPORT_TASK, app
from hrsync.jobs.give_way import for_this_worker, worker_id

log = logging.getLogger(__name__)


@app.task(  # type: ignore[untyped-decorator]
    name=RUN_IMPORT_TASK, bind=True, acks_late=True, reject_on_worker_lost=True
)
def run_import(self: Task, run_id: int) -> dict[str, Any] | None:
    from hrsync.sync.execute import execute_run

    give_way = for_this_worker()  # a large-import worker's import pauses while small ones are busy
    outcome = execute_run(int(run_id), worker_id=worker_id(self.request.hostname), pace=give_way)
    if give_way is not None and give_way.pauses:
        log.info("run %s gave way to small imports %s time(s), %.0f s in all", run_id, give_way.pauses,
                 give_way.paused)
    if outcome is None:
        log.info("run %s was already claimed by another worker; nothing to do", run_id)
        return None
    log.info("run %s finished: %s", run_id, outcome.status)
    return outcome.to_json()


@app.task(  # type: ignore[untyped-decorator]
    name=DECIDE_RUN_TASK, acks_late=True, reject_on_worker_lost=True
)
def decide_run(run_id: int, decision: str, admin_id: int | None = None) -> dict[str, Any] | None:
    from hrsync.jobs.decisions import apply_decision

    outcome = apply_decision(int(run_id), decision, admin_id)
    if outcome is None:
        return None
    log.info("run %s: %s applied: %s", run_id, decision, outcome.status)
    return outcome.to_json()  # type: ignore[no-any-return]
