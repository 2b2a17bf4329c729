"""``hrsync worker`` and ``hrsync scheduler``: the processes of scale-out mode.

* ``hrsync worker`` is a Celery worker (needs ``HRSYNC_BROKER_URL``) that runs imports.
* ``hrsync scheduler`` is the due-run loop: every tick it queues due imports, recovers runs whose
  worker died, sends the outbox and once a day runs the close-down job. With a broker it hands
  runs to the workers; without one it runs them itself on threads (embedded mode, no portal).
  Several schedulers may run at once (for availability): each due import is still queued once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType

import click

from hrsync.cli.main import cli, emit, fail
from hrsync.config import get_settings


def _configure_logging(level: str) -> None:
    from hrsync.logs import configure_logging

    configure_logging(level=level)  # JSON lines on stderr, each carrying the run id it concerns


#: Where Linux shares the CPU between sessions before processes (autogroup, ``sched(7)``), this session's nice.
AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(niceness: int) -> None:
    """``nice(1)`` for this worker and the pool processes it forks after this. Where Linux groups processes by
    session (autogroup: on by default in many kernels), the kernel first shares the CPU between sessions,
    and a process's nice value only counts against the processes of its own session: a worker started
    in a session of its own (systemd, a container, ``setsid``, the fleet benchmark) would go on taking
    an equal share with every other session. So a worker that leads its session lowers the session's
    priority too (issue 27: without it the large-import worker took half a core from the small ones)."""
    os.nice(niceness)
    if not AUTOGROUP.exists():
        return
    if os.getsid(0) != os.getpid():
        click.echo(f"--nice {niceness}: this worker shares its session with other processes, so Linux's session "
                   "groups (autogroup) may still give it an equal share of the CPU; start it in a session of its "
                   "own (setsid, a systemd unit, a container) for the niceness to count (docs/deploy.md).", err=True)
        return
    try:
        AUTOGROUP.write_text(str(niceness))
    except OSError as exc:  # a kernel that refuses it: the process's own niceness still holds
        click.echo(f"--nice {niceness}: could not lower the session's priority ({exc}).", err=True)


def _on_termination(stop: threading.Event) -> None:
    """SIGTERM (systemd, Docker, Kubernetes) and Ctrl-C end the loop after the current pass."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@cli.command("worker")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Imports run at once by this worker (default: the number of CPUs).")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default="prefork",
              show_default=True, help="Celery execution pool; prefork isolates imports in child processes.")
@click.option("--hostname", "-n", default=None,
              help="Worker name, unique per machine (default: celery@<host>).")
@click.option("--queues", "which", type=click.Choice(["all", "small", "large"]), default="all", show_default=True,
              help="Which imports: all; small (never a large one, HRSYNC_LARGE_IMPORT_PEOPLE); large only.")
@click.option("--nice", "niceness", type=click.IntRange(min=0, max=19), default=0, show_default=True,
              help="Lower this worker's CPU priority (its pool processes' too), as nice(1) does, and its session's "
                   "where Linux groups the CPU by session: a large-import worker sharing cores with small-import "
                   "workers gives way to them (docs/deploy.md).")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def worker(concurrency: int | None, pool: str, hostname: str | None, which: str, niceness: int, loglevel: str) -> None:
    """Run imports handed out through HRSYNC_BROKER_URL (a Celery worker)."""
    if not get_settings().broker_url:
        fail("HRSYNC_BROKER_URL is not set: a worker needs a Redis or RabbitMQ broker (see docs/deploy.md).")
    if niceness:
        lower_priority(niceness)
    from hrsync.jobs.celery_app import make_app, worker_queues
    from hrsync.jobs.give_way import takes_large_imports_only
    from hrsync.store.db import size_pool_for_threads

    takes_large_imports_only(which == "large")  # its imports give way to waiting small ones (give_way)

    if pool == "threads":  # one process, many imports: a database connection pool to match
        size_pool_for_threads(concurrency or os.cpu_count() or 1)
    if pool != "prefork":  # no pool process to replace: the worker itself restarts (hrsync.jobs.memory_limit)
        from hrsync.jobs.memory_limit import bound_this_worker

        bound_this_worker(get_settings().worker_max_memory_mb)
    app = make_app()
    argv = ["worker", f"--loglevel={loglevel}", f"--pool={pool}", "-Q", ",".join(worker_queues(which)),
            "--without-gossip", "--without-mingle"]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


@cli.command("scheduler")
@click.option("--tick", type=click.FloatRange(min=0.05), default=30.0, show_default=True,
              help="Seconds between passes.")
@click.option("--stale-after", type=click.FloatRange(min=1), default=600.0, show_default=True,
              help="Seconds without a heartbeat after which a running import counts as dead.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Without a broker only: import threads in this process.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the pass as one JSON document.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
def scheduler(
    tick: float, stale_after: float, workers: int, once: bool, as_json: bool, loglevel: str
) -> None:
    """Queue due imports, recover dead runs, send e-mail, run the daily close-down."""
    from hrsync.jobs.dispatch import requeue_queued_runs
    from hrsync.jobs.embedded import EmbeddedScheduler
    from hrsync.jobs.loop import PeriodicLoop
    from hrsync.store.db import session_factory, size_pool_for_threads

    _configure_logging(loglevel)
    if not get_settings().broker_url:  # embedded: the import threads and the loop's own (PostgreSQL)
        size_pool_for_threads(workers + 1)
    factory = session_factory()
    stale = timedelta(seconds=stale_after)
    if get_settings().broker_url:
        from hrsync.jobs.celery_app import queue_depth, send_decision, send_run
        from hrsync.jobs.decisions import requeue_pending_decisions

        def requeue_lost(now: datetime) -> list[int]:
            # Only when the broker's queue is empty can a queued run's message have been lost.
            if queue_depth() > 0:
                return []
            grace = max(stale, timedelta(minutes=1))
            runs = requeue_queued_runs(factory, send_run, created_before=now - grace)
            return runs + requeue_pending_decisions(factory, send_decision, requested_before=now - grace)

        loop = PeriodicLoop(factory, send_run, tick=tick, stale_after=stale, requeue=requeue_lost)
        if once:
            report = loop.run_once()
            emit(report.to_dict(), as_json, human=f"pass done: {report.to_dict()}")
            return
        stop = threading.Event()
        _on_termination(stop)
        def stop_loop() -> None:
            stop.wait()
            loop.stop()

        threading.Thread(target=stop_loop, daemon=True).start()
        logging.getLogger(__name__).info("scheduler started (broker mode, tick %ss)", tick)
        loop.run_forever()
        return

    embedded = EmbeddedScheduler(factory, tick=tick, workers=workers, stale_after=stale)
    if once:
        embedded.start(loop=False)
        report = embedded.run_pass()
        embedded.stop(drain=True)  # the imports this pass queued run to their end first
        emit(report.to_dict(), as_json, human=f"pass done: {report.to_dict()}")
        return
    stop = threading.Event()
    _on_termination(stop)
    embedded.start()
    logging.getLogger(__name__).info("scheduler started (embedded mode, %d worker thread(s))", workers)
    stop.wait()
    embedded.stop(wait=True)
