"""The members search expression is case-insensitive and, on PostgreSQL, served by its trigram index."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text

from hrsync.store import make_engine, session_scope
from hrsync.store.models import Member, member_search_condition


def _seed(url: str, programme_id: int) -> None:
    rows = [
        {"programme_id": programme_id, "employee_id": "E1", "email": "Jane.Doe@Example.com",
         "first_name": "Jane", "last_name": "DOE", "status": "active"},
        {"programme_id": programme_id, "employee_id": "E2", "email": "sam@example.com",
         "first_name": "Sam", "last_name": "Smith", "status": "leaver"},
        {"programme_id": programme_id, "employee_id": "X-77", "email": "zoë@example.com",
         "first_name": None, "last_name": "Ng", "status": "pending"},
    ]  # fmt: skip
    with session_scope(url) as session:
        session.execute(insert(Member), rows)


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("doe", {"E1"}),
        ("JANE", {"E1"}),
        (" Smith ", {"E2"}),
        ("x-7", {"X-77"}),
        ("example.com", {"E1", "E2", "X-77"}),
        ("j%e", set()),  # wildcards in the term match themselves
        ("_", set()),
    ],
)
def test_search_matches_names_email_and_employee_id_ignoring_case(
    migrated_url: str, integration_ids: tuple[int, int], term: str, expected: set[str]
) -> None:
    programme_id, _ = integration_ids
    _seed(migrated_url, programme_id)
    with session_scope(migrated_url) as session:
        found = session.scalars(
            select(Member.employee_id).where(
                Member.programme_id == programme_id, member_search_condition(term)
            )
        ).all()
    assert set(found) == expected


@pytest.mark.postgres
def test_postgresql_search_can_use_the_trigram_index(postgres_url: str) -> None:
    from hrsync.store import upgrade

    upgrade(postgres_url)
    query = select(Member.id).where(member_search_condition("Doe"))
    with make_engine(postgres_url).connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_member_search_trgm" in plan
