"""The schema comes from the shipped migration, matches the models, and the engines are set up right."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from hrsync.store import current_revision, head_revision, make_engine, normalise_url, session_scope, upgrade
from hrsync.store.db import dispose_engines, schema_differences
from hrsync.store.models import Base, Programme

EXPECTED_TABLES = {
    "programme",
    "portal_session",
    "throttle_bucket",
    "admin_user",
    "integration",
    "member",
    "import_run",
    "import_issue",
    "member_event",
    "outbox_email",
    "activity_log",
    "api_token",
    "auth_token",
    "webhook_subscription",
    "webhook_hint",
    "scim_user",
}


def test_upgrade_from_empty_reaches_head_and_creates_every_table(db_url: str) -> None:
    assert current_revision(db_url) is None
    upgrade(db_url)
    assert current_revision(db_url) == head_revision() is not None
    tables = set(inspect(make_engine(db_url)).get_table_names())
    assert tables >= EXPECTED_TABLES
    assert set(Base.metadata.tables) == EXPECTED_TABLES


def test_migration_matches_the_models(migrated_url: str) -> None:
    assert schema_differences(migrated_url) == []


def test_schema_differences_notices_a_missing_table(migrated_url: str) -> None:
    with make_engine(migrated_url).begin() as connection:
        connection.execute(text("DROP TABLE activity_log"))
    differences = schema_differences(migrated_url)
    assert any(diff[0] == "add_table" and diff[1].name == "activity_log" for diff in differences)


def test_upgrade_twice_is_harmless(migrated_url: str) -> None:
    with session_scope(migrated_url) as session:
        session.add(Programme(name="Kept"))
    upgrade(migrated_url)
    with session_scope(migrated_url) as session:
        assert session.query(Programme).filter_by(name="Kept").count() == 1


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'hrsync.db'}"
    engine = make_engine(url)
    # Two distinct pooled connections: the pragmas must hold on each, not only the first.
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    assert (tmp_path / "nested" / "dir" / "hrsync.db").exists()


@pytest.mark.postgres
def test_postgresql_url_without_driver_uses_psycopg(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    assert engine.dialect.driver == "psycopg"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+psycopg://u:p@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_normalise_url_picks_psycopg_and_leaves_others_alone(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_the_migrations_are_one_numbered_line_and_the_head_is_alembics(db_url: str) -> None:
    """:func:`head_revision` and :func:`current_revision` read without Alembic; they hold only while every
    migration file is named by its revision and revises the one numbered before it, and agree with Alembic."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from hrsync.store.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = sorted(script.walk_revisions(), key=lambda r: r.revision)
    assert [r.revision for r in revisions] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    for revision in revisions:
        assert Path(revision.path).name.startswith(f"{revision.revision}_"), revision.path
        expected_down = None if revision.revision == "0001" else f"{int(revision.revision) - 1:04d}"
        assert revision.down_revision == expected_down, revision.revision
    assert head_revision() == script.get_current_head()
    for step in ("0003", "head"):  # the database's revision, read plainly, as Alembic reads it
        upgrade(db_url, step)
        with make_engine(db_url).connect() as connection:
            assert current_revision(db_url) == MigrationContext.configure(connection).get_current_revision()
    assert current_revision(db_url) == head_revision()


def test_one_engine_per_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert make_engine(url) is make_engine(url)
    assert make_engine(url) is not make_engine(f"sqlite:///{tmp_path / 'b.db'}")


def test_default_url_is_sqlite_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hrsync.config import reset_settings_cache

    monkeypatch.delenv("HRSYNC_DATABASE_URL", raising=False)
    monkeypatch.setenv("HRSYNC_DATA_DIR", str(tmp_path / "var"))
    reset_settings_cache()
    try:
        upgrade()
        assert (tmp_path / "var" / "hrsync.db").exists()
        assert current_revision() == head_revision()
    finally:
        reset_settings_cache()


