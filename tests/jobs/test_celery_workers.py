"""Scale-out mode on real services: ``hrsync worker`` processes, a Redis or RabbitMQ broker,
PostgreSQL and the simulator over HTTP.

* Two worker processes and twenty programmes due at once: every import runs exactly once, even
  with two schedulers racing and every message delivered twice.
* A worker killed (SIGKILL) in the middle of an import: the run is found by its stale heartbeat,
  failed and retried on another worker, and no member was half-applied.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from hrsync.jobs.celery_app import LARGE_SUFFIX, producer_app, queue_depth
from hrsync.jobs.dispatch import ScheduleReport, recover_stale_runs, schedule_due
from hrsync.jobs.enqueue import enqueue_run
from hrsync.store.types import utcnow
from hrsync.sync.runs import request_run

from .conftest import Install, activate, make_install

HRSYNC = str(Path(sys.executable).with_name("hrsync"))
FINISHED = {"succeeded", "succeeded_with_errors", "failed", "held", "rejected", "expired"}

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll until ``condition`` holds; the timeout only stops a hung test, it measures nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


class Worker:
    """An ``hrsync worker`` process in its own process group (so a kill takes its pool children)."""

    def __init__(self, env: dict[str, str], name: str, log_dir: Path, concurrency: int = 2,
                 queues: str = "all", pool: str = "prefork", nice: int = 0) -> None:
        self.name = name
        # A node name of its own: a worker of an earlier test (killed, or still shutting down) may
        # hold its node's exclusive remote-control queue on the broker for a while.
        self.node = f"{name}-{uuid.uuid4().hex[:8]}"
        self.log = log_dir / f"{name}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [HRSYNC, "worker", "--concurrency", str(concurrency), "--hostname", f"{self.node}@%h",
             "--queues", queues, "--pool", pool, "--nice", str(nice), "--loglevel", "INFO"],
            env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited {self.proc.returncode}:\n{self.output()[-3000:]}")
            return " ready." in self.output()

        wait_for(ready, f"worker {self.name} to be ready", timeout=60)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes: no clean-up, no acknowledgement, no goodbye."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self) -> None:
        """Ask for a warm shutdown (what systemd or Docker do)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self._out.close()


def _forget_redis_queue(url: str, queue: str) -> None:
    """Drop what kombu keeps in Redis for this test's queue, including the message of a killed
    worker (still "unacknowledged": Redis would hand it back in six hours to a queue nobody reads)."""
    import redis

    client = redis.Redis.from_url(url)
    for tag, raw in client.hgetall("unacked").items():
        try:
            _message, exchange, routing_key = json.loads(raw)
        except ValueError:
            continue
        if queue in (exchange, routing_key):
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.fixture(params=["redis", "rabbitmq"])
def scaled(request: pytest.FixtureRequest, postgres_url: str, tmp_path: Path) -> Iterator[Install]:
    """PostgreSQL + a broker, with a queue of this test's own (other tests may share the broker)."""
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
        broker = str(request.getfixturevalue("redis_url"))
    else:
        request.applymarker(pytest.mark.rabbitmq)
        broker = str(request.getfixturevalue("amqp_url"))
    queue = f"hrsync-test-{uuid.uuid4().hex[:10]}"
    for install in make_install(postgres_url, tmp_path, HRSYNC_BROKER_URL=broker, HRSYNC_CELERY_QUEUE=queue)():
        try:
            yield install
        finally:
            with producer_app().connection_for_write() as conn:  # leave the shared broker as we found it
                for name in (queue, queue + LARGE_SUFFIX):
                    conn.default_channel.queue_delete(name)
                    conn.default_channel.exchange_delete(name)
            if request.param == "redis":
                _forget_redis_queue(broker, queue)
                _forget_redis_queue(broker, queue + LARGE_SUFFIX)


