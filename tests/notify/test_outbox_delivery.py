"""The outbox against a real SMTP server (aiosmtpd on loopback) and a real SQLite file."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hrsync.notify.catcher import MailCatcher, read_caught
from hrsync.notify.delivery import MAX_ATTEMPTS, SENDING_LEASE, _claim, outbox_backlog, send_due
from hrsync.notify.outbox import queue_email, queue_invitation
from hrsync.store.models import AuthToken, Member, OutboxEmail, Programme
from hrsync.store.types import utcnow

from .helpers import PROGRAMME_NAME, MemberMaker, Seed, free_port, outbox_rows, refusing_server, utc

TOKEN_LINK = re.compile(r"http://portal\.test/welcome/([A-Za-z0-9_\-]{40,})")


def _invite(factory: sessionmaker[Session], member_id: int, **kw: object) -> OutboxEmail | None:
    with factory.begin() as s:
        member = s.get(Member, member_id)
        assert member is not None
        programme = s.get(Programme, member.programme_id)
        assert programme is not None
        return queue_invitation(s, member, programme, **kw)  # type: ignore[arg-type]


def _queue_plain(factory: sessionmaker[Session], seed: Seed, key: str, to: str = "x@acme.example") -> None:
    with factory.begin() as s:
        queue_email(
            s,
            programme_id=seed.programme_id,
            kind="run_summary",
            to=to,
            subject=f"s {key}",
            text=f"t {key}",
            html=f"<p>{key}</p>",
            dedup_key=key,
        )


def test_invitation_is_multipart_names_the_programme_and_links_to_set_a_password(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    member_id = make_member(first_name="Zoë", email="zoe@acme.example")
    assert _invite(factory, member_id) is not None

    report = send_due(factory, smtp_url=mail.url)

    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
    [msg] = mail.wait_for(1)
    assert msg.recipients == ("zoe@acme.example",)
    assert PROGRAMME_NAME in msg.subject
    assert msg.message.get_content_type() == "multipart/alternative"
    assert "Zoë" in msg.text() and PROGRAMME_NAME in msg.html()
    match = TOKEN_LINK.search(msg.text())
    assert match is not None, msg.text()
    with factory() as s:  # only the hash is stored, and the sent copy no longer holds the link
        token = s.scalar(select(AuthToken).where(AuthToken.member_id == member_id))
        assert token is not None and token.purpose == "invitation" and match.group(1) not in token.token_hash
        row = s.scalar(select(OutboxEmail).where(OutboxEmail.member_id == member_id))
        assert row is not None and row.status == "sent" and row.attempts == 1 and row.sent_at is not None
        assert match.group(1) not in row.body_text and match.group(1) not in (row.body_html or "")
        invited = s.get(Member, member_id)
        assert invited is not None and invited.invited_at is not None
    # the demo catcher also wrote the message where the portal can list it
    [listed] = read_caught(mail.folder)  # type: ignore[arg-type]
    assert listed.subject == msg.subject


def test_one_message_per_member_across_a_retried_import_and_a_restarted_sender(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    member_id = make_member()
    assert _invite(factory, member_id) is not None
    assert _invite(factory, member_id) is None  # the retried import finds the first invitation

    first = send_due(factory, smtp_url=mail.url)
    second = send_due(factory, smtp_url=mail.url)  # a restarted sender

    assert (first.sent, second.sent, second.claimed) == (1, 0, 0)
    assert len(mail.wait_for(1)) == 1
    with factory() as s:
        assert s.scalar(select(AuthToken.id).where(AuthToken.member_id == member_id)) is not None
        assert len(s.scalars(select(AuthToken).where(AuthToken.member_id == member_id)).all()) == 1
    assert _invite(factory, member_id) is None  # sent already: still nothing new


def test_resend_makes_a_new_invitation_only_after_the_first_went_out(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    member_id = make_member()
    assert _invite(factory, member_id) is not None
    assert _invite(factory, member_id, resend=True) is None  # the first one is still queued
    send_due(factory, smtp_url=mail.url)
    again = _invite(factory, member_id, resend=True)
    assert again is not None and again.dedup_key == f"invitation:{member_id}:2"
    send_due(factory, smtp_url=mail.url)
    assert len(mail.wait_for(2)) == 2


def test_a_sender_that_died_mid_claim_is_taken_over_after_its_lease_once(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher
) -> None:
    _queue_plain(factory, seed, "k1")
    t0 = utcnow()
    with factory.begin() as s:  # a sender claims, then its process dies before sending
        assert len(_claim(s, t0, 10, "dead-sender", SENDING_LEASE)) == 1

    during = send_due(factory, smtp_url=mail.url, now=t0 + timedelta(minutes=1))
    after = send_due(factory, smtp_url=mail.url, now=t0 + SENDING_LEASE + timedelta(seconds=1))
    later = send_due(factory, smtp_url=mail.url, now=t0 + SENDING_LEASE * 3)

    assert (during.claimed, after.sent, later.claimed) == (0, 1, 0)
    assert len(mail.wait_for(1)) == 1


def test_server_down_keeps_rows_queued_with_back_off_then_delivers_when_up(
    factory: sessionmaker[Session], seed: Seed, tmp_path: object
) -> None:
    port = free_port()  # nothing listens here yet
    for i in range(3):
        _queue_plain(factory, seed, f"k{i}")
    t0 = utc(2025, 4, 1, 9, 0)

    down = send_due(factory, smtp_url=f"smtp://127.0.0.1:{port}?timeout=2", now=t0)

    assert (down.sent, down.failed, down.retrying) == (0, 0, 3)
    assert down.last_error is not None and "unreachable" in down.last_error
    rows = outbox_rows(factory)
    assert {r.status for r in rows} == {"queued"}
    assert {r.attempts for r in rows} == {1}
    assert all(r.next_attempt_at == t0 + timedelta(minutes=1) for r in rows)

    again = send_due(factory, smtp_url=f"smtp://127.0.0.1:{port}", now=t0 + timedelta(minutes=2))
    rows = outbox_rows(factory)
    assert again.retrying == 3 and {r.attempts for r in rows} == {2}
    assert all(r.next_attempt_at == t0 + timedelta(minutes=4) for r in rows)  # doubled

    with MailCatcher("127.0.0.1", port) as mail:
        too_early = send_due(factory, smtp_url=mail.url, now=t0 + timedelta(minutes=3))
        up = send_due(factory, smtp_url=mail.url, now=t0 + timedelta(minutes=4))
        assert (too_early.claimed, up.sent) == (0, 3)
        assert len(mail.wait_for(3)) == 3
    assert {r.status for r in outbox_rows(factory)} == {"sent"}


def test_server_down_never_gives_up(factory: sessionmaker[Session], seed: Seed) -> None:
    port = free_port()
    _queue_plain(factory, seed, "k")
    now = utc(2025, 4, 1, 9, 0)
    for _ in range(MAX_ATTEMPTS + 3):
        send_due(factory, smtp_url=f"smtp://127.0.0.1:{port}", now=now)
        now += timedelta(days=1)
    [row] = outbox_rows(factory)
    assert row.status == "queued" and row.attempts == MAX_ATTEMPTS + 3


def test_no_smtp_configured_leaves_rows_queued_without_raising(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    _queue_plain(factory, seed, "k")
    report = send_due(factory)  # HRSYNC_SMTP_URL is unset in tests
    assert report.skipped is not None and "not configured" in report.skipped
    assert report.still_queued == 1
    [row] = outbox_rows(factory)
    assert (row.status, row.attempts, row.last_error) == ("queued", 0, None)

    bad = send_due(factory, smtp_url="http://nope")
    assert bad.skipped is not None and "invalid" in bad.skipped
    assert outbox_rows(factory)[0].status == "queued"


def test_configured_by_environment(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hrsync.config import reset_settings_cache

    monkeypatch.setenv("HRSYNC_SMTP_URL", mail.url)
    monkeypatch.setenv("HRSYNC_MAIL_FROM", "Acme Perks <perks@acme.example>")
    reset_settings_cache()
    _queue_plain(factory, seed, "k")
    assert send_due(factory).sent == 1
    [msg] = mail.wait_for(1)
    assert msg.mail_from == "perks@acme.example"


def test_temporary_refusals_back_off_then_give_up_as_failed(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    port = free_port()
    controller, received = refusing_server(port, "451 4.3.0 try again later")
    try:
        _queue_plain(factory, seed, "k")
        now = utc(2025, 4, 1, 9, 0)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report = send_due(factory, smtp_url=f"smtp://127.0.0.1:{port}", now=now)
            [row] = outbox_rows(factory)
            assert row.attempts == attempt
            if attempt < MAX_ATTEMPTS:
                assert report.retrying == 1 and row.status == "queued"
                assert row.next_attempt_at is not None and row.next_attempt_at > now
                assert "451" in (row.last_error or "")
                now = row.next_attempt_at
        assert report.failed == 1 and row.status == "failed"
        assert (
            send_due(factory, smtp_url=f"smtp://127.0.0.1:{port}", now=now + timedelta(days=9)).claimed == 0
        )
        assert received == []
    finally:
        controller.stop()


def test_permanent_refusal_fails_at_once_and_the_rest_still_go(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    port = free_port()
    controller, _ = refusing_server(port, "550 5.1.1 no such user")
    try:
        _queue_plain(factory, seed, "k1", to="gone@acme.example")
        _queue_plain(factory, seed, "k2", to="gone2@acme.example")
        report = send_due(factory, smtp_url=f"smtp://127.0.0.1:{port}")
        assert (report.failed, report.retrying, report.sent) == (2, 0, 0)
        assert {r.status for r in outbox_rows(factory)} == {"failed"}
        assert all(r.attempts == 1 for r in outbox_rows(factory))
    finally:
        controller.stop()


def test_smtp_login_with_percent_encoded_password_and_no_password_in_errors(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(envelope.original_content)  # type: ignore[attr-defined]
            return "250 OK"

    def authenticator(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"p@ss:word")
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        Sink(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        _queue_plain(factory, seed, "k1")
        wrong = send_due(factory, smtp_url=f"smtp://mailer:not-the-p4ss@127.0.0.1:{port}")
        assert wrong.sent == 0 and wrong.retrying == 1
        assert "not-the-p4ss" not in (wrong.last_error or "")
        assert "not-the-p4ss" not in (outbox_rows(factory)[0].last_error or "")
        right = send_due(
            factory,
            smtp_url=f"smtp://mailer:p%40ss%3Aword@127.0.0.1:{port}",
            now=utcnow() + timedelta(hours=1),
        )
        assert right.sent == 1 and len(received) == 1
    finally:
        controller.stop()


def test_pre_hire_invitation_waits_for_the_start_date(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    start = date(2031, 7, 1)
    # an invited member whose start date is still ahead (the status an invitation is sent to)
    member_id = make_member(status="invited", start_date=start)
    row = _invite(factory, member_id, now=utc(2031, 6, 1, 12))
    assert row is not None
    # 08:00 in London (BST) on the start date
    assert row.send_after == utc(2031, 7, 1, 7, 0)

    before = send_due(factory, smtp_url=mail.url, now=utc(2031, 6, 30, 23, 0))
    on_the_day = send_due(factory, smtp_url=mail.url, now=utc(2031, 7, 1, 7, 30))

    assert (before.claimed, on_the_day.sent) == (0, 1)
    assert len(mail.wait_for(1)) == 1
    with factory() as s:
        token = s.scalar(select(AuthToken).where(AuthToken.member_id == member_id))
        assert token is not None and token.expires_at > utc(2031, 7, 14)  # valid from the send date


def test_backlog_reports_what_is_waiting_and_why(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher
) -> None:
    t0 = utc(2025, 4, 1, 9, 0)
    _queue_plain(factory, seed, "due")
    with factory.begin() as s:
        queue_email(
            s,
            programme_id=seed.programme_id,
            kind="invitation",
            to="later@acme.example",
            subject="s",
            text="t",
            html=None,
            dedup_key="later",
            send_after=t0 + timedelta(days=3),
        )
    with factory() as s:
        backlog = outbox_backlog(s, now=t0)
    assert backlog["by_status"]["queued"] == 2
    assert (backlog["due_now"], backlog["waiting"]) == (1, 1)
    assert backlog["next_attempt_at"].startswith("2025-04-04")

    send_due(factory, smtp_url=mail.url, now=t0)
    with factory() as s:
        backlog = outbox_backlog(s, now=t0, programme_id=seed.programme_id)
    assert backlog["by_status"] == {"queued": 1, "sending": 0, "sent": 1, "failed": 0}
    assert backlog["due_now"] == 0


def test_rolled_back_transaction_leaves_no_email(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    member_id = make_member()
    with factory() as s:
        member = s.get(Member, member_id)
        programme = s.get(Programme, member.programme_id)  # type: ignore[union-attr]
        assert queue_invitation(s, member, programme) is not None  # type: ignore[arg-type]
        s.rollback()  # the import failed after queueing
    assert outbox_rows(factory) == []
    with factory() as s:
        assert s.scalar(select(AuthToken.id)) is None


def test_queueing_does_not_break_the_callers_transaction_on_duplicates(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    with factory.begin() as s:
        first = queue_email(
            s,
            programme_id=seed.programme_id,
            kind="k",
            to="a@b.test",
            subject="s",
            text="t",
            html=None,
            dedup_key="same",
        )
        second = queue_email(
            s,
            programme_id=seed.programme_id,
            kind="k",
            to="a@b.test",
            subject="s",
            text="t",
            html=None,
            dedup_key="same",
        )
        s.execute(update(Programme).values(name="Renamed"))  # the caller's transaction goes on
    assert first is not None and second is None
    with factory() as s:
        assert s.scalar(select(Programme.name)) == "Renamed"
    assert len(outbox_rows(factory)) == 1