def test_session_scope_rolls_back_when_the_block_raises(migrated_url: str) -> None:
    with pytest.raises(RuntimeError), session_scope(migrated_url) as session:
        session.add(Programme(name="Lost"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(migrated_url) as session:
        assert session.query(Programme).filter_by(name="Lost").count() == 0


def _upgrade_in_child(url: str) -> str | None:
    upgrade(url)
    return current_revision(url)


@pytest.mark.slow
def test_concurrent_upgrades_from_several_processes_all_succeed(db_url: str) -> None:
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(3) as pool:
        revisions = pool.map(_upgrade_in_child, [db_url] * 3)
    assert revisions == [head_revision()] * 3
    assert schema_differences(db_url) == []


def test_upgrading_a_0001_database_keeps_queued_mail_and_adds_the_claim_token(db_url: str) -> None:
    upgrade(db_url, "0001")  # a database of the previous release, with an e-mail waiting
    with make_engine(db_url).begin() as connection:
        connection.execute(text("INSERT INTO programme (name) VALUES ('Acme')"))
        connection.execute(text(
            "INSERT INTO outbox_email (programme_id, kind, to_address, subject, body_text, dedup_key, status) "
            "SELECT id, 'run_summary', 'a@acme.example', 's', 't', 'k1', 'sending' FROM programme"
        ))
    upgrade(db_url)
    assert current_revision(db_url) == head_revision() == "0016"
    assert schema_differences(db_url) == []
    with make_engine(db_url).connect() as connection:
        rows = connection.execute(text("SELECT dedup_key, status, claim_token FROM outbox_email")).all()
    assert [tuple(r) for r in rows] == [("k1", "sending", None)]  # an old claim: no token, its lease still lapses


def test_0011_gives_every_member_the_integration_that_imported_it_and_downgrades(db_url: str) -> None:
    """Today's members get an owner: the integration of the last import that wrote their history, else
    the programme's only integration; a member no import brought in becomes manual. Downgrade drops it."""
    from alembic import command

    from hrsync.store.db import alembic_config

    upgrade(db_url, "0010")
    with make_engine(db_url).begin() as c:
        run = c.execute
        run(text("INSERT INTO programme (id, name) VALUES (1, 'Two doors'), (2, 'One door'), (3, 'No door')"))
        run(text("INSERT INTO integration (id, programme_id, kind) VALUES (10, 1, 'intellihr'), "
                 "(11, 1, 'membership_file'), (20, 2, 'intellihr')"))
        run(text("INSERT INTO import_run (id, integration_id, programme_id, number) VALUES (100, 10, 1, 1), "
                 "(101, 11, 1, 1)"))
        run(text("INSERT INTO member (id, programme_id, integration_id, employee_id, status) VALUES "
                 "(1, 1, NULL, 'HR1', 'active'), (2, 1, NULL, 'FILE1', 'active'), (3, 1, NULL, 'HAND', 'active'), "
                 "(4, 2, NULL, 'ONLY', 'active'), (5, 3, NULL, 'NONE', 'active'), (6, 1, 11, 'SET', 'active')"))
        run(text("INSERT INTO member_event (programme_id, member_id, run_id, kind) VALUES "
                 "(1, 1, 100, 'created'), (1, 2, 100, 'created'), (1, 2, 101, 'updated'), (1, 3, NULL, 'edited')"))
    upgrade(db_url, "0011")
    with make_engine(db_url).connect() as c:
        rows = {r[0]: (r[1], r[2]) for r in c.execute(text("SELECT id, door, integration_id FROM member"))}
    assert rows == {
        1: ("integration", 10), 2: ("integration", 11),  # the last import that wrote each
        3: ("manual", None),  # two integrations, no import wrote it
        4: ("integration", 20),  # the programme's only integration
        5: ("manual", None), 6: ("integration", 11),
    }
    command.downgrade(alembic_config(db_url), "0010")
    assert current_revision(db_url) == "0010"
    with make_engine(db_url).connect() as c:
        columns = {col["name"] for col in inspect(c).get_columns("member")}
        kept = dict(c.execute(text("SELECT id, integration_id FROM member WHERE id IN (1, 4)")).all())
    assert "door" not in columns and kept == {1: 10, 4: 20}
    upgrade(db_url)
    assert schema_differences(db_url) == []


def test_0012_folds_each_kinds_settings_into_settings_and_one_secret_and_downgrades(db_url: str) -> None:
    """intelliHR's subdomain and every other kind's source settings become ``settings``; the encrypted key
    becomes the one ``secret`` unchanged (the keyring still reads it); the downgrade puts them back."""
    from alembic import command

    from hrsync.store.db import alembic_config

    upgrade(db_url, "0011")
    with make_engine(db_url).begin() as c:
        c.execute(text("INSERT INTO programme (id, name) VALUES (1, 'Acme')"))
        c.execute(text(
            "INSERT INTO integration (id, programme_id, kind, subdomain, api_key_encrypted, api_key_last4, "
            "source_settings) VALUES (1, 1, 'intellihr', 'acme', 'gAAAA-cipher', '1234', NULL), "
            "(2, 1, 'membership_file', NULL, NULL, NULL, :file), (3, 1, 'intellihr', NULL, NULL, NULL, NULL)"),
            {"file": '{"path": "/srv/sftp/acme", "status_column": "State"}'})
    upgrade(db_url, "0012")  # the models are at head (0015): the schema is compared after the last upgrade
    with make_engine(db_url).connect() as c:
        rows = {r[0]: tuple(r[1:]) for r in c.execute(text(
            "SELECT id, settings, secret_encrypted, secret_last4 FROM integration ORDER BY id"))}
    import json

    def loaded(value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    assert {k: (loaded(v[0]), v[1], v[2]) for k, v in rows.items()} == {
        1: ({"subdomain": "acme"}, "gAAAA-cipher", "1234"),
        2: ({"path": "/srv/sftp/acme", "status_column": "State"}, None, None),
        3: (None, None, None),
    }
    command.downgrade(alembic_config(db_url), "0011")
    assert current_revision(db_url) == "0011"
    with make_engine(db_url).connect() as c:
        columns = {col["name"] for col in inspect(c).get_columns("integration")}
        back = {r[0]: (r[1], r[2], r[3], loaded(r[4])) for r in c.execute(text(
            "SELECT id, subdomain, api_key_encrypted, api_key_last4, source_settings FROM integration ORDER BY id"))}
    assert not {"settings", "secret_encrypted", "secret_last4"} & columns
    assert back == {1: ("acme", "gAAAA-cipher", "1234", None),
                    2: (None, None, None, {"path": "/srv/sftp/acme", "status_column": "State"}),
                    3: (None, None, None, None)}
    upgrade(db_url)
    assert schema_differences(db_url) == []


def test_0013_adds_the_scim_user_table_and_downgrades(db_url: str) -> None:
    """A SCIM client's names for the members it created: userName unique per integration, ignoring case
    (the lower-cased key); the downgrade drops the table and keeps the members."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from hrsync.store.db import alembic_config

    upgrade(db_url, "0013")
    with make_engine(db_url).begin() as c:
        c.execute(text("INSERT INTO programme (id, name) VALUES (1, 'P')"))
        c.execute(text("INSERT INTO integration (id, programme_id, kind) VALUES (10, 1, 'scim')"))
        c.execute(text("INSERT INTO member (id, programme_id, integration_id, employee_id, status) VALUES "
                       "(1, 1, 10, 'E1', 'active'), (2, 1, 10, 'E2', 'active')"))
        c.execute(text("INSERT INTO scim_user (member_id, integration_id, user_name, user_name_key) "
                       "VALUES (1, 10, 'Ann@X', 'ann@x')"))
    with pytest.raises(IntegrityError), make_engine(db_url).begin() as c:
        c.execute(text("INSERT INTO scim_user (member_id, integration_id, user_name, user_name_key) "
                       "VALUES (2, 10, 'ANN@x', 'ann@x')"))
    command.downgrade(alembic_config(db_url), "0012")
    with make_engine(db_url).connect() as c:
        assert "scim_user" not in inspect(c).get_table_names()
        assert c.execute(text("SELECT COUNT(*) FROM member")).scalar() == 2
    upgrade(db_url)
    assert schema_differences(db_url) == []


def test_0014_adds_the_push_summary_columns_and_downgrades(db_url: str) -> None:
    """When a SCIM integration's summary e-mail was last sent, and the hour it covered: added empty to
    existing integrations, dropped by the downgrade with the integrations kept."""
    from alembic import command

    from hrsync.store.db import alembic_config

    upgrade(db_url, "0013")
    with make_engine(db_url).begin() as c:
        c.execute(text("INSERT INTO programme (id, name) VALUES (1, 'P')"))
        c.execute(text("INSERT INTO integration (id, programme_id, kind) VALUES (10, 1, 'scim')"))
    upgrade(db_url, "0014")
    with make_engine(db_url).connect() as c:
        assert c.execute(text("SELECT summary_sent_at, summary_until FROM integration")).one() == (None, None)
    command.downgrade(alembic_config(db_url), "0013")
    with make_engine(db_url).connect() as c:
        columns = {col["name"] for col in inspect(c).get_columns("integration")}
        assert not {"summary_sent_at", "summary_until"} & columns
        assert c.execute(text("SELECT COUNT(*) FROM integration")).scalar() == 1
    upgrade(db_url)
    assert schema_differences(db_url) == []


def test_migrations_that_rebuild_a_table_keep_every_row_that_refers_to_it(db_url: str) -> None:
    """SQLite alters ``integration`` by rebuilding it; with foreign keys on, the rebuild's DROP would delete
    every import run (ON DELETE CASCADE) and detach every member (SET NULL). An upgrade through 0012 and a
    downgrade to 0005 and back keep the history, the members' owners and the runs' issues."""
    from alembic import command

    from hrsync.store.db import alembic_config

    upgrade(db_url, "0011")
    with make_engine(db_url).begin() as c:
        c.execute(text("INSERT INTO programme (id, name) VALUES (1, 'Acme')"))
        c.execute(text("INSERT INTO integration (id, programme_id, kind, status, subdomain) "
                       "VALUES (1, 1, 'intellihr', 'live', 'acme')"))
        c.execute(text("INSERT INTO import_run (id, integration_id, programme_id, trigger, status, phase) "
                       "VALUES (1, 1, 1, 'cli', 'succeeded', 'done'), (2, 1, 1, 'schedule', 'held', 'done')"))
        c.execute(text("INSERT INTO import_issue (id, run_id, severity, code, message) "
                       "VALUES (1, 1, 'warning', 'invalid_phone', 'x')"))
        c.execute(text("INSERT INTO member (id, programme_id, integration_id, employee_id, status, door) "
                       "VALUES (1, 1, 1, 'E1', 'active', 'integration')"))

    def kept() -> tuple[int, int, list[int | None]]:
        with make_engine(db_url).connect() as c:
            runs = c.execute(text("SELECT count(*) FROM import_run")).scalar_one()
            issues = c.execute(text("SELECT count(*) FROM import_issue")).scalar_one()
            owners = list(c.execute(text("SELECT integration_id FROM member ORDER BY id")).scalars())
        return runs, issues, owners

    upgrade(db_url)
    assert kept() == (2, 1, [1])
    dispose_engines()
    command.downgrade(alembic_config(db_url), "0005")
    upgrade(db_url)
    assert kept() == (2, 1, [1])
    if db_url.startswith("sqlite"):
        with make_engine(db_url).connect() as c:  # the pooled connection has its foreign keys back
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
