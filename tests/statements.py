"""The SQL an engine sends while a block runs, for tests that count or compare statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from hrsync.store.db import make_engine


@contextmanager
def recorded_statements(url: str | None = None) -> Iterator[list[str]]:
    """Every statement the engine of ``url`` (default: the configured database) sends inside the block,
    as sent (parameters left out), in order."""
    engine = make_engine(url)
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