@pytest.fixture
def workers(scaled: Install, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(name: str, queues: str = "all", concurrency: int = 2, pool: str = "prefork", nice: int = 0) -> Worker:
        worker = Worker(scaled.env, name, tmp_path, concurrency=concurrency, queues=queues, pool=pool, nice=nice)
        started.append(worker)
        return worker

    yield start
    for worker in started:  # all at once: each warm shutdown takes a moment
        worker.terminate()
    for worker in started:
        worker.stop()


def test_two_workers_run_twenty_due_imports_exactly_once(
    scaled: Install, workers: Callable[[str], Worker]
) -> None:
    now = utcnow()
    due = scaled.add_live(20, due_at=now - timedelta(minutes=1))
    pool = [workers("w1"), workers("w2")]
    for worker in pool:
        worker.wait_ready()

    # Two schedulers race over the same due integrations and hand runs to Celery ...
    reports: list[ScheduleReport] = []
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        barrier.wait()
        reports.append(schedule_due(scaled.factory, now, enqueue_run))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_ids = [run_id for report in reports for run_id in report.queued]
    assert len(run_ids) == 20
    # ... and every message arrives twice (a redelivery, a requeue by a recovering scheduler).
    for run_id in run_ids:
        assert enqueue_run(run_id) == "celery"

    wait_for(lambda: all(r.status in FINISHED for r in scaled.runs()), "twenty imports to finish")

    runs = scaled.runs()
    assert sorted(r.integration_id for r in runs) == sorted(due)  # one run per integration
    assert {r.status for r in runs} <= {"succeeded", "succeeded_with_errors"}, [r.reason for r in runs]
    assert {r.attempts for r in runs} == {1}  # claimed once each, duplicates found nothing to do
    sizes = set()
    for run in runs:
        members = scaled.member_count(run.programme_id)
        events = scaled.member_events(programme_id=run.programme_id)
        assert members == run.created + run.pending > 0
        assert len(events) == members and {e.run_id for e in events} == {run.id}  # each member created once
        sizes.add(members)
    assert len(sizes) == 1  # every programme got the same directory
    hosts = {(r.worker_id or "").split(":")[1].split("@")[0] for r in runs}
    assert hosts <= {w.node for w in pool} and hosts, hosts


def test_a_thread_pool_worker_runs_imports_side_by_side_in_one_process_each_exactly_once(
    scaled: Install, workers: Callable[..., Worker]
) -> None:
    """The fleet's small-import worker (docs/deploy.md, decision 0039): ``--pool threads --concurrency 6``.
    With every page of the HR system answering after half a second, twelve due imports run on several
    threads of one process at once (their running times overlap), and each is applied once."""
    now = utcnow()
    due = scaled.add_live(12, due_at=now - timedelta(minutes=1))
    scaled.sim.faults.add("slow", times=None, delay=0.5)
    worker = workers("threads", concurrency=6, pool="threads")
    worker.wait_ready()
    report = schedule_due(scaled.factory, now, enqueue_run)
    assert len(report.queued) == 12
    for run_id in report.queued:  # and every message twice: the second finds the run claimed
        assert enqueue_run(run_id) == "celery"

    wait_for(lambda: all(r.status in FINISHED for r in scaled.runs()), "twelve imports to finish")
    runs = scaled.runs()
    assert sorted(r.integration_id for r in runs) == sorted(due)
    assert {r.status for r in runs} <= {"succeeded", "succeeded_with_errors"}, [r.reason for r in runs]
    assert {r.attempts for r in runs} == {1}
    for run in runs:
        assert scaled.member_count(run.programme_id) == run.created + run.pending > 0
        assert {e.run_id for e in scaled.member_events(programme_id=run.programme_id)} == {run.id}
    # worker_id is host:pid:thread: one process, several threads
    processes = {(r.worker_id or "").split(":")[-2] for r in runs}
    threads = {(r.worker_id or "").split(":")[-1] for r in runs}
    assert len(processes) == 1 and len(threads) > 1, (processes, threads)
    spans = sorted((r.started_at, r.finished_at) for r in runs if r.started_at and r.finished_at)
    assert len(spans) == 12
    overlapping = sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])
    assert overlapping > 0, spans  # side by side, not one after another


