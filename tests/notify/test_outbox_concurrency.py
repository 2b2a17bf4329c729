"""Several senders at once deliver each message exactly once (SQLite and PostgreSQL claim differently)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import SendReport, send_due
from hrsync.notify.outbox import queue_email
from hrsync.store import dispose_engines, session_factory, upgrade
from hrsync.store.models import OutboxEmail

from .helpers import free_port, outbox_rows, seed_programme, slow_server

MESSAGES = 80
SENDERS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = (
        f"sqlite:///{tmp_path / 'c.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    upgrade(url)
    yield session_factory(url)
    dispose_engines()


@pytest.mark.slow
def test_concurrent_senders_deliver_every_message_exactly_once(
    any_factory: sessionmaker[Session], mail: MailCatcher
) -> None:
    seed = seed_programme(any_factory)
    with any_factory.begin() as s:
        for i in range(MESSAGES):
            queue_email(
                s,
                programme_id=seed.programme_id,
                kind="run_summary",
                to=f"p{i}@acme.example",
                subject=f"message {i}",
                text="t",
                html="<p>t</p>",
                dedup_key=f"m:{i}",
            )
    reports: list[SendReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(SENDERS)

    def sender() -> None:
        try:
            start.wait()
            reports.append(send_due(any_factory, smtp_url=mail.url, limit=MESSAGES))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(r.sent for r in reports) == MESSAGES
    received = mail.wait_for(MESSAGES)
    subjects = Counter(m.subject for m in received)
    assert len(received) == MESSAGES and max(subjects.values()) == 1
    assert {r.status for r in outbox_rows(any_factory)} == {"sent"}


def test_queueing_the_same_key_in_two_transactions_keeps_one_row(any_factory: sessionmaker[Session]) -> None:
    seed = seed_programme(any_factory)
    results = []
    for _ in range(2):  # a retried import: the first transaction committed, the retry queues again
        with any_factory.begin() as s:
            row = queue_email(
                s,
                programme_id=seed.programme_id,
                kind="run_summary",
                to=" a@b.test ",
                subject="s",
                text="t",
                html=None,
                dedup_key="run:1:run_summary",
            )
            # the row as stored, from the INSERT's own RETURNING: its id and every value, defaults included
            results.append(None if row is None else (row.id, row.to_address, row.dedup_key, row.status,
                                                     row.attempts, row.created_at is not None))
    assert results[1] is None
    assert results[0] is not None
    stored = outbox_rows(any_factory)
    assert len(stored) == 1
    assert results[0] == (stored[0].id, "a@b.test", "run:1:run_summary", "queued", 0, True)


# A relay that takes SLOW_DELAY to accept each message makes one sender's chunk of SLOW_MESSAGES
# last about twice the lease, so the other sender re-claims the rows the first has not reached
# yet, while the first is still working through them: the situation of issue 9.
SLOW_LEASE = timedelta(seconds=3)  # the SMTP timeout becomes a quarter of it (0.75 s)
SLOW_DELAY = 0.3  # per message; well under the lease, so one SMTP exchange never outlives it
SLOW_MESSAGES = 20
HANG_STOP = 120.0  # seconds: only stops a hung test


def _unsent(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(
            s.scalar(select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status != "sent")) or 0
        )


def test_a_slow_relay_does_not_make_two_senders_send_the_same_message(
    any_factory: sessionmaker[Session],
) -> None:
    seed = seed_programme(any_factory)
    with any_factory.begin() as s:
        for i in range(SLOW_MESSAGES):
            queue_email(
                s, programme_id=seed.programme_id, kind="run_summary", to=f"p{i}@acme.example",
                subject=f"message {i}", text="t", html=None, dedup_key=f"slow:{i}",
            )
    controller, received = slow_server(free_port(), SLOW_DELAY)
    url = f"smtp://127.0.0.1:{controller.port}"
    reports: list[SendReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def sender() -> None:
        """A worker that keeps passing over the outbox until every message is sent."""
        try:
            start.wait()
            deadline = time.monotonic() + HANG_STOP
            while _unsent(any_factory) and time.monotonic() < deadline:
                reports.append(send_due(any_factory, smtp_url=url, limit=SLOW_MESSAGES, lease=SLOW_LEASE))
                time.sleep(0.05)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        controller.stop()

    assert errors == []
    subjects = Counter(str(m["Subject"]) for m in received)
    assert subjects == Counter(f"message {i}" for i in range(SLOW_MESSAGES))  # every one, exactly once
    rows = outbox_rows(any_factory)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * SLOW_MESSAGES
    assert sum(r.sent for r in reports) == SLOW_MESSAGES
    # the takeover did happen: some claimed rows were left to the sender that re-claimed them
    assert sum(r.lost for r in reports) > 0
