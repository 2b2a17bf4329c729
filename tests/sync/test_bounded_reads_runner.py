"""An abandoned read inside the runner: the run ends failed, its heartbeat thread stops, the
integration's slot is free; Celery's soft time limit arriving mid-read ends the run the same way."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from hrsync.config import reset_settings_cache
from hrsync.sources.base import CheckResult, SourceField, SourcePerson
from hrsync.sources.registry import source_for
from hrsync.store.db import dispose_engines, session_scope
from hrsync.store.models import ImportRun, Integration, Member
from hrsync.sync.execute import TIME_LIMIT_REASON, execute_run
from hrsync.sync.runs import active_run, request_run

if TYPE_CHECKING:
    from conftest import Install


class _SoftLimitMidRead:
    """The real connector, interrupted after 50 people the way Celery's soft time limit interrupts
    a task: ``SoftTimeLimitExceeded`` raised in the task's thread, wherever it happens to be."""

    def __init__(self, integration: Integration) -> None:
        self._source = source_for(integration)

    def check(self) -> CheckResult:
        return self._source.check()

    def fields(self) -> list[SourceField]:
        return self._source.fields()

    def people(self, **options: Any) -> Iterator[SourcePerson]:
        for count, person in enumerate(self._source.people(**options), start=1):
            if count > 50:
                raise SoftTimeLimitExceeded()
            yield person

    def close(self) -> None:
        self._source.close()


def _queue(integration_id: int) -> int:
    with session_scope() as session:
        run = request_run(session, integration_id)
        session.flush()
        return run.id


def _members() -> list[tuple[Any, ...]]:
    with session_scope() as session:
        return [tuple(r) for r in session.query(Member.id, Member.status, Member.updated_at).order_by(Member.id)]


def _heartbeat_stopped(run_id: int) -> bool:
    for thread in [t for t in threading.enumerate() if t.name == f"heartbeat-{run_id}"]:
        thread.join(timeout=5)  # a heartbeat left running would wait 30 s between beats
        if thread.is_alive():
            return False
    return True


def test_an_abandoned_read_stops_the_heartbeat_and_frees_the_slot(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    directory = install.sim.directory
    directory.terminate(next(p for p in directory.people() if p["employmentStatus"] == "Current Staff")["id"])
    before = _members()

    # The read deadline, from the environment as an operator sets it; every page after the first is slow.
    monkeypatch.setenv("HRSYNC_IMPORT_READ_DEADLINE", "1")
    reset_settings_cache()
    dispose_engines()
    install.sim.faults.add("slow", times=None, after=1, delay=30)
    run_id = _queue(integration)
    outcome = execute_run(run_id)
    assert outcome is not None and outcome.status == "failed"
    assert outcome.reason and "took longer than the 1 second" in outcome.reason
    assert _heartbeat_stopped(run_id)
    assert not [t for t in threading.enumerate() if t.name.startswith("intellihr_") and t.is_alive()]
    with session_scope() as session:
        assert active_run(session, integration) is None
    assert _members() == before

    # Celery's soft time limit in the middle of the read: a failed run with that reason, not a crash.
    install.sim.faults.clear()
    run_id = _queue(integration)
    outcome = execute_run(run_id, source_factory=_SoftLimitMidRead)
    assert outcome is not None and outcome.status == "failed"
    assert outcome.reason == TIME_LIMIT_REASON
    assert _heartbeat_stopped(run_id)
    with session_scope() as session:
        assert active_run(session, integration) is None
        run = session.get(ImportRun, run_id)
        assert run is not None and run.finished_at is not None
    assert _members() == before
