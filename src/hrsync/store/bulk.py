"""Bulk writes and reads: PostgreSQL's COPY where it applies, plain driver rows for big reads.

An import inserts up to hundreds of thousands of rows at once (new members, their events, the run's
issues). A Core ``executemany`` sends them as batched ``INSERT``s (psycopg 3 pipelines them);
``COPY ... FROM STDIN`` streams them into the table in one command and is several times faster on
PostgreSQL. SQLite has no COPY: there the executemany is already the fastest path.

Every value goes through the column type's own bind processing first (:class:`~.types.UTCDateTime`
refuses naive datetimes, JSON is serialised the way SQLAlchemy would), so a row written by either
path reads back the same. COPY applies server-side defaults but not Python-side ones, so
:func:`insert_rows` uses it only when every row gives each column that has a Python-side default;
otherwise it falls back to the executemany, which applies them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Select, Table, insert
from sqlalchemy.orm import Session

COPY_MIN_ROWS = 100  # below this, one executemany is as quick and simpler to trace in a log


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the session's transaction."""
    if not rows:
        return
    bind = session.connection()
    columns = list(rows[0])
    if bind.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS or not _copyable(table, columns):
        session.execute(insert(table), list(rows))
        return
    session.flush()  # the raw COPY bypasses autoflush: pending ORM rows it may refer to go first
    processors = [_processor(table, name, bind.dialect) for name in columns]
    statement = "COPY {} ({}) FROM STDIN".format(
        bind.dialect.identifier_preparer.format_table(table),
        ", ".join(bind.dialect.identifier_preparer.quote(name) for name in columns),
    )
    driver = bind.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([process(row[name]) for name, process in zip(columns, processors, strict=True)])


def _copyable(table: Table, columns: list[str]) -> bool:
    given = set(columns)
    return all(name in table.c for name in given) and all(
        column.name in given for column in table.c if column.default is not None
    )


def _processor(table: Table, name: str, dialect: Any) -> Callable[[Any], Any]:
    column_type = table.c[name].type
    if isinstance(column_type, JSON) or isinstance(getattr(column_type, "impl", None), JSON):
        return _json_text  # COPY's text format takes the JSON document as text
    bind = column_type.bind_processor(dialect)
    if bind is None:
        return _same
    return bind


def _same(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str | None:
    # SQLAlchemy's JSON type stores a Python None as JSON null, as the executemany path does
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


PLAIN_ROWS_CHUNK = 2000  # rows converted to Python tuples at a time


def plain_rows(
    session: Session, statement: Select[*tuple[Any, ...]], *, prepare: bool | None = None
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``statement`` as the driver returns them: plain tuples, no SQLAlchemy row objects
    and **no result processing** (on SQLite a date column comes back as its ISO text, a JSON column
    as text). For reading every member of a large programme, where SQLAlchemy's per-row work costs
    several times the query itself; callers convert the few columns that need it.

    The rows come :data:`PLAIN_ROWS_CHUNK` at a time, so a caller that keeps little of each row never
    holds the whole result as Python objects (an import's second read of 100,000 members kept about
    40 MB of tuples and strings alive at once, issue 27). Consume it while the session is open.

    ``prepare=False`` (PostgreSQL): plan this execution for its own values, never with a prepared
    statement's generic plan. psycopg prepares a statement it has seen five times on a connection; for a
    look-up by a long ``IN`` list, PostgreSQL's generic plan then tests each row against the list one
    element at a time instead of hashing it, which made a 100,000-person first import's id look-ups
    (fifty lists of 2,000) take a minute (issue 27)."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positiontup is not None:
        params = tuple(params[name] for name in compiled.positiontup)
    driver = connection.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        if prepare is not None and connection.dialect.name == "postgresql":
            cursor.execute(str(compiled), params, prepare=prepare)
        else:
            cursor.execute(str(compiled), params)
        while chunk := cursor.fetchmany(PLAIN_ROWS_CHUNK):
            yield from chunk
    finally:
        cursor.close()
