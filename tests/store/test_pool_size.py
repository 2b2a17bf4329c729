"""A process that runs many imports on threads keeps enough database connections for them (issue 27)."""

from __future__ import annotations

import threading

import pytest

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
