"""The fleet benchmark: thousands of programmes on one deployment, due in the same minute (issue 27).

    .venv/bin/python -m bench.fleet [--programmes 2000] [--people 300] [--large 100000]
                                    [--modes scale-out,embedded] [--quick] [--json out.json] [--plot bench/fleet.png]

One :class:`~bench.fleet_sim.FleetSimulator` in this process serves every tenant: N small ones of
``--people`` people each (a quarter of them slow or throttling), one of ``--large`` people and one
with an empty directory. Each programme lives in one of four time zones with a daily schedule at the
local time of the same instant; the benchmark then sets every due time to fall in one minute (80 %,
spread over its 60 seconds) or the four after it (20 %), the worst case a fleet meets.

Modes, each on a fresh store:

* ``scale-out``: PostgreSQL on 127.0.0.1 (user postgres), Redis on 127.0.0.1, ``hrsync scheduler --tick 1``,
  two ``hrsync worker --queues small --pool threads --concurrency 8`` and one ``hrsync worker --queues
  large --concurrency 1 --nice 10``, the fleet layout of docs/deploy.md (``--worker-processes``, ``--slots``,
  ``--pool``, ``--no-large-worker`` change it);
* ``embedded``: a SQLite file and ``hrsync scheduler --tick 1 --workers 8`` (no broker: eight import threads).

Embedded mode imports 1,000 small programmes by default (``--embedded-programmes``): in one process on
SQLite it imports about 220 a minute, and 2,000 would take the benchmark past 15 minutes on two cores.
The large programme is previewed during set-up, as the portal's wizard does, so its first import
already takes the large-import queue. Sittings: *first* (every programme's first import, everyone
created, no welcome e-mail), *small only* (unchanged imports, the large programme not due) and *with
large* (the same, the large programme due first); embedded mode, the comparison, runs the first only by
default (the whole benchmark then fits in 15 minutes on two cores; `--embedded-sittings first,small`).
Reported per sitting: runs completed, missed and doubled; start lag after the due time (p50, p95, max)
of the small programmes, and how much of it was the wait to be queued by the scheduler; throughput; the
recorded duration of the empty directory's run; CPU per run of each process (the simulator's and, on
PostgreSQL, the database's too); on PostgreSQL the checkpoints and autovacuum runs that fell in the sitting
and database connections at peak; peak RSS of each hrsync process. On PostgreSQL each sitting after the first
starts on a vacuumed and analysed database, as autovacuum keeps a deployment's, and each starts after a
``CHECKPOINT``, so that none meets a checkpoint the one before it left due (``Sampler.checkpoint``).
``--sittings first,small,large,small`` adds a second "small only" sitting, to see the drift between sittings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.fleet_sim import FleetSimulator
from bench.run_bench import POSTGRES_SERVER, _stores

HRSYNC = str(Path(sys.executable).with_name("hrsync"))
KEY = "fleet-key-0000"
ZONES = ("Europe/London", "Europe/Berlin", "Asia/Dubai", "Australia/Sydney")
SMALL_DIRECTORIES = 8  # distinct small directories the small tenants share
DEFAULT_PLOT = Path(__file__).with_name("fleet.png")
REDIS = "redis://127.0.0.1:6379/0"
SITTINGS = {"first": "first", "small": "small only", "large": "with large"}


@dataclass
class Fleet:
    small: dict[int, str] = field(default_factory=dict)  # integration id -> behaviour
    large: int = 0
    empty: int = 0


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _build_simulator(programmes: int, people: int, large: int) -> tuple[FleetSimulator, list[tuple[str, str]]]:
    sim = FleetSimulator(KEY)
    shared = [sim.directory(people, seed) for seed in range(1, SMALL_DIRECTORIES + 1)]
    tenants: list[tuple[str, str]] = []
    for i in range(programmes):
        behaviour = {1: "slow", 2: "throttled"}.get(i % 8, "normal")  # a quarter misbehave
        tenant = f"fleet{i:05d}"
        sim.add_tenant(tenant, shared[i % SMALL_DIRECTORIES], behaviour)
        tenants.append((tenant, behaviour))
    sim.add_tenant("fleetlarge", sim.directory(large, 4242))
    sim.add_tenant("fleetempty", sim.directory(0, 4343))
    return sim, tenants


def _env(base: dict[str, str], database_url: str, sim: FleetSimulator, data_dir: Path, broker: bool,
         large: int = 0) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in base.items() if not k.startswith("HRSYNC_")}
    env.update(HRSYNC_DATA_DIR=str(data_dir), HRSYNC_DATABASE_URL=database_url,
               HRSYNC_INTELLIHR_BASE_URL=sim.base_url, HRSYNC_IMPORT_TIME_BUDGET="300",
               HRSYNC_SECRET_KEY=Fernet.generate_key().decode(), HRSYNC_BASE_URL="http://127.0.0.1:8000",
               HRSYNC_WEBHOOKS="off")
    if broker:
        env.update(HRSYNC_BROKER_URL=REDIS, HRSYNC_CELERY_QUEUE=f"fleet-{uuid.uuid4().hex[:8]}")
    if large:  # the large programme is large by the routing rule (a smaller one with --quick or --large)
        env["HRSYNC_LARGE_IMPORT_PEOPLE"] = str(min(20_000, max(1, large // 2)))
    return env


def _setup(tenants: list[tuple[str, str]], at: datetime) -> Fleet:
    """Programmes and live integrations. The first integration is created, checked and published through
    the services, as the portal would; the others are copies of it with their own programme, owner and
    tenant (checking 2,000 of them would ask the simulator the same questions 2,000 times)."""
    from hrsync.services import integrations as svc
    from hrsync.services.programmes import create_programme
    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    fleet = Fleet()
    named = [(t, b, ZONES[i % len(ZONES)]) for i, (t, b) in enumerate(tenants)]
    named += [("fleetlarge", "large", ZONES[0]), ("fleetempty", "empty", ZONES[1])]
    skip = {"id", "programme_id", "owner_id", "settings", "schedule_time", "next_run_at", "created_at", "updated_at"}
    columns = [c.key for c in Integration.__table__.columns if c.key not in skip]
    template: dict[str, Any] = {}
    for start in range(0, len(named), 200):
        with session_scope() as session:
            for tenant, behaviour, zone in named[start:start + 200]:
                local = at.astimezone(ZoneInfo(zone))
                programme, owner = create_programme(session, f"Programme {tenant}",
                                                    admin_email=f"owner@{tenant}.example.com", timezone=zone)
                schedule_time = f"{local.hour:02d}:{local.minute:02d}"
                if not template:
                    integration = svc.create_integration(
                        session, programme, owner, subdomain=tenant, api_key=KEY, frequency="daily",
                        schedule_time=schedule_time, welcome_email=False)
                    svc.publish(session, integration, owner)
                    template = {c: getattr(integration, c) for c in columns}
                    template["settings"] = dict(integration.settings or {})
                else:
                    integration = Integration(
                        **{c: template[c] for c in columns}, programme_id=programme.id, owner_id=owner.id,
                        settings={**template["settings"], "subdomain": tenant}, schedule_time=schedule_time)
                    session.add(integration)
                    session.flush()
                if behaviour == "large":
                    fleet.large = integration.id
                elif behaviour == "empty":
                    fleet.empty = integration.id
                else:
                    fleet.small[integration.id] = behaviour
    _preview(fleet.large)
    return fleet


def _empty_run_cost(integration_id: int, times: int = 15) -> dict[str, float]:
    """The fixed cost of a run, alone: the empty directory's import, ``times`` over in this process before
    the sittings (claim, read of an empty list, plan, finish, summary e-mail queued). Median wall ms, and
    median CPU ms of this process (the simulator's answer to one empty page included)."""
    import statistics

    from hrsync.store.db import session_scope
    from hrsync.sync.execute import execute_run
    from hrsync.sync.runs import request_run

    walls, cpus = [], []
    for _ in range(times):
        with session_scope() as session:
            run_id = request_run(session, integration_id, trigger="cli").id
        wall, cpu = time.perf_counter(), time.process_time()
        execute_run(run_id)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {"wall_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}


def _preview(integration_id: int) -> None:
    """The set-up wizard's preview of the large programme (a dry run of its whole directory, in this
    process), as an administrator's review step makes it: it sizes the integration, so its first import
    already travels on the large-import queue (``hrsync.jobs.routing``)."""
    from hrsync.store.db import session_scope
    from hrsync.sync.execute import execute_run
    from hrsync.sync.runs import request_run

    with session_scope() as session:
        run_id = request_run(session, integration_id, trigger="preview", dry_run=True).id
    outcome = execute_run(run_id)
    assert outcome is not None and outcome.status in ("succeeded", "succeeded_with_errors"), outcome


def _due_times(fleet: Fleet, t0: datetime, with_large: bool, window: int) -> dict[int, datetime]:
    """80 % of the small programmes due within ``window`` seconds of ``t0`` (a minute), 20 % in the next."""
    due: dict[int, datetime] = {}
    for n, integration_id in enumerate(sorted(fleet.small)):
        offset = (n * 7919) % window if n % 5 else window + (n * 104729) % window
        due[integration_id] = t0 + timedelta(seconds=offset)
    due[fleet.empty] = t0 + timedelta(seconds=window // 2)
    if with_large:
        due[fleet.large] = t0 - timedelta(seconds=1)  # first in line: it takes a slot before the rush
    return due


def _set_due(due: dict[int, datetime], fleet: Fleet) -> None:
    from sqlalchemy import update

    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    with session_scope() as session:
        if fleet.large not in due:
            session.execute(update(Integration).where(Integration.id == fleet.large).values(next_run_at=None))
        session.execute(update(Integration), [{"id": i, "next_run_at": at} for i, at in due.items()])


def _runs_since(since: datetime) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from hrsync.store.db import session_scope
    from hrsync.store.models import ImportRun

    with session_scope() as session:
        rows = session.execute(
            select(ImportRun.integration_id, ImportRun.status, ImportRun.created_at, ImportRun.started_at,
                   ImportRun.finished_at,
                   ImportRun.total, ImportRun.created, ImportRun.unchanged)
            .where(ImportRun.created_at >= since, ImportRun.trigger == "schedule")).all()
    return [dict(r._mapping) for r in rows]


class Sampler(threading.Thread):
    """Every half second: resident memory of each hrsync process; on PostgreSQL, database connections and
    which tables autovacuum is working on (the database's own work, which competes for the same two cores)."""

    def __init__(self, pids: dict[str, int], database: str | None, supervise: Any = None) -> None:
        super().__init__(daemon=True)
        self.pids, self.database = pids, database
        self.supervise = supervise  # called every half second: restarts a process that exited (Restart=always)
        self.peak_rss: dict[str, float] = {}
        self.peak_connections = 0
        self.autovacuum: list[tuple[datetime, str]] = []  # (when seen, what an autovacuum worker was doing)
        self.halt = threading.Event()

    def _server(self, sql: str) -> Any:
        """One statement on the PostgreSQL server, on a connection of its own; its first row, if it has rows
        (``None`` without PostgreSQL)."""
        if not self.database:
            return None
        import psycopg

        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchone() if cursor.description else None

    def checkpoint(self, analyse: bool) -> None:
        """Before a sitting (PostgreSQL): with ``analyse``, vacuum and analyse the fleet's database, as
        autovacuum keeps a deployment's (this machine's server runs with it off); then write every dirty
        page, so that the sitting does not meet a checkpoint the one before it left due (in five runs each
        "with large" sitting met one, the others none; issue 27).

        Not analysed before the first sitting, whose tables are still empty: statistics that say a table
        is empty make PostgreSQL plan a sequential scan of it, and a plan a connection caches then (the
        member foreign-key check of every event row) keeps scanning the table as the sitting fills it.
        Analysed before each sitting after it, the sittings stop drifting: without it each was slower
        than the one before (run 6 of 2026-12-07: "small only" 15.3 s before "with large", 19.4 s after)."""
        if not self.database:
            return
        if analyse:
            import psycopg

            with psycopg.connect(f"{POSTGRES_SERVER}/{self.database}", autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")
        self._server("CHECKPOINT")

    def checkpoints(self) -> int:
        """Checkpoints the server has run so far (timed and requested), or 0 without PostgreSQL."""
        row = self._server("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
        return int(row[0]) if row else 0

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) so far of each hrsync process (its pool processes included) and of
        this one, which serves every tenant's HR system (the simulator)."""
        import psutil

        totals: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                parent = psutil.Process(pid)
                times = parent.cpu_times()  # its own, and its pool processes' that ended (replaced ones)
                totals[name] = times.user + times.system + times.children_user + times.children_system + sum(
                    c.cpu_times().user + c.cpu_times().system for c in parent.children(recursive=True))
            except psutil.Error:
                continue
        me = psutil.Process().cpu_times()
        totals["simulator (benchmark)"] = me.user + me.system
        if self.database:  # the postmaster reaps its backends: their CPU lands in its children's times
            for proc in psutil.process_iter(["name"]):
                try:
                    if proc.info["name"] == "postgres" and proc.parent() is not None \
                            and proc.parent().name() != "postgres":
                        times = proc.cpu_times()
                        totals["postgres (every backend)"] = (
                            times.user + times.system + times.children_user + times.children_system
                            + sum(c.cpu_times().user + c.cpu_times().system for c in proc.children()))
                except psutil.Error:
                    continue
        return totals

    def run(self) -> None:
        import psutil

        conn = None
        if self.database:
            import psycopg

            conn = psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True)
        while not self.halt.wait(0.5):
            if self.supervise is not None:
                self.supervise()
            for name, pid in self.pids.items():
                try:
                    parent = psutil.Process(pid)
                    procs = [(name, parent)] + [(f"{name} child {i + 1}", c)
                                                for i, c in enumerate(sorted(parent.children(), key=lambda p: p.pid))]
                    for label, proc in procs:
                        mb = proc.memory_info().rss / 2**20
                        self.peak_rss[label] = max(self.peak_rss.get(label, 0.0), mb)
                except psutil.Error:
                    continue
            if conn is not None:
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                     (self.database,)).fetchone()
                self.peak_connections = max(self.peak_connections, int(count[0]) if count else 0)
                now = datetime.now(UTC)
                self.autovacuum += [(now, str(q)) for (q,) in conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND datname = %s",
                    (self.database,)).fetchall()]
        if conn is not None:
            conn.close()


def _sitting(name: str, fleet: Fleet, with_large: bool, lead: float, timeout: float, window: int,
             sampler: Sampler, log: Path, analyse: bool) -> dict[str, Any]:
    sampler.checkpoint(analyse)
    logged = log.stat().st_size if log.exists() else 0
    cpu_before, checkpoints_before = sampler.cpu_seconds(), sampler.checkpoints()
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)
    due = _due_times(fleet, t0, with_large, window)
    since = datetime.now(UTC)
    _set_due(due, fleet)
    deadline = time.monotonic() + timeout
    terminal = {"succeeded", "succeeded_with_errors", "failed", "held", "rejected", "expired"}
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        time.sleep(1.0)
        runs = _runs_since(since)
        if len({r["integration_id"] for r in runs if r["status"] in terminal}) >= len(due):
            break
    cpu = {k: v - cpu_before.get(k, 0.0) for k, v in sampler.cpu_seconds().items()}
    summary = _summarise(name, runs, due, fleet, t0)
    summary["cpu_ms_per_run"] = {k: round(v * 1000 / max(1, len(runs)), 1) for k, v in cpu.items()}
    summary["checkpoints"] = sampler.checkpoints() - checkpoints_before
    summary["autovacuum"] = _spans([(at, what) for at, what in sampler.autovacuum if at >= since], t0)
    summary["large_gave_way_s"] = _gave_way(log, logged)
    return summary