def test_a_worker_killed_mid_import_is_recovered_without_half_applied_members(
    scaled: Install, workers: Callable[[str], Worker]
) -> None:
    [iid] = scaled.add_live()
    programme_id = scaled.programmes[-1]
    scaled.sim.faults.add("slow", delay=15, times=None)  # every people page now stalls
    pool = {name: workers(name) for name in ("w1", "w2")}
    for worker in pool.values():
        worker.wait_ready()
    with scaled.factory.begin() as session:
        run_id = request_run(session, iid, trigger="schedule").id
    enqueue_run(run_id)
    wait_for(lambda: scaled.runs(iid)[0].status == "running", "a worker to start the import")

    victim_node = (scaled.runs(iid)[0].worker_id or "").split(":")[1].split("@")[0]
    [victim_name] = [name for name, worker in pool.items() if worker.node == victim_node]
    [survivor_name] = set(pool) - {victim_name}
    pool[victim_name].kill()
    scaled.sim.faults.clear()
    assert scaled.runs(iid)[0].status == "running"  # the database still thinks it runs ...
    assert scaled.member_count(programme_id) == 0  # ... and nothing was applied

    # The scheduler's recovery notices the silence (1 s here; minutes in production).
    failed: list[int] = []

    def recovered() -> bool:
        failed.extend(recover_stale_runs(scaled.factory, utcnow(), timedelta(seconds=1), enqueue_run).failed)
        return bool(failed)

    wait_for(recovered, "the stale run to be recovered")
    assert failed == [run_id]
    wait_for(lambda: len(scaled.runs(iid)) == 2 and scaled.runs(iid)[1].status in FINISHED,
             "the retried import to finish")

    old, new = scaled.runs(iid)
    assert old.status == "failed" and "stopped responding" in (old.reason or "")
    assert new.status in ("succeeded", "succeeded_with_errors"), new.reason
    assert new.attempts == 2 and (new.worker_id or "").startswith(f"celery:{pool[survivor_name].node}@")
    assert scaled.member_events(run_id=old.id) == []
    events = scaled.member_events(programme_id=programme_id)
    assert scaled.member_count(programme_id) == new.created + new.pending == len(events) > 0
    assert {e.run_id for e in events} == {new.id}


def test_an_approval_is_sent_to_a_celery_worker_and_applied_there(
    scaled: Install, workers: Callable[[str], Worker]
) -> None:
    from hrsync.services import imports
    from hrsync.store.models import ActivityLog, ImportRun

    from .test_decisions import _held_run

    iid, run_id = _held_run(scaled)
    worker = workers("w1")
    worker.wait_ready()
    with scaled.factory() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        imports.approve(session, run)  # the request records the intent and sends hrsync.decide_run
    wait_for(lambda: scaled.runs(iid)[-1].status != "held", "the Celery worker to apply the approval")
    run = scaled.runs(iid)[-1]
    assert run.status in ("succeeded", "succeeded_with_errors") and run.leavers >= 12, run.reason
    assert "hrsync.decide_run" in worker.output()
    with scaled.factory() as session:
        actions = [a.action for a in session.query(ActivityLog).filter_by(integration_id=iid).order_by(ActivityLog.id)]
        assert actions[-2:] == ["approval_requested", "approved_run"]


def test_a_large_integrations_imports_take_their_own_queue_so_small_ones_never_wait_behind_them(
    scaled: Install, workers: Callable[..., Worker]
) -> None:
    """Issue 27: an integration whose last import read HRSYNC_LARGE_IMPORT_PEOPLE people or more (here 50;
    the simulator has 60) is large; its runs go to <queue>.large, which ``--queues small`` never takes."""
    from hrsync.sync.execute import execute_run

    scaled.env["HRSYNC_LARGE_IMPORT_PEOPLE"] = "50"
    activate(scaled.env)
    large, small = scaled.add_live(2)
    with scaled.factory.begin() as session:
        first = request_run(session, large, trigger="cli").id
    outcome = execute_run(first)  # in this process: the integration's first import, 60 people read
    assert outcome is not None and scaled.runs(large)[-1].total == 60

    sent = {}
    for iid in (large, small):
        with scaled.factory.begin() as session:
            sent[iid] = request_run(session, iid, trigger="manual").id
        assert enqueue_run(sent[iid]) == "celery"
    assert (queue_depth(which="large"), queue_depth(which="small")) == (1, 1)

    workers("smalls", queues="small").wait_ready()
    wait_for(lambda: scaled.runs(small)[-1].status in FINISHED, "the small import to finish")
    time.sleep(1.0)  # room for a wrong worker to take the large one
    assert scaled.runs(large)[-1].status == "queued" and queue_depth(which="large") == 1

    larges = workers("larges", queues="large", nice=5)  # docs/deploy.md: it gives way to the small ones
    larges.wait_ready()
    wait_for(lambda: scaled.runs(large)[-1].status in FINISHED, "the large import to finish")
    assert scaled.runs(large)[-1].status in {"succeeded", "succeeded_with_errors"}
    assert queue_depth() == 0
    parent = psutil.Process(larges.proc.pid)
    assert [p.nice() for p in [parent, *parent.children()]] == [5] * (1 + len(parent.children())) != [5]
    # It leads its session (as under systemd or in a container): where Linux groups the CPU by session, the
    # session's share is lowered too, or the niceness would count only against its own pool process.
    autogroup = Path(f"/proc/{parent.pid}/autogroup")
    if autogroup.exists():
        assert autogroup.read_text().split()[-2:] == ["nice", "5"], autogroup.read_text()


