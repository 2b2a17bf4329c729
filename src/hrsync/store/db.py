"""Engines, sessions and migrations, for SQLite (embedded default) and PostgreSQL (scale-out).

One engine per URL per process: engines own connection pools, and a pool per call would leak
connections and defeat SQLite's per-connection pragmas. After ``fork()`` (Celery's prefork pool)
call :func:`dispose_engines` in the child so it never shares the parent's sockets.
"""

from __future__ import annotations

import re
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from hrsync.config import get_settings
from hrsync.security.files import private_file
from hrsync.store import scrub as _scrub  # noqa: F401 - registers the erase-after-commit hook
from hrsync.store.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported by the functions that migrate or compare the schema, not here: with what it loads
# (Mako, its autogenerate machinery) and zxcvbn (security.passwords, loaded on use as well) it was about
# 20 MB of every worker and scheduler process, which only ever open sessions (issue 27, decision 0039).

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK_KEY = 0x68727379_6E63  # "hrsync": the advisory lock id migrations take on PostgreSQL

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}


def normalise_url(url: str) -> str:
    """Pick the driver for a URL as an operator would write it.

    ``postgres://`` and ``postgresql://`` (no driver) become ``postgresql+psycopg://`` (psycopg 3,
    the driver the project installs); anything else, SQLite included, is returned unchanged.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def resolve_url(url: str | None) -> str:
    """The normalised URL to use: ``url`` or, when ``None``, the configured database."""
    return normalise_url(url if url is not None else get_settings().resolved_database_url())


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Pragmas that must hold on every SQLite connection, not just the first one.

    WAL lets the portal read progress while an import writes; foreign keys are off by default in
    SQLite; the busy timeout makes a second writer wait instead of failing at once. With WAL,
    ``synchronous=NORMAL`` keeps the database consistent across crashes (a power cut may lose
    the last commits, a killed process loses nothing committed). ``secure_delete`` zeroes what is
    deleted or overwritten, so a redacted link or a replaced key leaves no copy in the file's free
    space or free pages (:mod:`hrsync.store.scrub` cuts the write-ahead log at those moments).
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            # The data directory 0700 and the database 0600 whatever the umask; SQLite gives its
            # -wal/-shm files the database file's mode (hrsync.security.files).
            private_file(Path(database).expanduser())
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    engine = create_engine(url, pool_size=_pool_size, max_overflow=POOL_OVERFLOW)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect))
    return engine


#: A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out (the server
#: restarted, a firewall dropped it); one given back moments ago is not. SQLAlchemy's ``pool_pre_ping``
#: pings at every check-out: a round trip that a busy worker paid several times per import, and a
#: scheduler once per run it queued (issue 27, decision 0041).
PING_AFTER_IDLE_S = 5.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dialect: Any, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat in the pool for :data:`PING_AFTER_IDLE_S`; a dead one is replaced by a
    fresh connection before anyone sees it (SQLAlchemy retries a check-out that raises DisconnectionError)."""
    given_back = record.info.get("checked_in_at")
    if given_back is None or time.monotonic() - given_back < PING_AFTER_IDLE_S:
        return  # just connected, or in use moments ago
    try:
        alive = dialect.do_ping(dbapi_connection)
    except Exception as exc:
        raise DisconnectionError(f"a pooled connection idle for {time.monotonic() - given_back:.0f} s "
                                 "no longer answers") from exc
    if not alive:
        raise DisconnectionError("a pooled connection no longer answers")


DEFAULT_POOL_SIZE = 5  # SQLAlchemy's own default: a portal, a scheduler, a prefork pool process
POOL_OVERFLOW = 10
CONNECTIONS_PER_IMPORT_THREAD = 2  # the run's own session and its progress writes may be open at once
_pool_size = DEFAULT_POOL_SIZE


def size_pool_for_threads(threads: int) -> None:
    """A process running ``threads`` imports at once (a ``--pool threads`` worker, embedded mode's import
    threads) keeps enough connections for them all: :data:`CONNECTIONS_PER_IMPORT_THREAD` each, plus the
    overflow, instead of a fixed five that would make the ninth import wait for a connection (and fail
    after SQLAlchemy's 30 s). Call before the process's first session; SQLite ignores it."""
    global _pool_size
    _pool_size = max(DEFAULT_POOL_SIZE, threads * CONNECTIONS_PER_IMPORT_THREAD)


