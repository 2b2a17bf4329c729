"""A large import's pauses while small imports wait (hrsync.jobs.give_way, issue 27). The broker's answer is
given here as a sequence of counts; tests/jobs/test_celery_workers.py shows it against real workers. The pause
points of a run are shown through ``execute_run`` on a SQLite file and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

from sqlalchemy import update
from tests.sync.run_by_url import execute_run

from hrsync.jobs.give_way import LARGE_WORKER, GiveWay, count_running_small
from hrsync.store.models import ImportRun
from hrsync.store.types import utcnow
from hrsync.sync.runs import request_run

from .conftest import Install


def answers(*counts: int) -> tuple[list[int], Callable[[], int]]:
    """A broker that answers ``counts`` in turn, then 0; ``asked`` records every question."""
    asked: list[int] = []
    it: Iterator[int] = iter(counts)

    def waiting() -> int:
        value = next(it, 0)
        asked.append(value)
        return value

    return asked, waiting


def test_nothing_waiting_means_no_pause_and_at_most_one_question_per_interval() -> None:
    asked, waiting = answers()
    give_way = GiveWay(waiting, budget=10, check_every=60, poll=0.01)
    started = time.monotonic()
    for _ in range(100):  # a hundred pages read within the interval
        give_way()
    assert time.monotonic() - started < 1.0
    assert asked == [0] and give_way.paused == 0 and give_way.pauses == 0


def test_it_pauses_while_small_imports_wait_and_carries_on_when_they_are_taken() -> None:
    asked, waiting = answers(3, 2, 1)
    give_way = GiveWay(waiting, budget=10, check_every=0, poll=0.02)
    give_way()
    assert asked == [3, 2, 1, 0]
    assert give_way.pauses == 1 and abs(give_way.paused - 0.06) < 1e-9


def test_the_pauses_never_add_up_to_more_than_the_budget() -> None:
    asked, waiting = answers(*[5] * 1000)  # small imports never stop coming
    give_way = GiveWay(waiting, budget=0.1, check_every=0, poll=0.03)
    for _ in range(5):  # page after page
        give_way()
    assert abs(give_way.paused - 0.1) < 1e-9  # 0.03 + 0.03 + 0.03 + 0.01, then never again
    assert len(asked) == 4 and give_way.pauses == 1


def test_a_broker_that_cannot_answer_ends_the_pausing_not_the_import() -> None:
    calls: list[int] = []

    def broken() -> int:
        calls.append(1)
        raise ConnectionError("broker down")

    give_way = GiveWay(broken, budget=10, check_every=0, poll=0.01)
    give_way()
    give_way()
    assert calls == [1] and give_way.paused == 0  # asked once, then no more


def test_a_run_pauses_at_each_page_and_once_more_between_its_plan_and_its_apply(install: Install) -> None:
    """The pause points of a run (``execute_run(pace=...)``): each page boundary of the read, then the
    moment after the plan and before the apply, when nothing is held. A large import's apply (a first
    import's hundred thousand rows) may wait there for a rush of small ones, as its read does."""
    [iid] = install.add_live()
    programme_id = install.integration(iid).programme_id
    with install.factory.begin() as session:
        run_id = request_run(session, iid, trigger="manual").id
    seen: list[tuple[int, int]] = []

    def pace() -> None:  # at each pause point: the HR system's answers so far, the programme's members
        seen.append((install.sim.stats.total, install.member_count(programme_id)))

    outcome = execute_run(run_id, url=install.url, pace=pace)
    assert outcome is not None and outcome.status in {"succeeded", "succeeded_with_errors"}
    assert install.member_count(programme_id) >= install.runs(iid)[-1].created > 0
    assert len(seen) >= 2  # the simulator's 60 people on one page, then the apply
    assert all(members == 0 for _answers, members in seen)  # nothing written at any pause point
    assert seen[-1][0] == install.sim.stats.total  # the last: once everything was read


def test_small_imports_running_are_those_alive_on_workers_other_than_large_import_ones(install: Install) -> None:
    """What a large import gives way to besides the queue and the due integrations: runs running on any
    worker but a large-import one (whose claims say ``celery-large:``), heard from in the last two minutes."""
    now = utcnow()
    ids = install.add_live(7)
    runs = {}
    for iid in ids:
        with install.factory.begin() as session:
            runs[iid] = request_run(session, iid, trigger="manual").id
    states = [  # status, worker, last heartbeat
        ("running", "celery:smalls@host:11:1", now - timedelta(seconds=20)),  # counted
        ("running", "embedded:host:12:2", now - timedelta(seconds=90)),  # counted: any other worker
        ("running", f"{LARGE_WORKER}:larges@host:13:3", now),  # another large import: not counted
        ("running", "celery:smalls@host:14:4", now - timedelta(minutes=5)),  # its worker died: not counted
        ("queued", None, None),  # on the queue: the broker's count, not this one
        ("succeeded", "celery:smalls@host:15:5", now),
        ("failed", "celery:smalls@host:16:6", now),
    ]
    with install.factory.begin() as session:
        for iid, (status, worker, heard) in zip(ids, states, strict=True):
            session.execute(update(ImportRun).where(ImportRun.id == runs[iid])
                            .values(status=status, worker_id=worker, heartbeat_at=heard, started_at=heard))
    with install.factory() as session:
        assert count_running_small(session, now) == 2
        assert count_running_small(session, now + timedelta(minutes=1)) == 1  # the first one, heard 20 s before