def test_a_large_import_gives_way_while_small_imports_wait_then_carries_on(
    scaled: Install, workers: Callable[..., Worker]
) -> None:
    """Issue 27: a worker started with ``--queues large`` pauses its import at a page boundary while small
    imports wait on the queue, and carries on once a small-import worker took them."""
    from hrsync.sync.execute import execute_run

    scaled.env["HRSYNC_LARGE_IMPORT_PEOPLE"] = "50"
    activate(scaled.env)
    large, small = scaled.add_live(2)
    with scaled.factory.begin() as session:
        first = request_run(session, large, trigger="cli").id
    execute_run(first)  # in this process: the first import sizes the integration (60 people)

    with scaled.factory.begin() as session:
        waiting = request_run(session, small, trigger="manual").id
    enqueue_run(waiting)  # a small import waits: no small-import worker yet
    larges = workers("larges", queues="large")
    larges.wait_ready()
    with scaled.factory.begin() as session:
        big = request_run(session, large, trigger="manual").id
    enqueue_run(big)

    wait_for(lambda: "giving way to 1 small import(s)" in larges.output(), "the large import to give way")
    time.sleep(1.5)  # it stays paused while the small one waits
    assert scaled.runs(large)[-1].status == "running" and queue_depth(which="small") == 1

    smalls_started = utcnow()  # the large import carries on only once a small-import worker took the waiting one
    workers("smalls", queues="small").wait_ready()
    wait_for(lambda: {scaled.runs(large)[-1].status, scaled.runs(small)[-1].status} <= FINISHED, "both to finish")
    small_run, large_run = scaled.runs(small)[-1], scaled.runs(large)[-1]
    assert (small_run.id, large_run.id) == (waiting, big)
    assert {small_run.status, large_run.status} <= {"succeeded", "succeeded_with_errors"} and large_run.total == 60
    assert large_run.started_at is not None and large_run.finished_at is not None
    assert large_run.started_at < smalls_started < large_run.finished_at.replace(tzinfo=smalls_started.tzinfo)
    # Once or more: between a small worker's taking the message and its claiming the run, nothing is queued,
    # due or running for a moment, and the large import may read a page before it pauses again.
    assert re.search(rf"run {big} gave way to small imports \d+ time\(s\), \d+ s in all", larges.output())
    assert (large_run.worker_id or "").startswith("celery-large:")  # others' large imports are not waited for
    assert (small_run.worker_id or "").startswith("celery:")


