"""Due schedules become one queued run each; held runs skip; dead workers' runs are retried.

Every test runs on a SQLite file and on PostgreSQL, with integrations set up through the real
services against the simulator over HTTP.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from tests.statements import recorded_statements
from tests.sync.run_by_url import execute_run

import hrsync.jobs.loop as loop_module
from hrsync.jobs.dispatch import (
    SKIPPED_ACTION,
    ScheduleReport,
    _schedule_one,
    count_due,
    due_integrations,
    recover_stale_runs,
    requeue_queued_runs,
    schedule_due,
)
from hrsync.jobs.loop import PeriodicLoop
from hrsync.services.integrations import get_integration, pause
from hrsync.store.models import ActivityLog, ImportRun, Integration, OutboxEmail
from hrsync.store.types import utcnow
from hrsync.sync.runs import request_run

from .conftest import Install, activate


def test_publishing_sets_the_first_due_time_and_pausing_clears_it(install: Install) -> None:
    before = utcnow()
    [iid] = install.add_live(frequency="weekly", schedule_time="09:00")
    integration = install.integration(iid)
    assert integration.next_run_at is not None
    assert before < integration.next_run_at <= before + timedelta(days=7)
    with install.factory.begin() as session:
        pause(session, get_integration(session, iid), None)
    assert install.integration(iid).next_run_at is None


def test_each_due_integration_gets_one_scheduled_run_and_its_next_due_time(install: Install) -> None:
    now = utcnow()
    due = install.add_live(2, due_at=now - timedelta(minutes=5))
    later = install.add_live(1)  # its first due time is in the future
    manual = install.add_live(1, frequency="manual")
    enqueued: list[int] = []

    report = schedule_due(install.factory, now, enqueued.append)

    assert sorted(r.integration_id for r in install.runs()) == sorted(due)
    assert all(r.trigger == "schedule" and r.status == "queued" for r in install.runs())
    assert enqueued == report.queued == [r.id for r in install.runs()]
    for iid in due:
        next_at = install.integration(iid).next_run_at
        assert next_at is not None and now < next_at <= now + timedelta(days=1)
    assert install.integration(manual[0]).next_run_at is None
    assert install.integration(later[0]).next_run_at > now
    # The same pass again (or a second scheduler just after) queues nothing more.
    assert schedule_due(install.factory, now, enqueued.append).queued == []
    assert len(install.runs()) == 2


def test_paused_integrations_are_not_due(install: Install) -> None:
    now = utcnow()
    [iid] = install.add_live(due_at=now - timedelta(hours=1))
    with install.factory.begin() as session:
        session.execute(update(Integration).where(Integration.id == iid).values(status="paused"))
    with install.factory() as session:
        assert due_integrations(session, now) == []
    assert schedule_due(install.factory, now).queued == []


def test_the_due_count_is_what_the_scheduler_has_yet_to_queue_from_the_last_quarter_hour(install: Install) -> None:
    """What a large import gives way to besides the broker's queue (hrsync.jobs.give_way): integrations due
    and not yet queued, but not one due for longer than ``within`` (a scheduler down, or failing on it)."""
    now = utcnow()
    recent = install.add_live(3, due_at=now - timedelta(seconds=30))
    install.add_live(1, due_at=now - timedelta(minutes=20))  # stuck: not a rush to give way to
    install.add_live(1, due_at=now + timedelta(seconds=30))  # not due yet
    [paused] = install.add_live(1, due_at=now - timedelta(seconds=5))
    with install.factory.begin() as session:
        session.execute(update(Integration).where(Integration.id == paused).values(status="paused"))
    with install.factory() as session:
        assert count_due(session, now) == 3
        assert count_due(session, now, within=timedelta(hours=1)) == 4
    schedule_due(install.factory, now, limit=2)  # most overdue first: the stuck one and one recent one
    with install.factory() as session:
        assert count_due(session, now) == 2
        assert count_due(session, now, within=timedelta(hours=1)) == 2
    assert len({r.integration_id for r in install.runs()} & set(recent)) == 1


def test_a_held_run_makes_the_scheduled_import_skip_and_the_skip_is_logged(install: Install) -> None:
    now = utcnow()
    [iid] = install.add_live(due_at=now - timedelta(minutes=1))
    with install.factory.begin() as session:
        integration = session.get(Integration, iid)
        assert integration is not None
        held = ImportRun(integration_id=iid, programme_id=integration.programme_id, status="held",
                         expires_at=now + timedelta(days=7))
        session.add(held)
        session.flush()
        held_id = held.id
    enqueued: list[int] = []

    report = schedule_due(install.factory, now, enqueued.append)

    assert enqueued == [] and report.queued == []
    assert [r.id for r in install.runs()] == [held_id]
    [skip] = report.skipped
    assert skip["integration_id"] == iid and skip["run_id"] == held_id and str(held_id) in skip["reason"]
    with install.factory() as session:
        logs = session.scalars(select(ActivityLog).where(ActivityLog.action == SKIPPED_ACTION)).all()
    assert len(logs) == 1 and logs[0].integration_id == iid and logs[0].detail["run_id"] == held_id
    next_at = install.integration(iid).next_run_at
    assert next_at is not None and next_at > now  # skipped, not retried every tick


def test_a_scheduler_that_read_a_stale_due_time_creates_no_second_run(install: Install) -> None:
    now = utcnow()
    [iid] = install.add_live(due_at=now - timedelta(minutes=1))
    with install.factory() as slow_session:
        stale = slow_session.get(Integration, iid)  # the slow scheduler reads "due" ...
        assert stale is not None and stale.next_run_at is not None and stale.next_run_at <= now
        assert len(schedule_due(install.factory, now).queued) == 1  # ... a fast one queues the run ...
        report = ScheduleReport()
        assert _schedule_one(slow_session, iid, now, report) is None  # ... the slow one loses
        slow_session.commit()
    assert report.lost_race == 1
    assert len(install.runs(iid)) == 1


@pytest.mark.slow
def test_two_schedulers_racing_create_exactly_one_run_per_due_integration(install: Install) -> None:
    now = utcnow()
    due = install.add_live(20, due_at=now - timedelta(minutes=1))
    barrier = threading.Barrier(2)
    reports: list[ScheduleReport] = []
    enqueued: list[int] = []
    lock = threading.Lock()

    def scheduler() -> None:
        barrier.wait()
        report = schedule_due(install.factory, now, lambda run_id: enqueued.append(run_id))
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(reports) == 2
    runs = install.runs()
    assert sorted(r.integration_id for r in runs) == sorted(due)  # one each, none twice
    assert sorted(enqueued) == sorted(r.id for r in runs)
    assert sum(len(r.queued) for r in reports) == 20
    assert [r.skipped for r in reports] == [[], []]  # the loser saw "already claimed", not "blocked"


def _simulate_dead_worker(install: Install, run_id: int, minutes_ago: int) -> None:
    """What a worker killed mid-import leaves behind: a running run whose heartbeat stopped."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    with install.factory.begin() as session:
        session.execute(
            update(ImportRun).where(ImportRun.id == run_id).values(
                status="running", phase="fetching", worker_id="dead-host:1", started_at=at, heartbeat_at=at,
                attempts=ImportRun.attempts + 1,
            )
        )


