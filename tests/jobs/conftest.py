"""Jobs fixtures: an hrsync installation per test (its own data dir and database), a simulator over
real HTTP, and a helper that sets up live integrations through the real services."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hrsync.config import reset_settings_cache
from hrsync.services.integrations import create_integration, publish
from hrsync.services.programmes import create_programme
from hrsync.simulator import Simulator
from hrsync.store.db import dispose_engines, session_factory, upgrade
from hrsync.store.models import ImportRun, Integration, Member, MemberEvent

TENANT = "t1"
API_KEY = "k1-simulator-key"


@dataclass
class Install:
    """One installation: database, environment (for worker subprocesses) and simulator."""

    url: str
    env: dict[str, str]
    sim: Simulator
    factory: sessionmaker[Session]
    programmes: list[int] = field(default_factory=list)

    def add_live(
        self,
        count: int = 1,
        *,
        frequency: str = "daily",
        schedule_time: str | None = None,
        timezone: str = "Europe/London",
        due_at: datetime | None = None,
    ) -> list[int]:
        """``count`` programmes, each with one published intelliHR integration; returns integration ids."""
        ids = []
        with self.factory.begin() as session:
            for _ in range(count):
                n = len(self.programmes) + 1
                programme, admin = create_programme(
                    session, f"Programme {n}", admin_email=f"owner{n}@example.test", timezone=timezone
                )
                integration = create_integration(
                    session, programme, admin, subdomain=TENANT, api_key=API_KEY,
                    frequency=frequency, schedule_time=schedule_time,
                )
                publish(session, integration, admin)
                self.programmes.append(programme.id)
                ids.append(integration.id)
        if due_at is not None:
            self.make_due(ids, due_at)
        return ids

    def make_due(self, integration_ids: list[int], due_at: datetime) -> None:
        with self.factory.begin() as session:
            session.execute(update(Integration).where(Integration.id.in_(integration_ids)).values(next_run_at=due_at))

    def runs(self, integration_id: int | None = None) -> list[ImportRun]:
        with self.factory() as session:
            stmt = select(ImportRun).order_by(ImportRun.id)
            if integration_id is not None:
                stmt = stmt.where(ImportRun.integration_id == integration_id)
            return list(session.scalars(stmt).all())

    def integration(self, integration_id: int) -> Integration:
        with self.factory() as session:
            found = session.get(Integration, integration_id)
            assert found is not None
            return found

    def member_count(self, programme_id: int) -> int:
        with self.factory() as session:
            return int(session.scalar(
                select(func.count()).select_from(Member).where(Member.programme_id == programme_id)
            ) or 0)

    def member_events(self, **where: object) -> list[MemberEvent]:
        with self.factory() as session:
            stmt = select(MemberEvent)
            for key, value in where.items():
                stmt = stmt.where(getattr(MemberEvent, key) == value)
            return list(session.scalars(stmt).all())


def activate(env: dict[str, str]) -> None:
    """Make ``env``'s HRSYNC_* variables this process's configuration (and forget cached engines)."""
    for key in [k for k in os.environ if k.startswith("HRSYNC_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("HRSYNC_")})
    reset_settings_cache()
    dispose_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'hrsync.db'}"
    return str(request.getfixturevalue("postgres_url"))


def make_install(database_url: str, tmp_path: Path, **extra_env: str) -> Callable[[], Iterator[Install]]:
    def generator() -> Iterator[Install]:
        with Simulator(people=60, seed=1, tenant=TENANT, api_key=API_KEY, port=0) as sim:
            env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
            env.update(
                HRSYNC_DATA_DIR=str(tmp_path / "data"),
                HRSYNC_DATABASE_URL=database_url,
                HRSYNC_INTELLIHR_BASE_URL=sim.base_url,
                HRSYNC_IMPORT_TIME_BUDGET="20",
                **extra_env,
            )
            activate(env)
            try:
                upgrade()
                yield Install(url=database_url, env=env, sim=sim, factory=session_factory())
            finally:
                activate({})

    return generator


@pytest.fixture
def install(database_url: str, tmp_path: Path) -> Iterator[Install]:
    """SQLite file and PostgreSQL, no broker (embedded mode)."""
    yield from make_install(database_url, tmp_path)()
