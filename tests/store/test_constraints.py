"""The database itself refuses duplicates and a second active run, on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from hrsync.store import session_scope
from hrsync.store.models import ImportRun, Integration, Member, Programme, RunStatus


def _member(programme_id: int, employee_id: str | None, email: str | None, **extra: object) -> Member:
    return Member(programme_id=programme_id, employee_id=employee_id, email=email, status="active", **extra)


def test_employee_id_is_unique_within_a_programme(
    migrated_url: str, integration_ids: tuple[int, int]
) -> None:
    programme_id, _ = integration_ids
    with session_scope(migrated_url) as session:
        session.add(_member(programme_id, "E1", "one@example.com"))
    with pytest.raises(IntegrityError), session_scope(migrated_url) as session:
        session.add(_member(programme_id, "E1", "other@example.com"))


def test_the_same_employee_id_and_email_may_exist_in_another_programme(
    migrated_url: str, integration_ids: tuple[int, int]
) -> None:
    programme_id, _ = integration_ids
    with session_scope(migrated_url) as session:
        other = Programme(name="Other")
        session.add(other)
        session.flush()
        session.add_all(
            [_member(programme_id, "E1", "a@example.com"), _member(other.id, "E1", "a@example.com")]
        )
    with session_scope(migrated_url) as session:
        assert session.query(Member).count() == 2


def test_email_is_unique_within_a_programme_regardless_of_case(
    migrated_url: str, integration_ids: tuple[int, int]
) -> None:
    programme_id, _ = integration_ids
    with session_scope(migrated_url) as session:
        member = _member(programme_id, "E1", "Jane.Doe@Example.com")
        session.add(member)
    assert member.email_lower == "jane.doe@example.com"
    with pytest.raises(IntegrityError), session_scope(migrated_url) as session:
        session.add(_member(programme_id, "E2", "jane.doe@EXAMPLE.COM"))


def test_changing_an_email_keeps_email_lower_in_step(
    migrated_url: str, integration_ids: tuple[int, int]
) -> None:
    programme_id, _ = integration_ids
    with session_scope(migrated_url) as session:
        member = _member(programme_id, "E1", "Old@Example.com")
        session.add(member)
        session.flush()
        member.email = "New@Example.com"
    with session_scope(migrated_url) as session:
        stored = session.scalars(select(Member.email_lower)).one()
    assert stored == "new@example.com"


def test_tombstones_without_employee_id_or_email_may_repeat(
    migrated_url: str, integration_ids: tuple[int, int]
) -> None:
    programme_id, _ = integration_ids
    with session_scope(migrated_url) as session:
        session.add_all([Member(programme_id=programme_id, status="deleted") for _ in range(3)])
    with session_scope(migrated_url) as session:
        rows = session.scalars(select(Member).where(Member.status == "deleted")).all()
    assert len(rows) == 3
    assert all(row.employee_id is None and row.email_lower is None for row in rows)


def _run(programme_id: int, integration_id: int, status: RunStatus) -> ImportRun:
    return ImportRun(programme_id=programme_id, integration_id=integration_id, status=status.value)


@pytest.mark.parametrize("active", [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.HELD])
def test_a_second_active_run_of_one_integration_is_refused(
    migrated_url: str, integration_ids: tuple[int, int], active: RunStatus
) -> None:
    programme_id, integration_id = integration_ids
    with session_scope(migrated_url) as session:
        session.add(_run(programme_id, integration_id, active))
    with pytest.raises(IntegrityError), session_scope(migrated_url) as session:
        session.add(_run(programme_id, integration_id, RunStatus.QUEUED))


def test_finished_runs_do_not_block_a_new_one(migrated_url: str, integration_ids: tuple[int, int]) -> None:
    programme_id, integration_id = integration_ids
    finished = [s for s in RunStatus if s not in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.HELD)]
    with session_scope(migrated_url) as session:
        session.add_all([_run(programme_id, integration_id, status) for status in finished])
        session.add(_run(programme_id, integration_id, RunStatus.QUEUED))
    with session_scope(migrated_url) as session:
        run = session.scalars(select(ImportRun).where(ImportRun.status == "queued")).one()
        run.status = RunStatus.SUCCEEDED.value
    with session_scope(migrated_url) as session:
        session.add(_run(programme_id, integration_id, RunStatus.RUNNING))
    with session_scope(migrated_url) as session:
        assert session.query(ImportRun).count() == len(finished) + 2


def test_runs_of_different_integrations_do_not_block_each_other(
    migrated_url: str, integration_ids: tuple[int, int]
) -> None:
    programme_id, integration_id = integration_ids
    with session_scope(migrated_url) as session:
        second = Integration(programme_id=programme_id, settings={"subdomain": "acme2"})
        session.add(second)
        session.flush()
        session.add_all(
            [
                _run(programme_id, integration_id, RunStatus.RUNNING),
                _run(programme_id, second.id, RunStatus.RUNNING),
            ]
        )
    with session_scope(migrated_url) as session:
        assert session.query(ImportRun).count() == 2


def test_core_bulk_insert_fills_defaults_per_row(migrated_url: str, integration_ids: tuple[int, int]) -> None:
    programme_id, integration_id = integration_ids
    rows = [
        {
            "programme_id": programme_id,
            "integration_id": integration_id,
            "employee_id": f"E{n}",
            "email": f"Person.{n}@Example.com",
            "first_name": "Ann",
            "last_name": f"Lee{n}",
            "status": "active",
            "start_date": date(2024, 1, 1),
        }
        for n in range(500)
    ]
    with session_scope(migrated_url) as session:
        session.execute(insert(Member), rows)
    with session_scope(migrated_url) as session:
        members = session.scalars(select(Member).order_by(Member.id)).all()
    assert len(members) == 500
    assert members[7].email_lower == "person.7@example.com"
    assert all(m.attributes == {} for m in members)
    assert all(m.created_at.tzinfo is not None for m in members)
    assert members[0].created_at.utcoffset() == timedelta(0)


def test_integration_defaults(migrated_url: str, integration_ids: tuple[int, int]) -> None:
    _, integration_id = integration_ids
    with session_scope(migrated_url) as session:
        integration = session.get(Integration, integration_id)
        assert integration is not None
        assert (integration.kind, integration.status, integration.frequency) == (
            "intellihr",
            "draft",
            "manual",
        )
        assert integration.welcome_email is True
        assert integration.blanks_clear_values is False and integration.vanished_are_leavers is False
        assert integration.leaver_threshold_pct == 10.0
        assert integration.mapping == {} and integration.status_map == {}
        assert integration.owner is not None and integration.owner.email_lower == "admin@acme.example"


def test_timestamps_come_back_as_the_same_instant_in_utc(
    migrated_url: str, integration_ids: tuple[int, int]
) -> None:
    _, integration_id = integration_ids
    sydney_evening = datetime(2025, 3, 1, 21, 30, tzinfo=timezone(timedelta(hours=11)))
    with session_scope(migrated_url) as session:
        integration = session.get(Integration, integration_id)
        assert integration is not None
        integration.next_run_at = sydney_evening
    with session_scope(migrated_url) as session:
        stored = session.scalars(select(Integration.next_run_at)).one()
    assert stored == sydney_evening
    assert stored is not None and stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 10


def test_naive_timestamps_are_refused(migrated_url: str, integration_ids: tuple[int, int]) -> None:
    _, integration_id = integration_ids
    with pytest.raises(StatementError, match="naive datetime"), session_scope(migrated_url) as session:
        integration = session.get(Integration, integration_id)
        assert integration is not None
        integration.next_run_at = datetime(2025, 1, 1, 12, 0)  # naive on purpose
        session.flush()


def test_deleting_a_member_keeps_its_events(migrated_url: str, integration_ids: tuple[int, int]) -> None:
    from hrsync.store.models import MemberEvent

    programme_id, _ = integration_ids
    with session_scope(migrated_url) as session:
        member = _member(programme_id, "E1", "a@example.com")
        session.add(member)
        session.flush()
        session.add(
            MemberEvent(programme_id=programme_id, member_id=member.id, kind="created", actor="import")
        )
    with session_scope(migrated_url) as session:
        session.delete(session.scalars(select(Member)).one())
    with session_scope(migrated_url) as session:
        event = session.scalars(select(MemberEvent)).one()
    assert event.member_id is None and event.kind == "created"
    assert event.created_at <= datetime.now(UTC)