def _queue_manual_run(install: Install, integration_id: int) -> int:
    with install.factory.begin() as session:
        return request_run(session, integration_id, trigger="manual").id


def test_a_run_whose_worker_stopped_responding_is_failed_and_retried_once(install: Install) -> None:
    [iid] = install.add_live()
    dead = _queue_manual_run(install, iid)
    _simulate_dead_worker(install, dead, minutes_ago=15)
    enqueued: list[int] = []

    report = recover_stale_runs(install.factory, utcnow(), timedelta(minutes=10), enqueued.append)

    assert report.failed == [dead]
    [(failed, retry)] = report.retried
    assert failed == dead and enqueued == [retry]
    old, new = install.runs(iid)
    assert old.status == "failed" and "stopped responding" in (old.reason or "")
    assert new.id == retry and new.status == "queued" and new.trigger == "manual"
    assert new.attempts == old.attempts  # the claim makes it attempt 2
    assert install.member_events(run_id=dead) == []
    # A second recoverer (another scheduler) finds nothing left to do.
    again = recover_stale_runs(install.factory, utcnow(), timedelta(minutes=10), enqueued.append)
    assert again.failed == [] and enqueued == [retry]

    outcome = execute_run(retry, url=install.url)
    assert outcome is not None and outcome.status in ("succeeded", "succeeded_with_errors")
    finished = install.runs(iid)[-1]
    assert finished.attempts == 2
    programme_id = finished.programme_id
    assert install.member_count(programme_id) == outcome.counts["created"] + outcome.counts["pending"] > 0