def test_a_large_import_gives_way_to_imports_due_that_the_scheduler_has_not_queued_yet(
    scaled: Install, workers: Callable[..., Worker]
) -> None:
    """In a rush the scheduler queues runs seconds after they fall due, and the broker's queue can look empty
    meanwhile: a large import gives way to integrations due and not yet queued too, and carries on once the
    scheduler queued their runs and a small-import worker took them (issue 27's first sitting)."""
    from hrsync.sync.execute import execute_run

    scaled.env["HRSYNC_LARGE_IMPORT_PEOPLE"] = "50"
    activate(scaled.env)
    large, = scaled.add_live(1)
    with scaled.factory.begin() as session:
        first = request_run(session, large, trigger="cli").id
    execute_run(first)  # in this process: the first import sizes the integration (60 people)
    due = scaled.add_live(2, due_at=utcnow() - timedelta(seconds=5))  # due, and no scheduler running yet
    larges = workers("larges", queues="large")
    larges.wait_ready()
    with scaled.factory.begin() as session:
        big = request_run(session, large, trigger="manual").id
    enqueue_run(big)

    wait_for(lambda: "giving way to 2 small import(s) queued, due or running" in larges.output(),
             "the large import to give way")
    time.sleep(1.5)  # the queue is empty, yet it stays paused while they are due
    assert scaled.runs(large)[-1].status == "running" and queue_depth(which="small") == 0

    scheduled = utcnow()
    assert len(schedule_due(scaled.factory, scheduled, enqueue_run).queued) == 2  # now on the queue
    workers("smalls", queues="small").wait_ready()
    wait_for(lambda: all(scaled.runs(i) and scaled.runs(i)[-1].status in FINISHED for i in [large, *due]),
             "all three to finish")
    large_run = scaled.runs(large)[-1]
    assert large_run.id == big and large_run.status in {"succeeded", "succeeded_with_errors"}
    assert all(scaled.runs(i)[-1].status in {"succeeded", "succeeded_with_errors"} for i in due)
    assert large_run.finished_at is not None and large_run.finished_at.replace(tzinfo=scheduled.tzinfo) > scheduled
    # Once or more: between a small worker's taking the message and its claiming the run, nothing is queued,
    # due or running for a moment, and the large import may read a page before it pauses again.
    assert re.search(rf"run {big} gave way to small imports \d+ time\(s\), \d+ s in all", larges.output())


def test_a_threads_worker_left_above_the_memory_limit_shuts_down_warmly_and_its_queue_goes_on(
    scaled: Install, workers: Callable[..., Worker]
) -> None:
    """A threads worker has no pool process to replace: one that an import left above
    HRSYNC_WORKER_MAX_MEMORY_MB (here 1) finishes that import, takes no other and exits 0, for its service
    manager to start a fresh one; the import it had not started is taken by the next worker, once."""
    scaled.env["HRSYNC_WORKER_MAX_MEMORY_MB"] = "1"
    activate(scaled.env)
    first, second = scaled.add_live(2)
    bounded = workers("bounded", concurrency=1, pool="threads")
    bounded.wait_ready()
    runs = {}
    for iid in (first, second):
        with scaled.factory.begin() as session:
            runs[iid] = request_run(session, iid, trigger="manual").id
        enqueue_run(runs[iid])
    assert bounded.proc.wait(timeout=120) == 0
    assert "above HRSYNC_WORKER_MAX_MEMORY_MB (1): warm shutdown" in bounded.output()
    done = [iid for iid in (first, second) if scaled.runs(iid)[-1].status in FINISHED]
    assert len(done) == 1, [scaled.runs(i)[-1].status for i in (first, second)]  # one import, then no other

    scaled.env["HRSYNC_WORKER_MAX_MEMORY_MB"] = "0"  # the fresh worker (here: without the limit)
    workers("fresh", concurrency=1, pool="threads").wait_ready()
    wait_for(lambda: all(scaled.runs(i)[-1].status in FINISHED for i in (first, second)), "the other import")
    for iid in (first, second):
        [run] = scaled.runs(iid)
        assert run.id == runs[iid] and run.status in {"succeeded", "succeeded_with_errors"}, run.reason


def test_a_pool_process_left_above_the_memory_limit_is_replaced_after_its_import(
    scaled: Install, workers: Callable[..., Worker]
) -> None:
    """HRSYNC_WORKER_MAX_MEMORY_MB (here 1: every pool process is above it) replaces the pool process once
    its import ended; the next import runs in a new process (the worker id names the pid and the thread)."""
    scaled.env["HRSYNC_WORKER_MAX_MEMORY_MB"] = "1"
    activate(scaled.env)
    [iid] = scaled.add_live()
    workers("recycled", concurrency=1).wait_ready()  # one pool process: without the limit, both runs share it
    pids = []
    for _ in range(2):
        with scaled.factory.begin() as session:
            run_id = request_run(session, iid, trigger="manual").id
        enqueue_run(run_id)
        wait_for(lambda: scaled.runs(iid)[-1].status in FINISHED, "the import to finish")
        last = scaled.runs(iid)[-1]
        assert last.status in {"succeeded", "succeeded_with_errors"}, last.reason
        pids.append((last.worker_id or "").split(":")[-2])  # celery:node@host:pid:thread
    assert pids[0] != pids[1], pids
