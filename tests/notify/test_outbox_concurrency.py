"""Several senders at once deliver each message exactly once (SQLite and PostgreSQL claim differently)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.outbox import SendReport, queue_email, send_due
from hrsync.store import dispose_engines, session_factory, upgrade

from .helpers import outbox_rows, seed_programme

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
            results.append(
                queue_email(
                    s,
                    programme_id=seed.programme_id,
                    kind="run_summary",
                    to="a@b.test",
                    subject="s",
                    text="t",
                    html=None,
                    dedup_key="run:1:run_summary",
                )
            )
    assert results[0] is not None and results[1] is None
    assert len(outbox_rows(any_factory)) == 1