def test_a_run_with_a_fresh_heartbeat_is_left_alone(install: Install) -> None:
    [iid] = install.add_live()
    run_id = _queue_manual_run(install, iid)
    _simulate_dead_worker(install, run_id, minutes_ago=2)
    report = recover_stale_runs(install.factory, utcnow(), timedelta(minutes=10))
    assert report.failed == [] and install.runs(iid)[0].status == "running"


def test_recovery_gives_up_after_the_last_attempt_and_tells_the_administrator(install: Install) -> None:
    [iid] = install.add_live()
    run_id = _queue_manual_run(install, iid)
    with install.factory.begin() as session:
        session.execute(update(ImportRun).where(ImportRun.id == run_id).values(attempts=2))
    _simulate_dead_worker(install, run_id, minutes_ago=30)  # its third attempt dies too

    report = recover_stale_runs(install.factory, utcnow(), timedelta(minutes=10), max_attempts=3)

    assert report.failed == [run_id] and report.gave_up == [run_id] and report.retried == []
    assert [r.status for r in install.runs(iid)] == ["failed"]
    with install.factory() as session:
        mails = session.scalars(select(OutboxEmail).where(OutboxEmail.run_id == run_id)).all()
    assert [m.kind for m in mails] == ["run_failed"]


def test_queued_runs_are_handed_out_again_and_still_execute_once(install: Install) -> None:
    [iid] = install.add_live()
    run_id = _queue_manual_run(install, iid)
    handed: list[int] = []
    assert requeue_queued_runs(install.factory, handed.append) == [run_id] == handed
    first = execute_run(run_id, url=install.url)
    second = execute_run(run_id, url=install.url)  # the duplicate message
    assert first is not None and second is None
    assert requeue_queued_runs(install.factory, handed.append) == []
    assert len(install.runs(iid)) == 1 and install.runs(iid)[0].attempts == 1


def test_an_unusable_stored_schedule_runs_once_stops_and_does_not_hold_up_the_others(install: Install) -> None:
    now = utcnow()
    broken, healthy = install.add_live(2, frequency="weekly", due_at=now - timedelta(minutes=1))
    with install.factory.begin() as session:  # a row written before today's validation existed
        session.execute(update(Integration).where(Integration.id == broken).values(schedule_day="15"))

    report = schedule_due(install.factory, now)

    assert len(report.queued) == 2 and report.errors == []
    assert install.integration(broken).next_run_at is None
    assert install.integration(healthy).next_run_at > now
    with install.factory() as session:
        stopped = session.scalars(select(ActivityLog).where(ActivityLog.action == "schedule_stopped")).all()
    assert [a.integration_id for a in stopped] == [broken]


