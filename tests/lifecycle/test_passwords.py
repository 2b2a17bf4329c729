"""Password set-up and reset through single-use, expiring links (members and administrators)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.notify.helpers import MemberMaker, Seed, outbox_rows

from hrsync.lifecycle.passwords import (
    WeakPasswordError,
    consume_token,
    find_token,
    request_password_reset,
    set_admin_password,
    set_member_password,
)
from hrsync.lifecycle.tokens import TokenPurpose
from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.notify.outbox import queue_admin_invite, queue_invitation
from hrsync.security.passwords import verify_password
from hrsync.store.models import AdminUser, AuthToken, Member, MemberEvent, Programme
from hrsync.store.types import utcnow

LINK = re.compile(r"http://portal\.test(/[a-z\-/]+/)([A-Za-z0-9_\-]{40,})")
GOOD = "correct horse battery"


def _link(mail: MailCatcher, index: int = -1) -> tuple[str, str]:
    match = LINK.search(mail.messages[index].text())
    assert match is not None
    return match.group(1), match.group(2)


def _reset(factory: sessionmaker[Session], email: str, kind: str = "member") -> object:
    with factory.begin() as s:
        return request_password_reset(s, email, kind)  # type: ignore[arg-type]


def test_unknown_and_known_addresses_get_the_same_answer(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    make_member(email="Known@Acme.example", status="active")
    unknown = _reset(factory, "nobody@acme.example")
    known = _reset(factory, "known@acme.EXAMPLE")  # case-insensitive
    assert unknown is None and known is None
    [row] = outbox_rows(factory)
    assert row.kind == "password_reset" and row.to_address == "Known@Acme.example"


def test_reset_requests_are_throttled_and_deleted_members_get_nothing(
    factory: sessionmaker[Session], make_member: MemberMaker
) -> None:
    make_member(email="a@acme.example", status="active")
    make_member(email=None, status="deleted")
    _reset(factory, "a@acme.example")
    _reset(factory, "a@acme.example")  # a second click within minutes
    assert len(outbox_rows(factory)) == 1


def test_reset_link_sets_a_new_password_once(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    member_id = make_member(email="a@acme.example", status="active")
    _reset(factory, "a@acme.example")
    send_due(factory, smtp_url=mail.url)
    mail.wait_for(1)
    path, raw = _link(mail)
    assert path == "/reset-password/"

    with factory.begin() as s:
        assert find_token(s, raw, TokenPurpose.MEMBER_PASSWORD_RESET) is not None  # the form may show
        member = set_member_password(s, raw, GOOD)
        assert member is not None and member.id == member_id
    with factory.begin() as s:
        assert set_member_password(s, raw, "another long password") is None  # single use
        member = s.get(Member, member_id)
        assert member is not None and member.password_hash and verify_password(GOOD, member.password_hash)


def test_expired_link_is_refused(factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher) -> None:
    make_member(email="a@acme.example", status="active")
    _reset(factory, "a@acme.example")
    send_due(factory, smtp_url=mail.url)
    mail.wait_for(1)
    _, raw = _link(mail)
    with factory.begin() as s:
        assert consume_token(s, raw, TokenPurpose.MEMBER_PASSWORD_RESET, now=utcnow() + timedelta(hours=3)) is None
        assert consume_token(s, raw, TokenPurpose.MEMBER_PASSWORD_RESET) is not None  # still valid now
        assert consume_token(s, raw, TokenPurpose.MEMBER_PASSWORD_RESET) is None


def test_weak_password_does_not_use_up_the_link(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    make_member(email="a@acme.example", status="active")
    _reset(factory, "a@acme.example")
    send_due(factory, smtp_url=mail.url)
    mail.wait_for(1)
    _, raw = _link(mail)
    with factory.begin() as s, pytest.raises(WeakPasswordError):
        set_member_password(s, raw, "short")
    with factory.begin() as s:
        assert set_member_password(s, raw, GOOD) is not None


def test_invitation_link_activates_the_member_and_kills_other_links(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    member_id = make_member(email="new@acme.example", status="invited")
    with factory.begin() as s:
        member = s.get(Member, member_id)
        programme = s.get(Programme, member.programme_id)  # type: ignore[union-attr]
        queue_invitation(s, member, programme)  # type: ignore[arg-type]
    _reset(factory, "new@acme.example")  # the member also asked for a reset meanwhile
    send_due(factory, smtp_url=mail.url)
    mail.wait_for(2)
    invite_path, invite_raw = _link(mail, 0)
    _, reset_raw = _link(mail, 1)
    assert invite_path == "/welcome/"

    with factory.begin() as s:
        member = set_member_password(s, invite_raw, GOOD)
        assert member is not None and member.status == "active"
    with factory.begin() as s:
        assert set_member_password(s, reset_raw, "another long password") is None
        events = s.scalars(select(MemberEvent.kind).where(MemberEvent.member_id == member_id)).all()
        assert events == ["password_set"]


def test_member_links_do_not_work_for_admins_and_back(
    factory: sessionmaker[Session], seed: Seed, make_member: MemberMaker, mail: MailCatcher
) -> None:
    make_member(email="owner@acme.example", status="active")  # same address as the admin
    _reset(factory, "owner@acme.example", "admin")
    send_due(factory, smtp_url=mail.url)
    mail.wait_for(1)
    path, raw = _link(mail)
    assert path == "/admin/reset-password/"
    with factory.begin() as s:
        assert set_member_password(s, raw, GOOD) is None
    with factory.begin() as s:
        admin = set_admin_password(s, raw, GOOD)
        assert admin is not None and admin.id == seed.admin_id and verify_password(GOOD, admin.password_hash or "")


def test_admin_invite_link_sets_the_admins_first_password(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher
) -> None:
    with factory.begin() as s:
        admin = AdminUser(programme_id=seed.programme_id, email="second@acme.example")
        s.add(admin)
        s.flush()
        programme = s.get(Programme, seed.programme_id)
        assert queue_admin_invite(s, admin, programme, invited_by="Olivia Owner") is not None  # type: ignore[arg-type]
        admin_id = admin.id
    send_due(factory, smtp_url=mail.url)
    [msg] = mail.wait_for(1)
    assert "Olivia Owner invited you" in msg.text()
    path, raw = _link(mail)
    assert path == "/admin/accept-invite/"
    with factory.begin() as s:
        admin2 = set_admin_password(s, raw, GOOD)
        assert admin2 is not None and admin2.id == admin_id
    with factory() as s:
        assert all(t.used_at is not None for t in s.scalars(select(AuthToken)))


def test_the_reset_e_mail_greets_a_member_by_the_name_they_go_by(
    factory: sessionmaker[Session], make_member: MemberMaker, mail: MailCatcher
) -> None:
    make_member(email="lo@acme.example", status="active", first_name="Élodie",
                attributes={"preferred_name": "Lo"})
    make_member(email="anon@acme.example", status="active", first_name=None, last_name=None, attributes={})
    _reset(factory, "lo@acme.example")
    _reset(factory, "anon@acme.example")
    send_due(factory, smtp_url=mail.url)
    mail.wait_for(2)
    greetings = sorted(m.text().strip().splitlines()[0] for m in mail.messages)
    assert greetings == ["Hello Lo,", "Hello there,"], greetings
