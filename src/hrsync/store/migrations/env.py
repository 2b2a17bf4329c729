"""Alembic environment for hrsync's migrations (shipped inside the package).

:func:`hrsync.store.db.upgrade` passes an open connection in ``config.attributes``; without one
(for example ``alembic.command.revision(alembic_config(url), autogenerate=True)`` when writing a
new migration) the engine comes from the URL in the attributes or the configured database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from hrsync.store.db import check_foreign_keys, include_object, make_engine, migrating, resolve_url
from hrsync.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs need table rebuilds
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with make_engine(config.attributes.get("database_url")).connect() as connection, migrating(connection):
        _run(connection)
        check_foreign_keys(connection)
        connection.commit()


def run_migrations_offline() -> None:
    context.configure(
        url=resolve_url(config.attributes.get("database_url")),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
