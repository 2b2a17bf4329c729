"""A process killed in the middle of applying an import leaves nothing half-applied."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy import create_engine, text

from hrsync.simulator import Simulator

if TYPE_CHECKING:
    from conftest import Install


def _start_import(install: Install, integration: int) -> subprocess.Popen[str]:
    hrsync = Path(sys.executable).with_name("hrsync")
    return subprocess.Popen([str(hrsync), "import", str(integration), "--json"], env=install.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, what: str, limit: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_killed_while_applying_on_postgresql_changes_no_member(install: Install) -> None:
    """Deterministic: the test holds a lock the apply transaction needs, so the importer is
    caught inside that transaction (members already inserted, not committed) when it is killed."""
    integration = install.setup_integration()
    url = install.url
    blocker = psycopg.connect(url)
    watcher = psycopg.connect(url, autocommit=True)
    try:
        blocker.execute("LOCK TABLE import_issue IN ACCESS EXCLUSIVE MODE")
        proc = _start_import(install, integration)

        def importer_waits_for_the_lock() -> bool:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            return bool(row and row[0])

        _wait_for(importer_waits_for_the_lock, "the import to reach its apply transaction")
        # inside the open transaction the members exist, invisible to everyone else
        assert watcher.execute("SELECT phase FROM import_run").fetchone() == ("applying",)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        blocker.rollback()
        blocker.close()

    def importer_gone() -> bool:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        ).fetchone()
        return row == (0,)

    _wait_for(importer_gone, "PostgreSQL to end the killed importer's session")
    assert watcher.execute("SELECT count(*) FROM member").fetchone() == (0,)
    assert watcher.execute("SELECT count(*) FROM member_event").fetchone() == (0,)
    assert watcher.execute("SELECT count(*) FROM outbox_email").fetchone() == (0,)
    assert watcher.execute("SELECT status FROM import_run").fetchone() == ("running",)  # for recovery to find
    watcher.close()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_killed_while_applying_on_sqlite_is_all_or_nothing(install: Install, tmp_path: Path) -> None:
    """SQLite has no lock the test could hold without blocking the importer's progress writes, so
    a larger directory is imported and killed as soon as the run says it is applying."""
    install.sim.stop()
    with Simulator(people=20_000, seed=3, tenant="acme", api_key="sim-key-for-tests-1234", port=0) as sim:
        install.env["HRSYNC_INTELLIHR_BASE_URL"] = sim.base_url
        install.sim = sim
        integration = install.setup_integration()
        engine = create_engine(install.url)
        proc = _start_import(install, integration)

        def applying() -> bool:
            with engine.connect() as conn:
                phase = conn.execute(text("SELECT phase FROM import_run")).scalar()
            return phase in ("applying", "done") or proc.poll() is not None

        _wait_for(applying, "the import to start applying", limit=300)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM import_run")).scalar()
            members = conn.execute(text("SELECT count(*) FROM member")).scalar()
            events = conn.execute(text("SELECT count(*) FROM member_event")).scalar()
            created = conn.execute(text("SELECT created + pending FROM import_run")).scalar()
        engine.dispose()
        if status == "running":  # killed inside the transaction: nothing of it may remain
            assert (members, events) == (0, 0)
        else:  # the commit won the race: then all of it is there
            assert status == "succeeded_with_errors" and members == events == created > 0
