"""Secrets leave the database's files, not only its rows (issue 22, item 4).

Clearing a column does not erase the value: SQLite keeps the old row in the page's free space, in
free pages and in the write-ahead log (``hrsync.db-wal``) until they are reused or overwritten;
PostgreSQL keeps it in a dead tuple until VACUUM, and in its WAL segments and backups. So:

* **SQLite, always.** Every connection runs with ``PRAGMA secure_delete=ON``
  (:func:`hrsync.store.db._on_sqlite_connect`): whatever SQLite deletes or overwrites is zeroed in
  the page, and pages it frees are zeroed, so the database file keeps no copy.
* **SQLite, when a secret is removed.** Overwriting a column of :data:`SECRET_COLUMNS` through the
  ORM (a sent or failed e-mail's links redacted, a password replaced, an API key re-entered or
  wiped) marks the session, as does :func:`after_commit` for other removals (a member's personal
  data deleted); ``hrsync keys rotate`` calls :func:`erase_removed` itself. Once that transaction
  commits, the WAL is checkpointed with ``TRUNCATE``: the zeroed pages go into the database file and
  the log, which still holds the old page images, is cut to zero bytes. A checkpoint that readers
  keep waiting for :data:`BUSY_MS` is retried after the next commit (logged as a warning).
* **Thorough** (:func:`erase_removed` with ``rewrite=True``: ``hrsync keys retire``, and ``hrsync
  db scrub`` once after upgrading an installation whose files predate this): SQLite runs ``VACUUM``
  (a fresh file: no free page written before ``secure_delete`` was on survives) then the
  checkpoint; PostgreSQL runs ``VACUUM FULL`` of the tables named (rewritten into new files, the
  old ones removed). What PostgreSQL keeps after that (WAL segments, archives, replicas, backups)
  is the operator's: docs/security.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, object_session

from hrsync.store.models import AdminUser, Integration, Member, OutboxEmail

log = logging.getLogger(__name__)

_FLAG: Final = "hrsync.erase_removed_secrets"
#: How long a checkpoint waits for readers to finish before it gives up until the next commit.
BUSY_MS: Final = 5_000
_pending: set[str] = set()
_lock = threading.Lock()


#: Columns whose old value is a secret: overwriting one erases it from the files at commit. (A link
#: lives in an e-mail's body until it is sent or fails for good, then is redacted.)
SECRET_COLUMNS: Final = (
    Integration.secret_encrypted, AdminUser.password_hash, Member.password_hash,
    OutboxEmail.body_text, OutboxEmail.body_html,
)


def secret_tables() -> list[str]:
    """The tables holding a column of :data:`SECRET_COLUMNS` (``hrsync db scrub`` rewrites them)."""
    return sorted({column.class_.__tablename__ for column in SECRET_COLUMNS})


def after_commit(session: Session) -> None:
    """Erase what this session removed from the database's files once its transaction commits."""
    session.info[_FLAG] = True


def _on_set(target: object, value: object, old: object, _initiator: object) -> None:
    if isinstance(old, str) and old != value:  # a stored value replaced, not a first assignment
        session = object_session(target)
        if session is not None:
            after_commit(session)


for _column in SECRET_COLUMNS:
    event.listen(_column, "set", _on_set, active_history=True)


@event.listens_for(Session, "after_commit")
def _erase_after_commit(session: Session) -> None:
    wanted = session.info.pop(_FLAG, False)
    if not wanted and not _pending:
        return
    try:
        bind = session.get_bind()
    except Exception:  # noqa: BLE001 - a session without a bind has nothing to erase
        return
    engine: Engine = bind.engine  # an Engine's own .engine is itself
    if wanted or _key(engine) in _pending:
        erase_removed(engine)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_FLAG, None)


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def erase_removed(engine: Engine, *, rewrite: bool = False, tables: Iterable[str] = ()) -> bool:
    """Erase removed values from the files now; False when SQLite's log could not be cut yet.

    ``rewrite``: SQLite ``VACUUM`` first; PostgreSQL ``VACUUM FULL`` of ``tables`` (on PostgreSQL
    nothing happens without it: autovacuum reclaims dead tuples).
    """
    if engine.dialect.name == "postgresql":
        if rewrite:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                for table in tables:
                    connection.exec_driver_sql(f'VACUUM FULL "{table}"')
        return True
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if rewrite:
            connection.exec_driver_sql("VACUUM")
        done = _checkpoint(connection)
    with _lock:
        (_pending.discard if done else _pending.add)(_key(engine))
    if not done:
        log.warning("database: the write-ahead log could not be cut yet (a long read); tried again after the "
                    "next commit")
    return done


def _checkpoint(connection: Any) -> bool:
    from hrsync.store.db import SQLITE_BUSY_TIMEOUT_MS

    connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_MS}")
    try:
        row = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return row is None or int(row[0]) == 0