def _gave_way(log: Path, offset: int) -> float | None:
    """Seconds the large import paused for small ones in this sitting, as the large worker logged them
    (``hrsync.jobs.tasks``); None where it did not log (embedded mode, or no large worker)."""
    import re

    if not log.exists():
        return None
    with log.open("rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    paused = [float(s) for s in re.findall(r"gave way to small imports \d+ time\(s\), (\d+) s in all", text)]
    return sum(paused) if paused else None


def _spans(seen: list[tuple[datetime, str]], t0: datetime) -> list[dict[str, Any]]:
    """Autovacuum's work as spans (seconds after ``t0``): one per table and stretch of half-second samples."""
    spans: list[dict[str, Any]] = []
    open_: dict[str, dict[str, Any]] = {}
    for at, what in sorted(seen):
        second = round((at - t0).total_seconds(), 1)
        span = open_.get(what)
        if span is not None and second - span["end"] <= 1.5:
            span["end"] = second
            continue
        span = open_[what] = {"what": what.removeprefix("autovacuum: "), "start": second, "end": second}
        spans.append(span)
    return spans


def _seconds(value: datetime | None, origin: datetime) -> float | None:
    if value is None:
        return None
    return (value.replace(tzinfo=value.tzinfo or UTC) - origin).total_seconds()


def _summarise(name: str, runs: list[dict[str, Any]], due: dict[int, datetime], fleet: Fleet,
               t0: datetime) -> dict[str, Any]:
    per: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        per.setdefault(run["integration_id"], []).append(run)
    done = {"succeeded", "succeeded_with_errors"}
    completed = [i for i in due if any(r["status"] in done for r in per.get(i, []))]
    lags, points, queued = [], [], []
    for integration_id, runs_of in per.items():
        if integration_id not in fleet.small:
            continue
        for run in runs_of:
            lag = _seconds(run["started_at"], due[integration_id])
            if lag is not None:
                lags.append(lag)
                points.append((_seconds(due[integration_id], t0), lag, fleet.small[integration_id]))
                queued.append(_seconds(run["created_at"], due[integration_id]) or 0.0)
    large = per.get(fleet.large, [])
    large_window = ((_seconds(large[0]["started_at"], t0), _seconds(large[0]["finished_at"], t0))
                    if large and large[0]["started_at"] and large[0]["finished_at"] else None)
    empty = [r for r in per.get(fleet.empty, []) if r["started_at"] and r["finished_at"]]
    starts = [r["started_at"] for r in runs if r["started_at"]]
    ends = [r["finished_at"] for r in runs if r["finished_at"]]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    by_kind = {kind: [lag for _, lag, k in points if k == kind] for kind in ("normal", "slow", "throttled")}
    # How long a small import held its slot (start to finish): with 16 slots, 1,600 imports a minute need it
    # under 0.6 s on average, so a slower import is a slower fleet even when the cores have room.
    held = [(r["finished_at"] - r["started_at"]).total_seconds() for i, rs in per.items() if i in fleet.small
            for r in rs if r["started_at"] and r["finished_at"]]
    # Small runs that started while the large import ran, against the others of the same sitting.
    during: list[float] = []
    if large and large[0]["started_at"] and large[0]["finished_at"]:
        window = (large[0]["started_at"], large[0]["finished_at"])
        during = [_seconds(r["started_at"], due[i]) or 0.0 for i, rs in per.items() if i in fleet.small
                  for r in rs if r["started_at"] and window[0] <= r["started_at"] <= window[1]]
    return {
        "sitting": name,
        "due": len(due),
        "completed": len(completed),
        "failed": sum(1 for r in runs if r["status"] == "failed"),
        "missed": [i for i in due if i not in per],
        "twice": [i for i, r in per.items() if len(r) > 1],
        "lag_p50": _percentile(lags, 50), "lag_p95": _percentile(lags, 95), "lag_max": max(lags) if lags else None,
        # Of the lag, how long the scheduler took to queue the run (the rest is the wait for a worker's slot).
        "queued_p50": _percentile(queued, 50), "queued_p95": _percentile(queued, 95),
        "lag_p95_by_behaviour": {k: _percentile(v, 95) for k, v in by_kind.items()},
        "run_s_mean": sum(held) / len(held) if held else None, "run_s_p95": _percentile(held, 95),
        "lag_p95_while_large_ran": _percentile(during, 95), "started_while_large_ran": len(during),
        "span_s": span,
        "runs_per_minute": (len(runs) / span * 60) if span else None,
        "large_seconds": ((large[0]["finished_at"] - large[0]["started_at"]).total_seconds()
                          if large and large[0]["finished_at"] and large[0]["started_at"] else None),
        "empty_run_ms": ((empty[0]["finished_at"] - empty[0]["started_at"]).total_seconds() * 1000
                         if empty else None),
        "large_window": large_window,
        "points": points,
    }


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([HRSYNC, *args], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_mode(mode: str, args: argparse.Namespace, workdir: Path, fresh_store: Any) -> dict[str, Any]:
    programmes = args.programmes if mode == "scale-out" else (args.embedded_programmes or args.programmes)
    sim, tenants = _build_simulator(programmes, args.people, args.large)
    database_url = fresh_store(f"fleet_{mode.replace('-', '_')}") if mode == "scale-out" \
        else f"sqlite:///{workdir / 'fleet.db'}"
    with sim:
        env = _env(dict(os.environ), database_url, sim, workdir / mode, broker=mode == "scale-out", large=args.large)
        subprocess.run([HRSYNC, "db", "upgrade"], env=env, check=True, capture_output=True)
        os.environ.update(env)
        from hrsync.config import get_settings
        from hrsync.store.db import dispose_engines

        get_settings.cache_clear()
        dispose_engines()
        started = time.perf_counter()
        fleet = _setup(tenants, datetime.now(UTC) + timedelta(hours=1))
        setup_s = time.perf_counter() - started
        empty_alone = _empty_run_cost(fleet.empty)
        sim.misbehave()
        log = workdir / f"{mode}.log"
        if mode == "scale-out":
            # docs/deploy.md, "A fleet of programmes": small imports on --worker-processes workers of --slots
            # slots each, large ones on one more worker (prefork, one slot: its pool process is replaced after
            # an import that left it above HRSYNC_WORKER_MAX_MEMORY_MB)
            queues = "small" if args.large_worker else "all"
            procs = {f"worker {n + 1}": _start(["worker", "--concurrency", str(args.slots), "--pool", args.pool,
                                                "--queues", queues, "--hostname", f"fleet{n}@%h",
                                                "--loglevel", "WARNING"], env, log)
                     for n in range(args.worker_processes)}
            if args.large_worker:
                procs["large worker"] = _start(["worker", "--concurrency", "1", "--queues", "large", "--nice",
                                                str(args.large_nice), "--hostname", "fleetlarge@%h",
                                                "--loglevel", "INFO"], env, log)  # INFO: how long it gave way
            procs["scheduler"] = _start(["scheduler", "--tick", "1", "--loglevel", "WARNING"], env, log)
        else:
            procs = {"scheduler": _start(["scheduler", "--tick", "1", "--workers", str(args.slots),
                                          "--loglevel", "WARNING"], env, log)}
        database = database_url.rsplit("/", 1)[1] if mode == "scale-out" else None
        restarts: dict[str, int] = {}

        def supervise() -> None:
            """As systemd's ``Restart=always`` (docs/deploy.md): a threads worker that an import left above
            HRSYNC_WORKER_MAX_MEMORY_MB exits 0 after a warm shutdown, and a fresh one takes its place."""
            for name, proc in list(procs.items()):
                if proc.poll() == 0 and not sampler.halt.is_set():
                    procs[name] = _start([str(a) for a in proc.args][1:], env, log)  # type: ignore[union-attr]
                    sampler.pids[name] = procs[name].pid
                    restarts[name] = restarts.get(name, 0) + 1

        sampler = Sampler({k: p.pid for k, p in procs.items()}, database, supervise)
        sampler.start()
        time.sleep(args.lead)  # the processes start
        sittings = []
        try:
            for name in (args.sittings if mode == "scale-out" else args.embedded_sittings).split(","):
                sittings.append(_sitting(SITTINGS[name], fleet, name != "small", lead=5.0, timeout=args.timeout,
                                         window=args.window, sampler=sampler, log=log, analyse=bool(sittings)))
                print(json.dumps({k: v for k, v in sittings[-1].items() if k != "points"}), file=sys.stderr)
        finally:
            sampler.halt.set()
            sampler.join()
            for proc in procs.values():
                _stop(proc)
            dispose_engines()
    return {"mode": mode, "programmes": programmes, "setup_s": setup_s, "sittings": sittings,
            "empty_run_alone": empty_alone,
            "peak_rss_mb": sampler.peak_rss,
            "peak_connections": sampler.peak_connections if database else None,
            "restarts": restarts,
            "throttled_answers": sim.throttled_answers}


def to_markdown(report: dict[str, Any]) -> str:
    extra = (" (`--queues small`) plus one prefork worker of one slot for large imports (`--queues large "
             f"--nice {report.get('large_nice', 0)}`)") if report.get("large_worker") else ""
    layout = (f"scale-out: {report.get('worker_processes', 1)} worker processes of {report['slots']} slots "
              f"(`--pool {report.get('pool', 'prefork')}`){extra}; embedded: {report['slots']} import threads")
    lines = [f"{report['programmes']} small programmes of {report['people']} people (a quarter slow or "
             f"throttling), one of {report['large']:,}, one empty; {layout}.", "",
             "| mode | sitting | due | completed | missed | twice | lag p50 s | p95 s | max s "
             "| p95 s while the large one ran (runs) | runs/min | large s | empty run ms |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def f(x: float | None, d: int = 1) -> str:
        return "" if x is None else f"{x:.{d}f}"

    for mode in report["modes"]:
        for s in mode["sittings"]:
            name = f"{mode['mode']} ({mode.get('programmes', report['programmes'])})"
            lines.append(f"| {name} | {s['sitting']} | {s['due']} | {s['completed']} | {len(s['missed'])} "
                         f"| {len(s['twice'])} | {f(s['lag_p50'])} | {f(s['lag_p95'])} | {f(s['lag_max'])} "
                         f"| {f(s.get('lag_p95_while_large_ran'))} ({s.get('started_while_large_ran', 0)}) "
                         f"| {f(s['runs_per_minute'], 0)} | {f(s['large_seconds'])} | {f(s['empty_run_ms'], 0)} |")
    lines.append("")
    for mode in report["modes"]:
        for s in mode["sittings"]:
            cpu = ", ".join(f"{k} {v:.0f}" for k, v in s.get("cpu_ms_per_run", {}).items())
            lines.append(f"- {mode['mode']}, {s['sitting']}: CPU ms per run: {cpu}")
            if s.get("run_s_mean") is not None:
                lines.append(f"  - a small import's time in its slot (start to finish): mean {s['run_s_mean']:.2f} s, "
                             f"p95 {s['run_s_p95']:.2f} s")
            if s.get("queued_p95") is not None:
                lines.append(f"  - of the lag, queued by the scheduler after the due time: p50 {s['queued_p50']:.1f} "
                             f"s, p95 {s['queued_p95']:.1f} s (the rest: waiting for a worker's slot)")
            if s.get("large_gave_way_s") is not None:
                lines.append(f"  - the large import gave way to small ones for {s['large_gave_way_s']:.0f} s in all")
            if mode["mode"] == "scale-out":
                vacuums = "; ".join(f"{v['what']} {v['start']:.0f}–{v['end']:.0f} s"
                                    for v in s.get("autovacuum", [])) or "none"
                lines.append(f"  - checkpoints: {s.get('checkpoints', 0)}; autovacuum (s after the minute): {vacuums}")
    for mode in report["modes"]:
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(mode["peak_rss_mb"].items()))
        alone = mode.get("empty_run_alone") or {}
        fixed = (f"; an empty directory's run alone (median of 15): {alone['wall_ms']:.0f} ms, "
                 f"{alone['cpu_ms']:.0f} ms CPU") if alone else ""
        restarted = ", ".join(f"{k} {v}" for k, v in sorted(mode.get("restarts", {}).items()))
        lines.append(f"- {mode['mode']}: peak RSS MB: {rss}; DB connections at peak: {mode['peak_connections']}; "
                     f"setup {mode['setup_s']:.0f} s{fixed}; restarted above the memory limit: {restarted or 'none'}")
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = report["modes"]
    columns = max(len(m["sittings"]) for m in modes)
    fig, axes = plt.subplots(len(modes), columns, figsize=(4.4 * columns, 3.6 * len(modes)), squeeze=False,
                             sharey="row")
    colours = {"normal": "tab:blue", "slow": "tab:orange", "throttled": "tab:red"}
    for row, mode in zip(axes, modes, strict=True):
        for ax in row[len(mode["sittings"]):]:
            ax.set_visible(False)
        for ax, s in zip(row, mode["sittings"], strict=False):
            for kind, colour in colours.items():
                pts = [(due, lag) for due, lag, k in s["points"] if k == kind]
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=4, c=colour, label=kind)
            if s.get("large_window"):
                ax.axvspan(*s["large_window"], color="tab:green", alpha=0.12, label="large import (wall time)")
            for i, v in enumerate(s.get("autovacuum", [])):
                ax.axvspan(v["start"], v["end"] + 0.5, color="tab:purple", alpha=0.15,
                           label="autovacuum (wall time)" if i == 0 else None)
            ax.set_title(f"{mode['mode']} ({mode.get('programmes', report['programmes'])}): {s['sitting']}",
                         fontsize=10)
            ax.set_xlabel("due, s after the sitting's minute")
            ax.grid(alpha=0.3)
        row[0].set_ylabel("start lag, s")
        for ax in row[:len(mode["sittings"])]:
            ax.legend(fontsize=7, markerscale=3)
    fig.suptitle("Start lag of small programmes due in one minute (80 %) and the next (20 %)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programmes", type=int, default=2000)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--slots", type=int, default=8,
                        help="import slots: of each small-import worker (scale-out), or threads (embedded)")
    parser.add_argument("--pool", default="threads", choices=["prefork", "threads"],
                        help="scale-out: the small-import workers' Celery pool")
    parser.add_argument("--worker-processes", type=int, default=2,
                        help="scale-out: small-import hrsync worker processes, each with --slots slots")
    parser.add_argument("--modes", default="scale-out,embedded")
    parser.add_argument("--quick", action="store_true",
                        help="60 programmes of 100 due within 10 s, a large one of 5,000, scale-out only")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one sitting may take")
    parser.add_argument("--lead", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=60, help="seconds in which 80 %% fall due (the rest: the next)")
    parser.add_argument("--sittings", default="first,small,large", help="scale-out's, of: first, small, large")
    parser.add_argument("--embedded-sittings", default="first",
                        help="embedded mode's (fewer by default: the whole benchmark within 15 minutes)")
    parser.add_argument("--embedded-programmes", type=int, default=1000,
                        help="small programmes in embedded mode, the comparison (0: --programmes); SQLite in one "
                             "process imports about 220 a minute, so 2,000 would take it past 15 minutes alone")
    parser.add_argument("--large-worker", action=argparse.BooleanOptionalAction, default=True,
                        help="scale-out: the small workers take --queues small, one more (prefork, one slot) "
                             "--queues large; --no-large-worker: every worker takes every queue")
    parser.add_argument("--large-nice", type=int, default=10,
                        help="scale-out: the large-import worker's --nice (0: the same CPU priority as the others)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--log", type=Path, help="keep the started processes' log (of the last mode) here")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--from-json", help="no run: merge these comma-separated --json reports, print and plot")
    args = parser.parse_args()
    if args.from_json:
        reports = [json.loads(Path(name).read_text()) for name in args.from_json.split(",")]
        merged = {**reports[0], "modes": [m for r in reports for m in r["modes"]]}
        print(to_markdown(merged))
        plot(merged, args.plot)
        return
    if args.quick:
        args.programmes, args.people, args.large, args.window, args.modes = 60, 100, 5_000, 10, "scale-out"
    if args.embedded_programmes and args.embedded_programmes > args.programmes:
        args.embedded_programmes = args.programmes
    report: dict[str, Any] = {"programmes": args.programmes, "people": args.people, "large": args.large,
                              "slots": args.slots, "large_worker": args.large_worker, "pool": args.pool,
                              "worker_processes": args.worker_processes, "large_nice": args.large_nice,
                              "modes": [],
                              "started": datetime.now(UTC).isoformat()}
    base_env = dict(os.environ)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the started processes on the way out
    with tempfile.TemporaryDirectory(prefix="hrsync-fleet-") as tmp, _stores("postgresql", Path(tmp)) as fresh:
        for mode in args.modes.split(","):
            os.environ.clear()
            os.environ.update(base_env)
            report["modes"].append(run_mode(mode, args, Path(tmp), fresh))
            if args.log and (Path(tmp) / f"{mode}.log").exists():
                shutil.copyfile(Path(tmp) / f"{mode}.log", args.log)
    print(to_markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, default=str, indent=1))
    if args.plot:
        plot(report, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
