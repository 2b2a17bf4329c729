"""The members search folds case and accents for every script, alike on SQLite and PostgreSQL, through
the keys every write keeps (Core insert, ORM insert and update, an import's bulk update, the
migration that filled them); on PostgreSQL it is served by its trigram index."""

from __future__ import annotations

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select, text, update

from hrsync.domain.search import fold, fold_in_full, search_words
from hrsync.services.queries import MemberFilter, members_page
from hrsync.store import make_engine, session_scope, upgrade
from hrsync.store.db import alembic_config
from hrsync.store.member_keys import refresh_member_keys
from hrsync.store.models import Member, member_search_condition

CASES = [
    ("doe", {"E1"}),
    ("JANE", {"E1"}),
    (" Smith ", {"E2"}),
    ("x-7", {"X-77"}),
    ("example.com", {"E1", "E2", "X-77", "E4", "E5", "E6", "E7", "E8"}),
    ("j%e", set()),  # wildcards in the term match themselves
    ("_", set()),
    ("ZOË", {"X-77"}),
    ("Élodie", {"E4"}), ("elodie", {"E4"}), ("LEFÈVRE", {"E4"}), ("Lefevre Elodie", {"E4"}),
    ("Łukasz", {"E5"}), ("lukasz", {"E5"}), ("ŁUKASZ WAŁĘSA", {"E5"}),
    ("Ångström", {"E6"}), ("angstrom", {"E6"}),
    ("Σοφία", {"E7"}), ("ΣΟΦΙΑ", {"E7"}), ("σοφια", {"E7"}), ("Παπαδοπούλου", {"E7"}),
    ("Brown, Amelia", {"E8"}), ("amelia brown", {"E8"}), ("Brown, Millie", {"E8"}),  # preferred name too
    ("Brown, Sam", set()),
]


def _seed(url: str, programme_id: int) -> None:
    rows = [
        {"programme_id": programme_id, "employee_id": "E1", "email": "Jane.Doe@Example.com",
         "first_name": "Jane", "last_name": "DOE", "status": "active"},
        {"programme_id": programme_id, "employee_id": "E2", "email": "sam@example.com",
         "first_name": "Sam", "last_name": "Smith", "status": "leaver"},
        {"programme_id": programme_id, "employee_id": "X-77", "email": "zoë@example.com",
         "first_name": None, "last_name": "Ng", "status": "pending"},
        {"programme_id": programme_id, "employee_id": "E4", "email": "e4@example.com",
         "first_name": "Élodie", "last_name": "Lefèvre", "status": "invited"},
    ]  # fmt: skip
    with session_scope(url) as session:
        session.execute(insert(Member), rows)  # Core insert: the columns' defaults make the keys
        session.add_all([  # ORM inserts: the model's listener makes them
            Member(programme_id=programme_id, employee_id="E5", email="e5@example.com", first_name="Łukasz",
                   last_name="Wałęsa", status="active"),
            Member(programme_id=programme_id, employee_id="E6", email="e6@example.com", first_name="Anders",
                   last_name="Ångström", status="active"),
            Member(programme_id=programme_id, employee_id="E7", email="e7@example.com", first_name="Σοφία",
                   last_name="Παπαδοπούλου", status="active"),
            Member(programme_id=programme_id, employee_id="E8", email="e8@example.com", first_name="Amelia",
                   last_name="Smith", status="active"),
        ])
    with session_scope(url) as session:
        # An ORM edit of the name, and an import's bulk update followed by the writer's refresh.
        member = session.scalars(select(Member).where(Member.employee_id == "E8")).one()
        member.last_name = "Brown"
        session.flush()
        session.execute(update(Member), [{"id": member.id, "attributes": {"preferred_name": "Millie"}}])
        refresh_member_keys(session, [member.id])


def _found(url: str, programme_id: int, term: str) -> set[str]:
    with session_scope(url) as session:
        return set(session.scalars(select(Member.employee_id).where(
            Member.programme_id == programme_id, member_search_condition(term))).all())


def test_fold_and_words() -> None:
    assert fold("  Élodie  LEFÈVRE ") == "elodie lefevre"
    assert fold("Łukasz Øster Đorđe Straße Æsa Þór İlkay") == "lukasz oster dorde strasse aesa thor ilkay"
    assert fold("ΣΟΦΊΑ") == fold("σοφίας"[:-1]) == "σοφια"
    assert search_words("Brown,  Amelia brown") == ["brown", "amelia"]
    assert search_words(" , ") == []


@given(st.text(st.characters(max_codepoint=0x7F)) | st.text())
def test_the_ascii_shortcut_folds_as_the_full_rule(text: str) -> None:
    """Stored keys depend on :func:`fold`: its ASCII shortcut must give exactly what the full rule gives
    (control characters and every kind of ASCII space included)."""
    assert fold(text) == fold_in_full(text)


def test_search_folds_every_script_on_both_databases(migrated_url: str, integration_ids: tuple[int, int]) -> None:
    programme_id, _ = integration_ids
    _seed(migrated_url, programme_id)
    wrong = {term: (got, expected) for term, expected in CASES
             if (got := _found(migrated_url, programme_id, term)) != expected}
    assert not wrong
    with session_scope(migrated_url) as session:
        assert _found(migrated_url, programme_id, "") == {"E1", "E2", "X-77", "E4", "E5", "E6", "E7", "E8"}
        # The list's order is the shown name's ("Family, Given"), folded: Ångström among the As.
        order = session.scalars(select(Member.employee_id).where(Member.programme_id == programme_id)
                                .order_by(Member.sort_key, Member.id)).all()
    assert order == ["E6", "E8", "E1", "E4", "X-77", "E2", "E5", "E7"]
    with session_scope(migrated_url) as session:  # what the members page and GET /api/v1/members call
        found = members_page(session, programme_id, MemberFilter.of("  Brown, Amelia ", None))
        assert [m.employee_id for m in found.items] == ["E8"] and found.total == 1
        listed = [m.employee_id for m in members_page(session, programme_id).items]
    assert listed == order


def test_the_migration_fills_the_keys_of_existing_members(db_url: str, integration_ids: tuple[int, int]) -> None:
    programme_id, _ = integration_ids
    command.downgrade(alembic_config(db_url), "0015")  # 0016's downgrade, then its upgrade over old rows
    with make_engine(db_url).begin() as connection:
        connection.execute(text("DELETE FROM member"))
        connection.execute(text(
            "INSERT INTO member (programme_id, door, employee_id, email, email_lower, first_name, last_name, "
            "attributes, status) VALUES (:p, 'integration', 'OLD1', 'o@example.com', 'o@example.com', 'Élodie', "
            "'Lefèvre', '{\"preferred_name\": \"Lodie\"}', 'invited')"), {"p": programme_id})
    upgrade(db_url)
    assert _found(db_url, programme_id, "ÉLODIE") == {"OLD1"}
    assert _found(db_url, programme_id, "Lefèvre, Lodie") == {"OLD1"}


@pytest.mark.postgres
def test_postgresql_search_can_use_the_trigram_index(postgres_url: str) -> None:
    upgrade(postgres_url)
    query = select(Member.id).where(member_search_condition("Doe"))
    with make_engine(postgres_url).connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_member_search_trgm" in plan
