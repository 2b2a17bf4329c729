"""Sign-in throttling shared by every portal process: failure counts live in the database.

Two kinds of key (:func:`hrsync.services.auth.account_key`, :func:`~hrsync.services.auth.address_key`):

* ``account:<admin|member>:<e-mail, lower case>``: 5 failures within 15 minutes lock the account
  for 15 minutes, whether or not the account exists (so the lock reveals nothing);
* ``address:<client address>``: 20 failures lock that one address (an office behind one NAT
  address is not locked out by a few colleagues' typos; a spray across accounts stops quickly).

An attempt is refused when *its own* account or *its own* address is locked, so failures from one
address never lock another address, and a locked address does not stop the same accounts signing
in from elsewhere. The client address is the real one behind a trusted proxy (``HRSYNC_TRUSTED_PROXIES``):
without that every client would share the balancer's address and twenty failures would lock
everyone out.

Each call runs in its own short transaction (not the request's), so a failure counts even when
the request fails afterwards and is visible to every other process at once. A failure is one
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per key, atomic on SQLite and PostgreSQL alike:
two processes counting the same key at the same moment never lose a count. The window is fixed
(it starts at the first failure and resets 15 minutes later), not sliding; at worst an attacker
fits ``2 x limit - 2`` tries around a window boundary before the lock, still nothing against argon2.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hrsync.store.models import ThrottleBucket
from hrsync.store.types import utcnow

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
ADDRESS_PREFIX = "address:"
MAX_KEY_LENGTH = 200  # the column's size: a longer key (a 320-character address) is stored as its hash
PURGE_EVERY = 200  # failures recorded by this process between two clean-ups of stale buckets


def stored_key(key: str) -> str:
    """The key as stored: itself, or (when too long for the column) its kind and a SHA-256."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    kind = key.rsplit(":", 1)[0] if key.count(":") >= 2 else key.split(":", 1)[0]
    return f"{kind[:100]}:sha256:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


class SharedThrottle:
    """``limit`` failures of an account (``address_limit`` of an address) within ``window`` lock it
    for ``lock``. ``factory`` makes the sessions (default: the configured database, looked up on each
    call); ``clock`` gives the current instant (tests move it forward instead of waiting)."""

    def __init__(
        self,
        factory: Callable[[], sessionmaker[Session]] | None = None,
        *,
        limit: int = ACCOUNT_LIMIT,
        address_limit: int = ADDRESS_LIMIT,
        window: timedelta = WINDOW,
        lock: timedelta = LOCK,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if limit < 1 or address_limit < 1:
            raise ValueError("throttle limits must be at least 1")
        self.limit = limit
        self.address_limit = address_limit
        self.window = window
        self.lock = lock
        self.clock = clock
        self._factory = factory
        self._failures_seen = 0
        self._mutex = threading.Lock()

    def _sessions(self) -> sessionmaker[Session]:
        if self._factory is not None:
            return self._factory()
        from hrsync.store.db import session_factory

        return session_factory()

    def _limit_of(self, key: str) -> int:
        return self.address_limit if key.startswith(ADDRESS_PREFIX) else self.limit

    def locked(self, *keys: str) -> bool:
        """Is any of ``keys`` locked now?"""
        now = self.clock()
        with self._sessions()() as session:
            found = session.scalar(
                select(ThrottleBucket.key)
                .where(ThrottleBucket.key.in_([stored_key(k) for k in keys]), ThrottleBucket.locked_until > now)
                .limit(1)
            )
        return found is not None

    def failure(self, *keys: str) -> None:
        """Count one failed attempt against each key; a key reaching its limit is locked."""
        now = self.clock()
        window_start = now - self.window
        with self._sessions().begin() as session:
            insert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            table = ThrottleBucket.__table__
            stale = table.c.window_started_at <= window_start
            for key in keys:
                stmt = insert(table).values(key=stored_key(key), failures=1, window_started_at=now, locked_until=None)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["key"],
                    set_={
                        "failures": case((stale, 1), else_=table.c.failures + 1),
                        "window_started_at": case((stale, now), else_=table.c.window_started_at),
                    },
                ).returning(table.c.failures)
                failures = int(session.execute(stmt).scalar_one())
                if failures >= self._limit_of(key):
                    # the lock starts now; the count starts again when it ends
                    session.execute(
                        update(ThrottleBucket)
                        .where(ThrottleBucket.key == stored_key(key))
                        .values(locked_until=now + self.lock, failures=0, window_started_at=now)
                        .execution_options(synchronize_session=False)
                    )
            with self._mutex:
                self._failures_seen += 1
                purge = self._failures_seen % PURGE_EVERY == 0
            if purge:
                self._purge(session, now)

    def success(self, account_key: str) -> None:
        """A correct password clears the account's count (not the address's: one success among many
        failures from one address must not reset a spray)."""
        with self._sessions().begin() as session:
            session.execute(delete(ThrottleBucket).where(ThrottleBucket.key == stored_key(account_key)))

    def _purge(self, session: Session, now: datetime) -> None:
        """Forget buckets whose window and lock are both over (a spray of random addresses must not
        grow the table for ever)."""
        session.execute(
            delete(ThrottleBucket).where(
                ThrottleBucket.window_started_at <= now - self.window,
                or_(ThrottleBucket.locked_until.is_(None), ThrottleBucket.locked_until <= now),
            )
        )

    def reset(self) -> None:
        """Forget every count and lock (tests; an operator can also empty the table)."""
        with self._sessions().begin() as session:
            session.execute(delete(ThrottleBucket))


__all__ = ["ACCOUNT_LIMIT", "ADDRESS_LIMIT", "LOCK", "WINDOW", "SharedThrottle", "stored_key"]
