"""A large import's pauses while small imports wait (hrsync.jobs.give_way, issue 27). The broker's answer is
given here as a sequence of counts; tests/jobs/test_celery_workers.py shows it against real workers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from hrsync.jobs.give_way import GiveWay


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