def make_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default: the configured database), created once."""
    resolved = resolve_url(url)
    with _lock:
        engine = _engines.get(resolved)
        if engine is None:
            engine = _create(resolved)
            _engines[resolved] = engine
        return engine


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """Sessions bound to :func:`make_engine`; objects stay readable after commit."""
    resolved = resolve_url(url)
    engine = make_engine(resolved)
    with _lock:
        factory = _factories.get(resolved)
        if factory is None:
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            _factories[resolved] = factory
        return factory


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_engines() -> None:
    """Close every cached engine's pool and forget it (tests, forked workers, shutdown)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
        _factories.clear()
    for engine in engines:
        engine.dispose()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the migrations shipped inside the package.

    No ``alembic.ini`` is read, so this works from any working directory, installed or editable.
    The URL travels in ``config.attributes`` (not the ini parser, which chokes on ``%``).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = resolve_url(url)
    return config


@contextmanager
def migrating(connection: Any) -> Iterator[None]:
    """Run migrations on ``connection`` with SQLite's foreign keys off, checked before the commit.

    SQLite alters a table by rebuilding it (copy, ``DROP``, rename). With foreign keys on, that ``DROP``
    first deletes every row, and ``ON DELETE CASCADE`` / ``SET NULL`` then delete every import run of
    every integration and detach every member from it: an upgrade that touches ``integration`` would
    empty the history. The pragma must be set outside a transaction, so this comes first; what the
    migrations leave is checked with ``foreign_key_check`` inside their transaction (a violation rolls
    them back), and the pragma is restored for the pooled connection.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def check_foreign_keys(connection: Any) -> None:
    """Refuse to commit migrations that left a row pointing at nothing (SQLite; PostgreSQL checks as it goes)."""
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left {len(broken)} rows pointing at nothing, first {broken[0]}")


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest migration)."""
    from alembic import command

    config = alembic_config(url)
    engine = make_engine(config.attributes["database_url"])
    with engine.connect() as connection, migrating(connection):
        # Concurrent upgrades (several workers starting at once) queue up here; the ones after the
        # first find the database already at head. On SQLite the explicit BEGIN also makes the DDL
        # atomic (the driver would otherwise run CREATE TABLE outside any transaction).
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        check_foreign_keys(connection)
        connection.commit()


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or ``None`` for an empty (never upgraded) database. Read from
    Alembic's own ``alembic_version`` table with one query, without loading Alembic (every data command
    and worker asks this when it starts)."""
    with make_engine(url).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:  # Alembic's own reading would refuse this too
        raise RuntimeError(f"the database is at several revisions at once: {sorted(versions)}")
    return versions[0] if versions else None


#: A migration's file name: its revision id, then its title (``0016_member_search_keys.py``).
_MIGRATION_FILE = re.compile(r"(\d{4})_\w+\.py")


def head_revision() -> str | None:
    """The newest migration shipped with this code (compare with :func:`current_revision`).

    The migrations are one line of numbered revisions, each file named by its id (``0016_….py`` holds
    revision ``"0016"``, which revises ``"0015"``; ``tests/store/test_migrations.py`` holds them to
    that and checks this against Alembic's own reading). So the head is the highest number, found without
    loading Alembic: an import asks for it (it is part of every fingerprint's key), and Alembic with
    what it loads is about 20 MB of a worker that never migrates."""
    numbers = [m.group(1) for p in (MIGRATIONS_DIR / "versions").iterdir() if (m := _MIGRATION_FILE.fullmatch(p.name))]
    return max(numbers) if numbers else None


# Expression indexes: Alembic cannot compare them (SQLite does not reflect them, PostgreSQL
# re-spells the expression), so autogenerate ignores them and :func:`schema_differences` checks
# them by name and operator class instead. Changing one needs a hand-written migration.
POSTGRESQL_EXPRESSION_INDEXES: dict[str, str] = {"ix_member_search_trgm": "gin_trgm_ops"}
#: Indexes that exist on one database only (``ddl_if``), which autogenerate would otherwise ask for
#: on the other: checked by name on their own database.
DIALECT_INDEXES: dict[str, str] = {"ix_member_programme_id_sort_key": "sqlite",
                                   "ix_member_programme_id_sort_key_pg": "postgresql"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic autogenerate filter shared by ``env.py`` and :func:`schema_differences`."""
    return not (type_ == "index" and (name in POSTGRESQL_EXPRESSION_INDEXES or name in DIALECT_INDEXES))


def schema_differences(url: str | None = None) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models.

    Empty means the migrations and the models agree; tests and deploy checks rely on it.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with make_engine(url).connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*expression-based index", category=UserWarning)
            differences: list[Any] = list(compare_metadata(context, Base.metadata))
        if connection.dialect.name == "postgresql":
            for name, opclass in POSTGRESQL_EXPRESSION_INDEXES.items():
                definition = connection.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": name}
                ).scalar()
                if definition is None or opclass not in definition:
                    differences.append(("missing_expression_index", name))
        present = {index["name"] for index in inspect(connection).get_indexes("member")}
        for name, dialect in DIALECT_INDEXES.items():
            if dialect == connection.dialect.name and name not in present:
                differences.append(("missing_dialect_index", name))
        return differences
