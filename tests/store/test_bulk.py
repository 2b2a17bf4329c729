"""Bulk inserts (hrsync.store.bulk): COPY on PostgreSQL, executemany on SQLite, the same rows either way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from hrsync.domain.search import member_keys_of
from hrsync.store import make_engine, session_scope
from hrsync.store.bulk import COPY_MIN_ROWS, insert_rows
from hrsync.store.models import Member, MemberEvent, Programme

MEMBER = Member.__table__
EVENT = MemberEvent.__table__
NOW = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=UTC)


def _members(programme_id: int, n: int, prefix: str) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        rows.append({
            "programme_id": programme_id, "door": "integration" if i % 2 else "manual",
            "employee_id": f"{prefix}{i:05d}", "email": f"{prefix}{i}@example.com",
            "email_lower": f"{prefix}{i}@example.com", "status": "invited", "employment_status": "Current Staff",
            "source_id": None if i % 7 == 0 else f"src-{prefix}-{i}",
            "start_date": date(2024, 1 + i % 12, 1 + i % 28) if i % 5 else None,
            "attributes": {"phone": "+44 20 7946 0958", "note": "tab\there, back\\slash, \"quote\", ünïcödé",
                           "blank": None, "lines": "one\ntwo"} if i % 3 else {},
            "first_name": "Zoë" if i % 2 else None, "last_name": "O'Brien\\" if i % 4 else "Łukasz",
            "fingerprint": None if i % 2 else f"{i:032x}", "invited_at": NOW if i % 2 else None,
            "created_at": NOW, "updated_at": NOW,
        })
        row = rows[-1]  # the search and sort keys, as an import's rows carry them (so COPY applies); prefixes
        # J and Q fold to letters found nowhere else in a row, so the batches still differ by the prefix only
        row.update(member_keys_of(row, row["attributes"]))
    return rows


_COLUMNS = ("door", "employee_id", "email", "email_lower", "status", "employment_status", "source_id", "start_date",
            "attributes", "first_name", "last_name", "fingerprint", "invited_at", "created_at", "updated_at",
            "search_key", "sort_key")


def _read(url: str, programme_id: int, prefix: str) -> list[tuple[Any, ...]]:
    with session_scope(url) as session:
        rows = session.execute(
            select(*(MEMBER.c[c] for c in _COLUMNS)).where(MEMBER.c.programme_id == programme_id)
            .order_by(MEMBER.c.employee_id)
        ).all()
    # the two batches differ only by their prefix in the key columns
    keyed = ("employee_id", "email", "email_lower", "source_id", "search_key", "sort_key")
    return [tuple(v.replace(prefix, "#").replace(prefix.lower(), "#") if name in keyed and v is not None else v
                  for name, v in zip(_COLUMNS, row, strict=True)) for row in rows]


def test_bulk_rows_read_back_exactly_as_executemany_rows(migrated_url: str) -> None:
    n = COPY_MIN_ROWS + 50
    with session_scope(migrated_url) as session:
        bulk, plain = Programme(name="Bulk"), Programme(name="Plain")
        session.add_all([bulk, plain])
        session.flush()
        bulk_id, plain_id = bulk.id, plain.id

    inserts: list[str] = []
    engine = make_engine(migrated_url)

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO MEMBER"):
            inserts.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with session_scope(migrated_url) as session:
            insert_rows(session, MEMBER, _members(bulk_id, n, "J"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with session_scope(migrated_url) as session:
        session.execute(insert(MEMBER), _members(plain_id, n, "Q"))

    bulk_rows = _read(migrated_url, bulk_id, "J")
    assert len(bulk_rows) == n
    assert bulk_rows == _read(migrated_url, plain_id, "Q")
    assert bulk_rows[1][_COLUMNS.index("attributes")]["note"] == "tab\there, back\\slash, \"quote\", ünïcödé"
    if migrated_url.startswith("postgresql"):
        assert inserts == [], "PostgreSQL should have taken COPY, not INSERT statements"
    else:
        assert inserts, "SQLite has no COPY: the rows go through an INSERT"


def test_a_python_side_default_not_given_falls_back_to_executemany(migrated_url: str) -> None:
    """MemberEvent.created_at has a Python default: rows without it still get one (COPY would not)."""
    with session_scope(migrated_url) as session:
        programme = Programme(name="Events")
        session.add(programme)
        session.flush()
        rows = [{"programme_id": programme.id, "kind": "created", "changes": {"a": [None, "b"]}, "actor": "import"}
                for _ in range(COPY_MIN_ROWS + 1)]
        insert_rows(session, EVENT, rows)
    with session_scope(migrated_url) as session:
        stamps = session.scalars(select(EVENT.c.created_at)).all()
        changes = session.scalars(select(EVENT.c.changes)).all()
    assert len(stamps) == COPY_MIN_ROWS + 1 and all(s is not None for s in stamps)
    assert changes == [{"a": [None, "b"]}] * (COPY_MIN_ROWS + 1)


@pytest.mark.parametrize("n", [0, 1])
def test_small_and_empty_batches(migrated_url: str, n: int) -> None:
    with session_scope(migrated_url) as session:
        programme = Programme(name=f"Small{n}")
        session.add(programme)
        session.flush()
        insert_rows(session, MEMBER, _members(programme.id, n, "S"))
        assert len(session.execute(select(MEMBER.c.id).where(MEMBER.c.programme_id == programme.id)).all()) == n


def test_plain_rows_by_a_long_list_are_never_planned_generically(postgres_url: str) -> None:
    """psycopg prepares a statement it has run five times on a connection, and PostgreSQL then plans it
    once for any values: for a look-up by a long ``IN`` list that plan tests each row against the list
    element by element (an import's id look-ups took a minute at 100,000 people). ``prepare=False`` plans
    each execution for its own list: the statement never becomes a prepared one, whereas by default it does."""
    from sqlalchemy import text

    from hrsync.store import upgrade
    from hrsync.store.bulk import plain_rows

    upgrade(postgres_url)
    with session_scope(postgres_url) as session:
        programme = Programme(name="Lists")
        session.add(programme)
        session.flush()
        insert_rows(session, MEMBER, _members(programme.id, COPY_MIN_ROWS + 20, "L"))
        wanted = [f"L{i:05d}" for i in range(0, COPY_MIN_ROWS, 3)]
        look_up = select(MEMBER.c.employee_id, MEMBER.c.id).where(
            MEMBER.c.programme_id == programme.id, MEMBER.c.employee_id.in_(wanted))

        def prepared() -> int:
            return int(session.scalar(text(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%employee_id IN%'")) or 0)

        for _ in range(8):
            assert {e for e, _id in plain_rows(session, look_up, prepare=False)} == set(wanted)
        assert prepared() == 0
        for _ in range(8):
            assert {e for e, _id in plain_rows(session, look_up)} == set(wanted)
        assert prepared() == 1  # the default, for contrast: this is what prepare=False avoids
