"""Imports SIGKILLed at random (seeded) moments leave everything consistent; see ``kill_harness``.

The short version runs with every ``make test`` (and in CI): a few kills on SQLite and PostgreSQL
and one Celery worker killed mid-import, on a smaller directory. ``make soak`` runs the long version
(``KILL_SOAK=1``): 20,000 people, 50 kills per database and a few worker kills; ``SOAK_SEED``,
``SOAK_KILLS``, ``SOAK_WORKER_KILLS`` and ``SOAK_PEOPLE`` change it. Each kill prints one line
(seed, phase at kill, outcome) and each test a final tally, also kept under ``artifacts/kills/``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.sync.kill_harness import (
    API_KEY,
    TENANT,
    CliDriver,
    Deployment,
    Tally,
    WorkerDriver,
    env_int,
    kill_rounds,
)

from hrsync.notify.catcher import MailCatcher
from hrsync.simulator import Simulator
from hrsync.store.db import dispose_engines

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "kills"
SOAK = os.environ.get("KILL_SOAK", "") == "1"
SEED = env_int("SOAK_SEED", 20_240_601)
SHORT_PEOPLE = 2_000
soak_only = pytest.mark.skipif(not SOAK, reason="the long kill soak runs with `make soak` (KILL_SOAK=1)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _verdict(tally: Tally, kills: int, say: Callable[[str], None]) -> None:
    say(tally.summary())
    assert not tally.violations, "\n".join(tally.violations)
    assert len(tally.kills) == kills


@pytest.fixture
def mail() -> Iterator[MailCatcher]:
    with MailCatcher("127.0.0.1", _free_port(), None) as catcher:
        yield catcher


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def kill_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hrsync.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _reporter(request: pytest.FixtureRequest) -> Callable[[str], None]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{request.node.name}.log"
    path.write_text("")

    def say(line: str) -> None:
        print(line, flush=True)
        with path.open("a") as out:
            out.write(line + "\n")

    return say


def _label(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _run_cli_kills(request: pytest.FixtureRequest, url: str, tmp_path: Path, mail: MailCatcher, *, kills: int,
                   people: int, invite_initial: bool, verify_each_round: bool, send_each_round: bool = True) -> None:
    say = _reporter(request)
    tally = Tally()
    with Simulator(people=people, seed=SEED % 10_000, tenant=TENANT, api_key=API_KEY, port=0) as sim:
        dep = Deployment(url, tmp_path / "data", sim, mail)
        try:
            kill_rounds(dep, CliDriver(dep, tmp_path), label=_label(url), seed=SEED, kills=kills, people=people,
                        invite_initial=invite_initial, verify_each_round=verify_each_round, tally=tally, say=say,
                        send_each_round=send_each_round)
        finally:
            dep.close()
            dispose_engines()
    _verdict(tally, kills, say)


@pytest.mark.slow
def test_imports_killed_at_random_moments_leave_everything_consistent(
    request: pytest.FixtureRequest, kill_db: str, tmp_path: Path, mail: MailCatcher
) -> None:
    """Short version: one kill aimed at each of start-up, reading, planning, applying on SQLite
    (fewer on PostgreSQL), on a 2,000-person directory."""
    kills = 3 if _label(kill_db) == "sqlite" else 1
    _run_cli_kills(request, kill_db, tmp_path, mail, kills=kills, people=SHORT_PEOPLE,
                   invite_initial=False, verify_each_round=False, send_each_round=False)


@soak_only
@pytest.mark.soak
def test_soak_imports_killed_at_random_moments(
    request: pytest.FixtureRequest, kill_db: str, tmp_path: Path, mail: MailCatcher
) -> None:
    """Long version: 20,000 people, welcome e-mails from the first import on, 50 kills."""
    _run_cli_kills(request, kill_db, tmp_path, mail, kills=env_int("SOAK_KILLS", 50),
                   people=env_int("SOAK_PEOPLE", 20_000), invite_initial=True, verify_each_round=True)


# ---- Celery workers ----------------------------------------------------------------------------


@pytest.fixture(params=["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def broker(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A broker URL and a queue of this test's own, removed afterwards (the broker is shared)."""
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
    url = str(request.getfixturevalue("redis_url" if request.param == "redis" else "amqp_url"))
    queue = f"hrsync-kill-{uuid.uuid4().hex[:10]}"
    yield url, queue
    from kombu import Connection

    with Connection(url) as conn:
        channel: Any = conn.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)
    if request.param == "redis":
        from tests.jobs.test_celery_workers import _forget_redis_queue

        _forget_redis_queue(url, queue)


def _run_worker_kills(request: pytest.FixtureRequest, postgres_url: str, broker: tuple[str, str], tmp_path: Path,
                      mail: MailCatcher, *, kills: int, people: int, verify_each_round: bool) -> None:
    from tests.jobs.test_celery_workers import Worker

    say = _reporter(request)
    tally = Tally()
    url, queue = broker
    started: list[Worker] = []
    with Simulator(people=people, seed=SEED % 10_000, tenant=TENANT, api_key=API_KEY, port=0) as sim:
        dep = Deployment(postgres_url, tmp_path / "data", sim, mail, HRSYNC_BROKER_URL=url, HRSYNC_CELERY_QUEUE=queue)

        def start_worker() -> Worker:
            worker = Worker(dep.env, f"k{len(started) + 1}", tmp_path, concurrency=1)
            started.append(worker)
            worker.wait_ready()
            return worker

        try:
            driver = WorkerDriver(dep, start_worker)
            kill_rounds(dep, driver, label=f"celery-{url.split(':')[0]}", seed=SEED, kills=kills, people=people,
                        invite_initial=False, verify_each_round=verify_each_round, tally=tally, say=say,
                        send_each_round=verify_each_round, first_target="fetching")
        finally:
            for worker in started:
                worker.stop()
            dep.close()
            dispose_engines()
    _verdict(tally, kills, say)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_celery_worker_killed_mid_import_leaves_everything_consistent(
    request: pytest.FixtureRequest, postgres_url: str, broker: tuple[str, str], tmp_path: Path, mail: MailCatcher
) -> None:
    _run_worker_kills(request, postgres_url, broker, tmp_path, mail, kills=1, people=SHORT_PEOPLE,
                      verify_each_round=False)


@soak_only
@pytest.mark.soak
@pytest.mark.postgres
def test_soak_celery_workers_killed_mid_import(
    request: pytest.FixtureRequest, postgres_url: str, broker: tuple[str, str], tmp_path: Path, mail: MailCatcher
) -> None:
    _run_worker_kills(request, postgres_url, broker, tmp_path, mail, kills=env_int("SOAK_WORKER_KILLS", 2),
                      people=env_int("SOAK_PEOPLE", 20_000), verify_each_round=True)
