"""Store fixtures: every store test runs on a SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hrsync.store import dispose_engines, session_scope, upgrade
from hrsync.store.models import AdminUser, Integration, Programme


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each engine (PostgreSQL skips, or fails under CI=true, when absent)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'hrsync.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    yield url
    dispose_engines()  # the PostgreSQL database is dropped next; release pooled connections


@pytest.fixture
def migrated_url(db_url: str) -> str:
    upgrade(db_url)
    return db_url


@pytest.fixture
def integration_ids(migrated_url: str) -> tuple[int, int]:
    """(programme id, integration id) of a programme with one draft integration."""
    with session_scope(migrated_url) as session:
        programme = Programme(name="Acme")
        admin = AdminUser(programme=programme, email="Admin@Acme.example")
        integration = Integration(programme=programme, owner=admin, settings={"subdomain": "acme"})
        session.add_all([programme, admin, integration])
        session.flush()
        return programme.id, integration.id
