"""The daily close-down: leaver reminders on days 1, 30 and 53, deletion after 60 days, pre-hires."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.notify.helpers import MemberMaker, Seed, outbox_rows, utc

from hrsync.lifecycle.access import member_access
from hrsync.lifecycle.closedown import run_closedown
from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.store.models import AuthToken, Integration, Member, MemberEvent, OutboxEmail

LEFT = date(2025, 3, 1)  # day 1 of the window; day 30 = 30 March, day 53 = 22 April, day 60 = 29 April


def day(n: int) -> date:
    return LEFT + timedelta(days=n - 1)


def _reminder_days(factory: sessionmaker[Session]) -> list[int]:
    return [int(r.dedup_key.rsplit("day", 1)[1]) for r in outbox_rows(factory, kind="leaver_reminder")]


def _leaver(make_member: MemberMaker, **fields: object) -> int:
    return make_member(status="leaver", leaver_since=LEFT, email="leaver@acme.example", first_name="Lee", **fields)


def test_reminders_on_days_1_30_and_53_exactly_once_when_run_twice_a_day(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    _leaver(make_member)
    for n in range(1, 60):
        for _ in range(2):
            run_closedown(factory, today=day(n))
            send_due(factory, smtp_url=mail.url)
        if n in (1, 29, 30, 52, 53):
            assert len(_reminder_days(factory)) == {1: 1, 29: 1, 30: 2, 52: 2, 53: 3}[n], n

    assert _reminder_days(factory) == [1, 30, 53]
    received = mail.wait_for(3)
    assert len(received) == 3
    assert all(m.recipients == ("leaver@acme.example",) for m in received)
    assert all("29/04/2025" in m.subject for m in received)  # last day of access, programme format
    assert "60 days left" in received[0].text() and "8 days left" in received[2].text()  # today included


def test_missed_days_are_caught_up_once_not_skipped(factory: sessionmaker[Session], make_member: MemberMaker) -> None:
    _leaver(make_member)
    for n in (4, 5, 33, 57, 58):  # the job was down on days 1-3, 30-32 and 53-56
        run_closedown(factory, today=day(n))
    assert _reminder_days(factory) == [1, 30, 53]


def test_a_long_outage_sends_one_catch_up_not_a_burst(factory: sessionmaker[Session], make_member: MemberMaker) -> None:
    _leaver(make_member)
    run_closedown(factory, today=day(40))
    run_closedown(factory, today=day(41))
    assert _reminder_days(factory) == [30]


def test_personal_data_is_deleted_after_60_days_leaving_a_tombstone(
    factory: sessionmaker[Session], make_member: MemberMaker, seed: Seed
) -> None:
    member_id = _leaver(make_member, password_hash="x", source_id="uuid-1", attributes={"dob": "1990-01-01"})
    active_id = make_member(status="active")
    run_closedown(factory, today=day(1))  # a reminder is queued (and not sent)

    on_day_60 = run_closedown(factory, today=day(60))
    with factory() as s:
        member = s.get(Member, member_id)
        assert member is not None and member.status == "leaver"
        assert member_access(member, day(60)) == "limited"
    assert on_day_60["deleted"] == 0

    after = run_closedown(factory, today=day(61))
    again = run_closedown(factory, today=day(62))

    assert (after["deleted"], again["deleted"]) == (1, 0)
    with factory() as s:
        tomb = s.get(Member, member_id)
        assert tomb is not None and tomb.status == "deleted" and tomb.deleted_at is not None
        personal = (
            tomb.email,
            tomb.email_lower,
            tomb.first_name,
            tomb.last_name,
            tomb.employee_id,
            tomb.password_hash,
            tomb.source_id,
        )
        assert personal == (None,) * 7 and tomb.attributes == {}
        assert tomb.leaver_since == LEFT and tomb.access_until == day(61)  # history stays
        assert member_access(tomb, day(61)) == "none"
        events = s.scalars(select(MemberEvent).where(MemberEvent.member_id == member_id)).all()
        assert [e.kind for e in events] == ["deleted"]
        # counts stay true: both rows are still in the programme
        assert s.scalar(select(func.count()).select_from(Member).where(Member.programme_id == seed.programme_id)) == 2
        assert s.get(Member, active_id).status == "active"  # type: ignore[union-attr]
        assert s.scalar(select(AuthToken.id).where(AuthToken.member_id == member_id)) is None
        # days 1 and 53 (caught up on day 60) were queued, never sent: cancelled and scrubbed
        reminders = s.scalars(select(OutboxEmail).where(OutboxEmail.member_id == member_id)).all()
        assert len(reminders) == 2
        assert all(r.status == "failed" and r.to_address == "" and r.body_text == "" for r in reminders)


def test_a_returning_person_after_deletion_is_a_new_member(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    member_id = _leaver(make_member, employee_id="E42")
    run_closedown(factory, today=day(61))
    new_id = make_member(employee_id="E42", email="leaver@acme.example")  # unique keys are free again
    assert new_id != member_id


def test_reinstatement_within_the_window_stops_reminders_and_deletion(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    member_id = _leaver(make_member)
    run_closedown(factory, today=day(1))
    with factory.begin() as s:  # the sync runner reinstates the member on day 10
        member = s.get(Member, member_id)
        assert member is not None
        member.status = "active"
        assert member_access(member, day(10)) == "full"
    for n in range(10, 75, 3):
        run_closedown(factory, today=day(n))
    assert _reminder_days(factory) == [1]
    with factory() as s:
        member = s.get(Member, member_id)
        assert member is not None and member.status == "active" and member.email == "leaver@acme.example"


def test_leaving_again_later_starts_a_new_window_with_its_own_reminders(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    member_id = _leaver(make_member)
    run_closedown(factory, today=day(1))
    later = day(100)
    with factory.begin() as s:
        member = s.get(Member, member_id)
        assert member is not None
        member.leaver_since, member.access_until = later, later + timedelta(days=60)
    run_closedown(factory, today=later)
    assert len(outbox_rows(factory, kind="leaver_reminder")) == 2


def test_leaver_without_dates_gets_a_window_from_today(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    member_id = make_member(status="leaver")
    counts = run_closedown(factory, today=day(1))
    assert counts["access_until_set"] == 1 and counts["reminders_queued"] == 1
    with factory() as s:
        member = s.get(Member, member_id)
        assert member is not None and (member.leaver_since, member.access_until) == (day(1), day(61))


def test_pre_hire_is_invited_on_the_start_date_not_before(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    start = date(2025, 6, 2)
    member_id = make_member(status="pending", start_date=start, email="new@acme.example")

    before = run_closedown(factory, today=start - timedelta(days=1), now=utc(2025, 6, 1, 6))
    assert before["prehires_invited"] == 0 and outbox_rows(factory) == []

    on = run_closedown(factory, today=start, now=utc(2025, 6, 2, 6))
    again = run_closedown(factory, today=start, now=utc(2025, 6, 2, 18))
    assert (on["prehires_invited"], again["prehires_invited"]) == (1, 0)
    send_due(factory, smtp_url=mail.url, now=utc(2025, 6, 2, 7))
    [msg] = mail.wait_for(1)
    assert msg.recipients == ("new@acme.example",) and "/welcome/" in msg.text()
    with factory() as s:
        member = s.get(Member, member_id)
        assert member is not None and member.status == "invited"
        kinds = Counter(e.kind for e in s.scalars(select(MemberEvent).where(MemberEvent.member_id == member_id)))
        assert kinds == {"status_changed": 1}


def test_pre_hire_invitation_queued_ahead_by_the_importer_is_not_doubled(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    from hrsync.notify.outbox import queue_invitation
    from hrsync.store.models import Programme

    start = date(2025, 6, 2)
    member_id = make_member(status="pending", start_date=start)
    with factory.begin() as s:
        member = s.get(Member, member_id)
        programme = s.get(Programme, member.programme_id)  # type: ignore[union-attr]
        queue_invitation(s, member, programme, now=utc(2025, 5, 1))  # type: ignore[arg-type]
    run_closedown(factory, today=start)
    assert len(outbox_rows(factory, kind="invitation")) == 1


def test_pre_hire_without_welcome_emails_becomes_active_silently(
    factory: sessionmaker[Session], make_member: MemberMaker, seed: Seed
) -> None:
    with factory.begin() as s:
        s.get(Integration, seed.integration_id).welcome_email = False  # type: ignore[union-attr]
    member_id = make_member(status="pending", start_date=date(2025, 6, 2))
    counts = run_closedown(factory, today=date(2025, 6, 2))
    assert counts["prehires_activated"] == 1 and outbox_rows(factory) == []
    with factory() as s:
        assert s.get(Member, member_id).status == "active"  # type: ignore[union-attr]


def test_pre_hire_of_an_unpublished_integration_waits_and_gets_no_email(
    factory: sessionmaker[Session], make_member: MemberMaker, seed: Seed
) -> None:
    with factory.begin() as s:
        s.get(Integration, seed.integration_id).status = "paused"  # type: ignore[union-attr]
    member_id = make_member(status="pending", start_date=date(2025, 6, 2))
    counts = run_closedown(factory, today=date(2025, 6, 3))
    assert counts["prehires_waiting"] == 1 and outbox_rows(factory) == []
    with factory() as s:
        assert s.get(Member, member_id).status == "pending"  # type: ignore[union-attr]
    with factory.begin() as s:  # published again: invited on the next pass
        s.get(Integration, seed.integration_id).status = "live"  # type: ignore[union-attr]
    assert run_closedown(factory, today=date(2025, 6, 4))["prehires_invited"] == 1


def test_default_today_is_the_programmes_local_date(factory: sessionmaker[Session], make_member: MemberMaker) -> None:
    _leaver(make_member)  # London programme
    # 23:30 UTC on 29 April is already 30 April 00:30 in London (BST): day 61, deletion
    assert run_closedown(factory, now=utc(2025, 4, 29, 23, 30))["deleted"] == 1


def test_cli_closedown_reports_counts_and_is_idempotent(
    db_url: str, factory: sessionmaker[Session], make_member: MemberMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    from hrsync.cli.main import cli
    from hrsync.config import reset_settings_cache

    _leaver(make_member)
    monkeypatch.setenv("HRSYNC_DATABASE_URL", db_url)
    reset_settings_cache()
    runner = CliRunner()
    first = runner.invoke(cli, ["closedown", "--today", day(1).isoformat(), "--json"])
    second = runner.invoke(cli, ["closedown", "--today", day(1).isoformat(), "--json"])
    assert first.exit_code == 0, first.output
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert (one["reminders_queued"], two["reminders_queued"]) == (1, 0)
    assert one["outbox"]["skipped"] is not None  # no SMTP configured: queued, not lost
    assert len(outbox_rows(factory, kind="leaver_reminder", status="queued")) == 1
