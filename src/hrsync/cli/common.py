"""What every data command shares: a session on a schema that is up to date, JSON flags."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hrsync.cli.main import EXIT_BAD_INPUT, fail
from hrsync.services.errors import ServiceError
from hrsync.store.db import current_revision, head_revision, make_engine, session_scope, upgrade

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


def ensure_schema() -> None:
    """SQLite (the embedded default) is migrated on first use; another database must be upgraded
    by its operator with ``hrsync db upgrade`` (migrations there are a deploy step)."""
    engine = make_engine()
    try:
        revision = current_revision()
    except OperationalError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot reach the database: {reason}")
    if revision == head_revision():
        return
    if engine.dialect.name == "sqlite":
        upgrade()
        return
    fail("the database schema is not up to date: run `hrsync db upgrade` first")


@contextmanager
def data_session(as_json: bool = False) -> Iterator[Session]:
    """A committed-on-success session; service errors become a one-line reason and exit 2."""
    ensure_schema()
    try:
        with session_scope() as session:
            yield session
    except ServiceError as exc:
        fail(exc.reason, EXIT_BAD_INPUT, payload={"error": exc.reason, "code": exc.code}, as_json=as_json)
