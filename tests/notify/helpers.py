"""Test data and real services shared by the notify and lifecycle tests.

Everything is real: a migrated SQLite file (or a fresh PostgreSQL database), and aiosmtpd SMTP
servers on free loopback ports.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hrsync.config import reset_settings_cache
from hrsync.notify.catcher import MailCatcher
from hrsync.store import dispose_engines, session_factory, upgrade
from hrsync.store.models import AdminUser, Integration, Member, OutboxEmail, Programme

PROGRAMME_NAME = "Acme Perks"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass(frozen=True)
class Seed:
    programme_id: int
    admin_id: int
    integration_id: int


def seed_programme(
    factory: sessionmaker[Session],
    *,
    name: str = PROGRAMME_NAME,
    date_format: str = "DD/MM/YYYY",
    timezone: str = "Europe/London",
    welcome_email: bool = True,
    integration_status: str = "live",
    admin_email: str = "owner@acme.example",
) -> Seed:
    with factory.begin() as s:
        programme = Programme(name=name, date_format=date_format, timezone=timezone)
        admin = AdminUser(programme=programme, email=admin_email, name="Olivia Owner")
        integration = Integration(
            programme=programme,
            owner=admin,
            settings={"subdomain": "acme"},
            status=integration_status,
            welcome_email=welcome_email,
            date_format=date_format,
        )
        s.add_all([programme, admin, integration])
        s.flush()
        return Seed(programme.id, admin.id, integration.id)


def add_member(factory: sessionmaker[Session], seed: Seed, **fields: Any) -> int:
    n = fields.pop("n", 1)
    values: dict[str, Any] = {
        "programme_id": seed.programme_id,
        "integration_id": seed.integration_id,
        "employee_id": f"E{n}",
        "email": f"person{n}@acme.example",
        "first_name": "Pat",
        "last_name": "Example",
        "status": "invited",
        "attributes": {"department": "Sales"},
    }
    values.update(fields)
    with factory.begin() as s:
        member = Member(**values)
        s.add(member)
        s.flush()
        return int(member.id)


def outbox_rows(factory: sessionmaker[Session], **where: Any) -> list[OutboxEmail]:
    with factory() as s:
        stmt = select(OutboxEmail).order_by(OutboxEmail.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(OutboxEmail, key) == value)
        return list(s.scalars(stmt).all())


class _RecordingHandler:
    """An SMTP handler that answers RCPT with a scripted code (to play a fussy server)."""

    def __init__(self, rcpt_answer: str, received: list[bytes]) -> None:
        self.rcpt_answer = rcpt_answer
        self.received = received

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.original_content or b"")
        return "250 OK"


def refusing_server(port: int, answer: str) -> tuple[Controller, list[bytes]]:
    received: list[bytes] = []
    controller = Controller(_RecordingHandler(answer, received), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, received


class _SlowHandler:
    """Accepts every message, but only after sitting on its DATA for ``delay`` seconds."""

    def __init__(self, delay: float, received: list[EmailMessage]) -> None:
        self.delay = delay
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 OK"


def slow_server(port: int, delay: float) -> tuple[Controller, list[EmailMessage]]:
    """A real SMTP server (aiosmtpd) that is slow to accept each message, like an overloaded relay."""
    received: list[EmailMessage] = []
    controller = Controller(_SlowHandler(delay, received), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, received


# -------- fixtures (imported by the conftest of each test package) --------


@pytest.fixture(autouse=True)
def _no_smtp_from_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests say which SMTP server they use; an operator's HRSYNC_SMTP_URL must not leak in."""
    monkeypatch.delenv("HRSYNC_SMTP_URL", raising=False)
    monkeypatch.setenv("HRSYNC_BASE_URL", "http://portal.test")
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'hrsync.db'}"
    upgrade(url)
    yield url
    dispose_engines()


@pytest.fixture
def factory(db_url: str) -> sessionmaker[Session]:
    return session_factory(db_url)


@pytest.fixture
def seed(factory: sessionmaker[Session]) -> Seed:
    return seed_programme(factory)


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailCatcher]:
    catcher = MailCatcher("127.0.0.1", free_port(), tmp_path / "mail")
    catcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()


MemberMaker = Callable[..., int]


@pytest.fixture
def make_member(factory: sessionmaker[Session], seed: Seed) -> MemberMaker:
    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> int:
        fields.setdefault("n", next(counter))
        return add_member(factory, seed, **fields)

    return make


__all__ = [
    "PROGRAMME_NAME",
    "MemberMaker",
    "Seed",
    "_no_smtp_from_environment",
    "add_member",
    "date",
    "db_url",
    "factory",
    "free_port",
    "mail",
    "make_member",
    "outbox_rows",
    "refusing_server",
    "seed",
    "seed_programme",
    "slow_server",
    "utc",
]
