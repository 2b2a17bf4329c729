"""A process that runs many imports on threads keeps enough database connections for them (issue 27)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from hrsync.store import db

pytestmark = pytest.mark.postgres


def test_a_thread_pool_process_holds_two_connections_per_import_thread_at_once(postgres_url: str) -> None:
    """Twelve threads each holding two sessions open at the same time (an import's own and its progress
    write) all get their connections at once: with SQLAlchemy's default pool (5 + 10 overflow) the
    sixteenth would wait, here for the one second the test allows before failing."""
    db.dispose_engines()
    db.size_pool_for_threads(12)
    try:
        engine = db.make_engine(postgres_url)
        engine.pool._timeout = 1  # type: ignore[attr-defined]  # fail fast instead of SQLAlchemy's 30 s
        factory = db.session_factory(postgres_url)
        barrier = threading.Barrier(12)
        errors: list[BaseException] = []

        def hold_two() -> None:
            try:
                with factory() as one, factory() as two:
                    one.connection()
                    two.connection()
                    barrier.wait(timeout=10)  # all 24 connections checked out together
            except BaseException as exc:  # reported below
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=hold_two) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    finally:
        db.size_pool_for_threads(0)  # back to the default for the tests after this one
        db.dispose_engines()


def _count_pings(engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every ping the engine's dialect sends (SQLAlchemy's own method, counted and then called)."""
    pings: list[object] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return bool(real(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_given_back_moments_ago_is_handed_out_without_a_ping(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27: a worker checks a connection out several times per import; each ping was a round trip."""
    db.dispose_engines()
    engine = db.make_engine(postgres_url)
    pings = _count_pings(engine, monkeypatch)
    for _ in range(5):
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    assert pings == []
    db.dispose_engines()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection idle for longer than PING_AFTER_IDLE_S is pinged; one the server closed meanwhile (a
    restart, a firewall) is replaced by a fresh one, and the caller never sees the dead one."""
    import psycopg

    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every connection given back counts as idle
    db.dispose_engines()
    engine = db.make_engine(postgres_url)
    pings = _count_pings(engine, monkeypatch)
    with engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        for _ in range(100):  # it is asked to end; wait until it has
            if admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (first,)).fetchone() is None:
                break
            time.sleep(0.05)
    with engine.connect() as connection:
        second = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    assert second != first and len(pings) == 1
    db.dispose_engines()
