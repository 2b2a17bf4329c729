"""Decisions on held runs are jobs: the request records the intent, a worker applies it."""

from __future__ import annotations

import pytest

from hrsync.jobs.decisions import pending_decisions
from hrsync.jobs.embedded import EmbeddedScheduler
from hrsync.services import imports
from hrsync.services.errors import ServiceError
from hrsync.store.models import ActivityLog, ImportRun
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run

from .conftest import Install
from .test_embedded import wait_for


def _held_run(install: Install) -> tuple[int, int]:
    """A live integration whose second import is held by the leaver brake (a dozen people left)."""
    [iid] = install.add_live()
    for _ in range(2):
        with install.factory.begin() as session:
            run_id = request_run(session, iid, trigger="cli").id
        execute_run(run_id)
        if _ == 0:
            current = [p for p in install.sim.directory.people() if p["employmentStatus"] == "Current Staff"]
            for person in current[:12]:
                install.sim.directory.terminate(person["id"])
    [run] = [r for r in install.runs(iid) if r.id == run_id]
    assert run.status == "held", run.reason
    return iid, run_id


def test_an_approval_waits_in_the_database_until_a_worker_applies_it(install: Install) -> None:
    iid, run_id = _held_run(install)
    with install.factory() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        imports.approve(session, run)  # no scheduler in this process: the decision stays pending
    with install.factory() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None and run.status == "held" and run.decided_at is not None
        assert imports.decision_pending(session, run) is not None
        assert imports.progress_of(session, run).held is False  # it reads as waiting for a worker
        with pytest.raises(ServiceError) as refused:
            imports.reject(session, run)  # one decision per held run
        assert refused.value.code == "state"
        assert [p.run_id for p in pending_decisions(session)] == [run_id]
    with EmbeddedScheduler(install.factory, tick=0.2, send_outbox=False, closedown=False):
        wait_for(lambda: install.runs(iid)[-1].status != "held", "the approval to be applied")
    run = install.runs(iid)[-1]
    assert run.status in ("succeeded", "succeeded_with_errors") and run.leavers >= 12
    with install.factory() as session:
        actions = [a.action for a in session.query(ActivityLog).filter_by(integration_id=iid).order_by(ActivityLog.id)]
        assert actions[-2:] == ["approval_requested", "approved_run"]
        assert pending_decisions(session) == []


def test_a_rejection_goes_straight_to_the_embedded_worker(install: Install) -> None:
    iid, run_id = _held_run(install)
    with EmbeddedScheduler(install.factory, tick=3600, send_outbox=False, closedown=False):
        with install.factory() as session:
            run = session.get(ImportRun, run_id)
            assert run is not None
            imports.reject(session, run)
        wait_for(lambda: install.runs(iid)[-1].status == "rejected", "the rejection to be applied")
    assert install.member_count(install.programmes[0]) > 0  # the first import's members stay as they were
