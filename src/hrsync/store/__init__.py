"""The database: models, engines, sessions and migrations (SQLite embedded, PostgreSQL scale-out)."""

from hrsync.store.db import (
    current_revision,
    dispose_engines,
    head_revision,
    make_engine,
    normalise_url,
    schema_differences,
    session_factory,
    session_scope,
    upgrade,
)

__all__ = [
    "current_revision",
    "dispose_engines",
    "head_revision",
    "make_engine",
    "normalise_url",
    "schema_differences",
    "session_factory",
    "session_scope",
    "upgrade",
]
