"""The Celery application for scale-out mode: workers run imports, the database keeps run state.

Start workers with ``hrsync worker`` (or ``celery -A hrsync.jobs.celery_app worker``); the broker
is ``HRSYNC_BROKER_URL`` (``redis://…`` or ``amqp://…``). Settings that matter, and why:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged only after the
  import returns, so a worker killed before it claimed the run does not lose it. A killed worker
  that *had* claimed the run leaves it ``running`` with an old heartbeat; the scheduler's
  stale-run recovery fails it and queues a retry. Redelivered messages are harmless because the
  runner's queued → running claim lets exactly one execution through.
* ``worker_prefetch_multiplier = 1``: imports are long and uneven; a worker must not hoard
  messages another idle worker could run.
* Redis ``visibility_timeout`` (:data:`VISIBILITY_TIMEOUT`): Redis re-delivers an unacknowledged
  message after this long, so it must exceed the longest import (with acks_late, a message stays
  unacknowledged for the whole import). Even if exceeded, the second delivery only finds the run
  already claimed. RabbitMQ has the matching ``consumer_timeout`` (see docs/deploy.md).
* Time limits (:func:`time_limits`): the soft limit is the read deadline
  (``HRSYNC_IMPORT_READ_DEADLINE``) plus :data:`PLAN_APPLY_MARGIN` for planning and applying; it
  raises ``SoftTimeLimitExceeded`` inside the import, whose transaction rolls back, and the runner
  finishes the run as failed with that reason (no member changed, the integration free again).
  The hard limit, :data:`HARD_LIMIT_GRACE` later, kills a pool process that ignored it; its run is
  then left to stale-run recovery like a killed worker's. Celery enforces both in the ``prefork``
  pool (the default of ``hrsync worker``), not in ``threads`` or ``solo``, where only the read
  deadline bounds an import.
* ``worker_max_memory_per_child`` (``HRSYNC_WORKER_MAX_MEMORY_MB``, default 250): a pool process an
  import left above it is replaced by a fresh one once the task ends (prefork only).
* Two queues: ``<queue>`` and ``<queue>.large`` (:mod:`hrsync.jobs.routing` says which a run takes).
* No result backend: results live on the ``import_run`` row.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
from kombu.exceptions import ChannelError

from hrsync.config import get_settings

DEFAULT_QUEUE = "hrsync"
VISIBILITY_TIMEOUT = 6 * 60 * 60  # seconds; longer than any import we expect (capacity: docs/deploy.md)
RUN_IMPORT_TASK = "hrsync.run_import"
DECIDE_RUN_TASK = "hrsync.decide_run"
PLAN_APPLY_MARGIN = 30 * 60
"""Seconds for planning and applying after the read: a 1,000,000-person run plans and applies in
about four minutes (BENCHMARKS.md); half an hour is room for a slow database."""
HARD_LIMIT_GRACE = 5 * 60
"""Seconds between the soft limit (the import fails cleanly) and the hard one (the process is killed)."""


def time_limits(read_deadline: float | None = None) -> tuple[float, float]:
    """(soft, hard) time limits of the import task, in seconds, derived from the read deadline."""
    deadline = get_settings().import_read_deadline if read_deadline is None else read_deadline
    soft = float(deadline) + PLAN_APPLY_MARGIN
    return soft, soft + HARD_LIMIT_GRACE


def queue_name() -> str:
    """The broker queue imports go through (one per deployment; tests use their own).

    The operator setting ``HRSYNC_CELERY_QUEUE`` (:class:`hrsync.config.Settings`).
    """
    return get_settings().celery_queue or DEFAULT_QUEUE


LARGE_SUFFIX = ".large"
"""The large-import queue is the import queue's name plus this (``hrsync.large`` by default)."""
QUEUE_CHOICES = ("all", "small", "large")


def worker_queues(which: str = "all", base: str | None = None) -> list[str]:
    """The queues a worker started with ``--queues which`` consumes."""
    base = base or queue_name()
    return {"all": [base, base + LARGE_SUFFIX], "small": [base], "large": [base + LARGE_SUFFIX]}[which]


def make_app(broker_url: str | None = None, *, queue: str | None = None) -> Celery:
    """A Celery app for this broker (default: ``HRSYNC_BROKER_URL``)."""
    broker = broker_url if broker_url is not None else get_settings().broker_url
    queue = queue or queue_name()
    soft_limit, hard_limit = time_limits()
    # Redis must not hand an import's message to another worker while the import may still be running.
    visibility = max(VISIBILITY_TIMEOUT, int(hard_limit) + 10 * 60)
    app = Celery("hrsync", broker=broker or "memory://", include=["hrsync.jobs.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=queue,
        task_routes={RUN_IMPORT_TASK: {"queue": queue}, DECIDE_RUN_TASK: {"queue": queue}},
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": visibility},
        task_soft_time_limit=soft_limit,
        task_time_limit=hard_limit,
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,
        task_track_started=False,
        enable_utc=True,
        # Python rarely hands freed memory back: a pool process that read a large directory stays big
        # until replaced. Replace it after the task once it is above the limit (issue 27).
        worker_max_memory_per_child=(get_settings().worker_max_memory_mb * 1024) or None,
    )
    return app


# The app ``celery -A hrsync.jobs.celery_app`` and ``hrsync worker`` run (configured at import).
app = make_app()

_producers_lock = threading.Lock()
_producers: dict[tuple[str, str], Celery] = {}


def producer_app() -> Celery:
    """An app for *sending*, matching the current settings (they may change in tests and the CLI)."""
    broker = get_settings().broker_url
    if not broker:
        raise RuntimeError("HRSYNC_BROKER_URL is not set: there is no broker to send imports to")
    key = (broker, queue_name())
    with _producers_lock:
        found = _producers.get(key)
        if found is None:
            found = _producers[key] = make_app(broker, queue=key[1])
        return found


def send_run(run_id: int, *, large: bool | None = None) -> None:
    """Put one run id on the broker queue for a worker: the large-import queue when the integration's
    last import was large (:func:`hrsync.jobs.routing.is_large_run`; ``large``: already decided), the
    import queue otherwise."""
    from hrsync.jobs.routing import is_large_run

    producer = producer_app()
    queue = str(producer.conf.task_default_queue)
    if is_large_run(run_id) if large is None else large:
        queue += LARGE_SUFFIX
    producer.send_task(RUN_IMPORT_TASK, args=[int(run_id)], queue=queue)


def send_decision(run_id: int, decision: str, admin_id: int | None) -> None:
    """Put a decision on a held run on the broker queue (see :mod:`hrsync.jobs.decisions`)."""
    producer = producer_app()
    producer.send_task(DECIDE_RUN_TASK, args=[int(run_id), decision, admin_id],
                       queue=producer.conf.task_default_queue)


def queue_depth(celery: Celery | None = None, which: str = "all") -> int:
    """Messages waiting in the import queues (``which``: all, small, large), not counting ones a worker
    holds; an absent queue counts 0."""
    celery = celery or producer_app()
    total = 0
    for name in worker_queues(which, str(celery.conf.task_default_queue)):
        with celery.connection_for_write() as conn:
            channel: Any = conn.default_channel
            try:
                declared = channel.queue_declare(queue=name, passive=True)
            except ChannelError:  # an absent queue (Redis deletes empty lists; AMQP answers 404)
                continue
            total += int(declared.message_count)
    return total


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _fresh_connections_after_fork(**_: Any) -> None:
    """A forked pool process must not reuse the parent's database sockets."""
    from hrsync.store.db import dispose_engines

    dispose_engines()
