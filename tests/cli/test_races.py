"""Two owners demoted at the same moment, three undos of one run at the same moment: concurrent
``hrsync`` processes on one database, SQLite and PostgreSQL.

To make "the same moment" certain rather than lucky, the test itself holds the database's write
lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the tables in ``EXCLUSIVE`` mode, which still lets
everyone read) while the processes start, so each of them gets as far as it can before writing;
then it lets go. A process that decided on what it read before the lock (the bug SQLite's ignored
``FOR UPDATE`` allowed) writes anyway; a process that holds the row first waits, then re-reads.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from tests.sync.conftest import HRSYNC, Install, database_url, install, session_scope

from hrsync.security.passwords import hash_password
from hrsync.store.models import AdminUser, ImportRun, Programme

__all__ = ["database_url", "install"]

PASSWORD = "correct horse battery staple"
_TABLES = ("programme", "admin_user", "import_run")


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _opened(pid: int, path: Path) -> bool:
    """Has process ``pid`` opened ``path`` (SQLite opens the WAL at its first read)?"""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


@contextmanager
def _writers_held(url: str) -> Iterator[object]:
    """Hold every writer of the database off until the block ends; yields a ``wait(processes)``
    that returns once each process has got as far as it can (reading is never held)."""
    path = _sqlite_path(url)
    if path is not None:
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

        def wait_sqlite(processes: list[subprocess.Popen[str]]) -> None:
            wal = path.with_name(path.name + "-wal")
            while Path("/proc/self/fd").is_dir() and not all(_opened(p.pid, wal) or p.poll() is not None
                                                              for p in processes):
                time.sleep(0.05)
            time.sleep(2.0)  # from its first read to its first write a process needs milliseconds

        try:
            yield wait_sqlite
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return

    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute(f"LOCK TABLE {', '.join(_TABLES)} IN EXCLUSIVE MODE")

        def wait_postgresql(processes: list[subprocess.Popen[str]]) -> None:
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as probe:
                while True:
                    waiting = probe.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'").fetchone()
                    if (waiting and waiting[0] >= len(processes)) or any(p.poll() is not None for p in processes):
                        return
                    time.sleep(0.05)

        yield wait_postgresql
        holder.rollback()


def _at_once(install: Install, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command as its own ``hrsync`` process while writers are held, then let go."""
    with _writers_held(install.url) as wait:
        processes = [subprocess.Popen([HRSYNC, *args], env=install.env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for args in commands]
        wait(processes)  # type: ignore[operator]
    done = []
    for args, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return done


def _owners(programme: str) -> list[str]:
    with session_scope() as session:
        return list(session.scalars(
            select(AdminUser.email).join(Programme, Programme.id == AdminUser.programme_id)
            .where(Programme.name == programme, AdminUser.role == "owner", AdminUser.is_active.is_(True))))


def test_two_owners_demoted_at_the_same_moment_leave_one_owner(install: Install) -> None:
    install.cli_json("programme", "add", "Acme", "--admin-email", "first@acme.test", "--password", PASSWORD)
    install.cli_json("admin", "invite", "--programme", "Acme", "second@acme.test", "--role", "owner")
    with session_scope() as session:  # the invited owner accepts (sets a password): now two owners count
        second = session.scalar(select(AdminUser).where(AdminUser.email_lower == "second@acme.test"))
        assert second is not None
        second.password_hash = hash_password(PASSWORD)
    assert sorted(_owners("Acme")) == ["first@acme.test", "second@acme.test"]

    results = _at_once(install, *(("admin", "set-role", "--programme", "Acme", email, "administrator", "--json")
                                  for email in ("first@acme.test", "second@acme.test")))

    assert sorted(r.returncode for r in results) == [0, 2], [(r.returncode, r.stderr) for r in results]
    refused = next(r for r in results if r.returncode == 2)
    assert "last owner" in refused.stderr and json.loads(refused.stdout)["code"] == "last_owner"
    assert len(_owners("Acme")) == 1


def test_three_undos_of_one_run_at_the_same_moment_make_one_undo(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    people = [p for p in install.sim.directory.people()
              if p["employmentStatus"] == "Current Staff" and p.get("employeeNumber")]
    install.sim.directory.change(people[0]["id"], firstName="Renamed")
    install.sim.directory.terminate(people[1]["id"])
    second = install.cli_json("import", str(integration))
    assert second["leavers"] == 1

    results = _at_once(install, *(("run", "undo", str(second["id"]), "--json") for _ in range(3)))

    assert sorted(r.returncode for r in results) == [0, 2, 2], [(r.returncode, r.stderr) for r in results]
    assert all("already undone" in r.stderr for r in results if r.returncode == 2)
    with session_scope() as session:
        undos = session.scalar(select(func.count()).select_from(ImportRun).where(ImportRun.undo_of_id == second["id"]))
    assert undos == 1