def test_a_pass_checks_out_one_connection_and_queues_each_run_in_few_statements(install: Install) -> None:
    """Issue 27: 2,000 programmes due in one minute made the scheduler the bottleneck (most of the start lag
    was the wait to be queued). The batch shares one connection (checked out, and pinged, once), an
    integration is read with its programme, and no held run is expired where none is held."""
    now = utcnow()
    due = install.add_live(4, due_at=now - timedelta(minutes=5))
    engine = install.factory.kw["bind"]
    checkouts: list[object] = []

    def checked_out(*_args: object) -> None:
        checkouts.append(_args)

    event.listen(engine, "checkout", checked_out)
    try:
        with recorded_statements(install.url) as sent:
            report = schedule_due(install.factory, now, lambda run_id, **_: None)
    finally:
        event.remove(engine, "checkout", checked_out)
    assert len(report.queued) == len(due) == 4
    assert len(checkouts) == 1
    flat = [" ".join(s.split()) for s in sent]
    assert not [s for s in flat if s.startswith("SELECT programme.")], "a programme was loaded on its own"
    assert not [s for s in flat if s.startswith("UPDATE import_run")], "a held run was looked for to expire"


def test_with_a_broker_the_pass_chooses_each_runs_queue_in_its_own_transaction(install: Install) -> None:
    """The queue (hrsync.jobs.routing) is decided while the run is queued and handed to the broker with it;
    the large integration (its last import read 60 people, the line is at 50) goes to the large queue."""
    install.env.update(HRSYNC_LARGE_IMPORT_PEOPLE="50", HRSYNC_BROKER_URL="redis://127.0.0.1:1/0")
    activate(install.env)  # a broker named, never reached: the test's own enqueue stands in for it
    large, small = install.add_live(2)
    with install.factory.begin() as session:
        first = request_run(session, large, trigger="cli").id
    outcome = execute_run(first)
    assert outcome is not None and install.runs(large)[-1].total == 60
    now = utcnow()
    with install.factory.begin() as session:
        session.execute(update(Integration).where(Integration.id.in_([large, small]))
                        .values(next_run_at=now - timedelta(minutes=1)))
    handed: dict[int, bool | None] = {}

    def enqueue(run_id: int, *, large: bool | None = None) -> None:
        handed[run_id] = large

    report = schedule_due(install.factory, now, enqueue)
    queued = {run.integration_id: run.id for run in install.runs() if run.trigger == "schedule"}
    assert sorted(report.queued) == sorted(queued.values())
    assert handed == {queued[large]: True, queued[small]: False}


class _RecordedWaits(threading.Event):
    """The loop's wake-up event: records how long each wait between two passes was asked to last, and
    stops the loop after the first."""

    def __init__(self, loop: PeriodicLoop) -> None:
        super().__init__()
        self.loop, self.timeouts = loop, []

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        self.loop._stop.set()
        return True


def _one_pass(install: Install, enqueue: Any, **loop: Any) -> float | None:
    ticking = PeriodicLoop(install.factory, enqueue, send_outbox=False, closedown=False, webhook_hints=False,
                           **loop)
    waits = _RecordedWaits(ticking)
    ticking._wake = waits
    ticking.run_forever()
    assert ticking.passes == 1
    return waits.timeouts[0]


def test_the_next_pass_is_a_tick_after_the_last_one_began_not_after_it_ended(install: Install) -> None:
    """Issue 27: a pass that queues many runs takes a while; the next one is not pushed back by it."""
    install.add_live(1, due_at=utcnow() - timedelta(minutes=1))

    def slow_enqueue(run_id: int, **_: Any) -> None:
        time.sleep(0.4)  # a slow broker: this pass lasts at least 0.4 s

    timeout = _one_pass(install, slow_enqueue, tick=5.0)
    assert timeout is not None and timeout <= 5.0 - 0.4


def test_after_a_full_batch_the_next_pass_starts_at_once(install: Install, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop_module, "SCHEDULE_BATCH", 2)  # two due integrations fill the batch
    install.add_live(2, due_at=utcnow() - timedelta(minutes=1))
    assert _one_pass(install, lambda run_id, **_: None, tick=5.0) == 0.0
