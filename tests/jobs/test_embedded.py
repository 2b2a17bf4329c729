"""Embedded mode: one process schedules and runs imports on threads (SQLite file and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from hrsync.jobs.embedded import EmbeddedScheduler, current
from hrsync.jobs.enqueue import enqueue_run
from hrsync.store.types import utcnow
from hrsync.sync.runs import request_run

from .conftest import Install

FINISHED = {"succeeded", "succeeded_with_errors", "failed", "held", "rejected", "expired"}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    """Poll until ``condition`` holds; the timeout only stops a hung test, it measures nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.mark.slow
def test_due_imports_are_scheduled_and_run_on_the_worker_threads(install: Install) -> None:
    due = install.add_live(3, due_at=utcnow() - timedelta(minutes=1))
    workers = 1 if install.url.startswith("sqlite") else 2
    with EmbeddedScheduler(install.factory, tick=0.2, workers=workers) as scheduler:
        assert current() is scheduler
        wait_for(lambda: len(install.runs()) == 3 and all(r.status in FINISHED for r in install.runs()),
                 "three scheduled imports to finish")
    assert current() is None
    runs = install.runs()
    assert sorted(r.integration_id for r in runs) == sorted(due)
    assert {r.status for r in runs} <= {"succeeded", "succeeded_with_errors"}
    assert all(r.trigger == "schedule" and r.attempts == 1 and (r.worker_id or "").startswith("embedded:")
               for r in runs)
    for run in runs:
        assert install.member_count(run.programme_id) == run.created + run.pending > 0
        assert install.integration(run.integration_id).next_run_at > utcnow()


def test_import_now_goes_straight_to_the_embedded_worker(install: Install) -> None:
    [iid] = install.add_live()  # due tomorrow: only the administrator's click can start it
    with EmbeddedScheduler(install.factory, tick=3600) as scheduler:
        with install.factory.begin() as session:
            run_id = request_run(session, iid, trigger="manual").id
        assert enqueue_run(run_id) == "embedded"
        wait_for(lambda: install.runs(iid)[0].status in FINISHED, "the manual import to finish")
        assert scheduler.loop.passes == 1  # the start-up pass only: the click did not wait for a tick
    [run] = install.runs(iid)
    assert run.status in ("succeeded", "succeeded_with_errors") and run.trigger == "manual"


def test_runs_queued_while_no_scheduler_ran_are_picked_up_when_one_starts(install: Install) -> None:
    [iid] = install.add_live()
    with install.factory.begin() as session:
        run_id = request_run(session, iid, trigger="api").id
    assert enqueue_run(run_id) == "database"  # nobody to hand it to: it waits in the database
    assert install.runs(iid)[0].status == "queued"
    with EmbeddedScheduler(install.factory, tick=0.2):
        wait_for(lambda: install.runs(iid)[0].status in FINISHED, "the waiting import to finish")
    assert install.runs(iid)[0].attempts == 1


def test_one_pass_also_sends_the_outbox_and_runs_the_daily_close_down(install: Install) -> None:
    install.add_live(1, due_at=utcnow() - timedelta(minutes=1))
    scheduler = EmbeddedScheduler(install.factory).start(loop=False)
    try:
        first = scheduler.run_pass()
        second = scheduler.run_pass()
    finally:
        scheduler.stop(drain=True)
    assert first.errors == {} and second.errors == {}
    assert len(first.steps["scheduled"]["queued"]) == 1
    assert "skipped" in first.steps["outbox"] or "claimed" in first.steps["outbox"]
    assert first.steps["closedown"]["programmes"] == 1
    assert "closedown" not in second.steps  # once a day
    assert [r.status in FINISHED for r in install.runs()] == [True]  # drained: the import finished
