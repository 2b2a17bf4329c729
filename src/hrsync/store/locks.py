"""Hold a row for the rest of the transaction, on SQLite as on PostgreSQL.

``SELECT … FOR UPDATE`` is how PostgreSQL serialises two transactions that read a row, decide,
then write: the second waits at the ``SELECT`` until the first commits, then reads what it wrote.
SQLite does not render ``FOR UPDATE`` at all, and its driver starts a transaction only at the
first write, so two requests could both read "another owner remains" (or "not undone yet") and
both write. :func:`hold_row` makes the transaction take SQLite's single write lock *first*, with
a no-op ``UPDATE`` of the row (the busy timeout makes it wait, never fail at once): every read
after it sees the latest commit and no other writer runs until this transaction ends. Call it
before reading what the decision depends on, and re-read anything the session loaded before
(:func:`hold_row` returns the row re-read; pass other objects to ``session.refresh``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

__all__ = ["hold_row"]

T = TypeVar("T")


def hold_row(session: Session, model: type[T], row_id: Any) -> T | None:
    """Lock ``model``'s row ``row_id`` until the transaction ends and return it freshly read
    (``None`` when there is no such row). Waits while another transaction holds it."""
    key = inspect(model).primary_key[0]
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(key == row_id).values({key.name: key})
                        .execution_options(synchronize_session=False))
        return session.scalar(select(model).where(key == row_id).execution_options(populate_existing=True))
    return session.scalar(select(model).where(key == row_id).with_for_update()
                          .execution_options(populate_existing=True))
