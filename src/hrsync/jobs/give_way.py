"""A large import gives way to small ones (issue 27).

A worker started with ``--queues large`` shares the machine (its cores, the database) with the
small-import workers. Its lower CPU priority (``--nice``) is not enough when a rush of small imports
falls due while it reads: the database, the HR systems' answers and the memory bus are shared too,
and in the fleet benchmark the small imports' start lag grew three times as fast while it ran. So at
each page boundary of its read, and before its apply, the large import asks whether small imports are
busy (waiting on the broker's queue, due and not yet queued by the scheduler, or running), and while they
are it pauses, up to ``HRSYNC_LARGE_IMPORT_GIVE_WAY`` seconds in all, then carries on whatever they do.
Its heartbeat goes on meanwhile, so recovery never takes it for dead.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHECK_EVERY = 0.5  # seconds between two questions to the broker while the import runs
POLL = 0.5  # seconds paused between two questions while small imports wait


class GiveWay:
    """Called at each pause point of an import (its read's page boundaries, the moment before its apply):
    returns at once, or after small imports stopped waiting or the budget ran out. ``waiting`` counts the
    small imports waiting or running (:func:`small_imports_busy`); a broker that cannot answer ends the pausing for
    this import, never the import."""

    def __init__(self, waiting: Callable[[], int], budget: float, *, check_every: float = CHECK_EVERY,
                 poll: float = POLL) -> None:
        self._waiting = waiting
        self.budget = max(0.0, budget)
        self._check_every, self._poll = check_every, poll
        self._next_check = 0.0
        self.paused = 0.0  # seconds paused so far
        self.pauses = 0

    def __call__(self) -> None:
        now = time.monotonic()
        if self.paused >= self.budget or now < self._next_check:
            return
        self._next_check = now + self._check_every
        first = True
        while self.paused < self.budget:
            try:
                waiting = self._waiting()
            except Exception:  # the broker's hiccup: go on reading, and stop asking
                log.warning("could not count the small imports waiting; this import no longer gives way",
                            exc_info=True)
                self.budget = self.paused
                return
            if not waiting:
                return
            if first:
                self.pauses += 1
                log.info("giving way to %s small import(s) queued, due or running (%.0f s of %.0f s used)",
                         waiting, self.paused, self.budget)
                first = False
            step = min(self._poll, self.budget - self.paused)
            time.sleep(step)
            self.paused += step


_GIVES_WAY = False  # set by ``hrsync worker --queues large`` before its pool processes are forked


def takes_large_imports_only(only_large: bool) -> None:
    """Say whether this worker process (and the pool processes it forks after this) takes large imports
    alone: only such a worker gives way; one that also takes small ones would wait for work it could do
    itself."""
    global _GIVES_WAY
    _GIVES_WAY = only_large


def for_this_worker() -> GiveWay | None:
    """The pacing of an import this worker runs: a :class:`GiveWay` on a large-import worker with a budget
    (``HRSYNC_LARGE_IMPORT_GIVE_WAY``), else ``None``."""
    from hrsync.config import get_settings

    budget = get_settings().large_import_give_way
    if not _GIVES_WAY or budget <= 0:
        return None
    return GiveWay(small_imports_busy, budget)


def worker_id(hostname: str) -> str:
    """The name a Celery worker's import claims its run with: host, process and thread (a thread-pool
    worker runs several imports in one process), under :data:`LARGE_WORKER` on a large-import worker, so
    that the large imports running elsewhere are not taken for small ones (:func:`small_imports_busy`)."""
    return f"{LARGE_WORKER if _GIVES_WAY else 'celery'}:{hostname}:{os.getpid()}:{threading.get_ident()}"


LARGE_WORKER = "celery-large"  # how a large-import worker's runs are named (worker_id)
ALIVE_WITHIN = timedelta(minutes=2)  # a running run heard from since then is running (heartbeats: 30 s)


def small_imports_busy() -> int:
    """Small imports that want the machine: on the broker's small-import queues; else due and not yet
    queued (in a rush the scheduler queues runs seconds after they fall due, and the queue can look empty
    meanwhile); else running on any worker but a large-import one (they have the cores, which a large
    import's read, its HR system's answers and its database work would share). Integrations due are counted
    as small: a large one due as well is rare, and waiting for it costs at most the budget."""
    from hrsync.jobs.celery_app import queue_depth
    from hrsync.jobs.dispatch import count_due
    from hrsync.store.db import session_scope

    queued = queue_depth(which="small")
    if queued:
        return queued
    with session_scope() as session:
        return count_due(session) or count_running_small(session)


def count_running_small(session: Session, now: datetime | None = None) -> int:
    """Runs running other than on a large-import worker (:data:`LARGE_WORKER`) and heard from within
    :data:`ALIVE_WITHIN` (one whose worker died is not waited for until recovery fails it)."""
    from hrsync.jobs.dispatch import count_alive
    from hrsync.store.types import utcnow

    return count_alive(session, now or utcnow(), ALIVE_WITHIN, besides_worker=LARGE_WORKER)
