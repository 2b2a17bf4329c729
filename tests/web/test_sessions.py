"""Server-side portal sessions over real HTTP (issue 14): the cookie carries a random id whose
row can be ended, so signing out, a password change, "sign out everywhere" and deactivation end
a session at once, even for a copy of the cookie; idle and absolute timeouts on the portal's
injectable clock; a new id at every sign-in; the same for members."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from tests.web.conftest import PASSWORD, Portal, csrf_of

from hrsync.config import reset_settings_cache
from hrsync.security.passwords import hash_password
from hrsync.store.db import session_scope
from hrsync.store.models import AdminUser, Member, OutboxEmail, PortalSession

ADMIN_COOKIE = "hrsync_session"
MEMBER_COOKIE = "hrsync_member"
MEMBER_PASSWORD = "members have long passphrases too"


class Clock:
    """The portal's session clock (``app.state.session_clock``), moved by the test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(portal: Portal) -> Iterator[Clock]:
    fake = Clock()
    original = portal.app.state.session_clock
    portal.app.state.session_clock = fake
    try:
        yield fake
    finally:
        portal.app.state.session_clock = original


def _cookie_client(portal: Portal, name: str, value: str) -> httpx.Client:
    """Another browser holding a copy of a cookie."""
    client = portal.client()
    client.cookies.set(name, value, domain="127.0.0.1", path="/")
    return client


def _rows(**where: object) -> list[PortalSession]:
    with session_scope() as session:
        stmt = select(PortalSession)
        for column, value in where.items():
            stmt = stmt.where(getattr(PortalSession, column) == value)
        return list(session.scalars(stmt.order_by(PortalSession.id)))


def _admin(portal: Portal) -> tuple[int, str]:
    _, admin_id, email = portal.new_admin()
    return admin_id, email


def _signed_in(client: httpx.Client) -> bool:
    answer = client.get("/integrations")
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 200


# ------------------------------------------------------------------------------------------------
# administrators
# ------------------------------------------------------------------------------------------------


def test_sign_in_makes_a_new_id_and_stores_only_its_hash(portal: Portal) -> None:
    admin_id, email = _admin(portal)
    client = portal.client()
    page = client.get("/login")
    before = client.cookies.get(ADMIN_COOKIE)
    assert before  # the anonymous cookie that carries the sign-in form's CSRF token
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    after = client.cookies.get(ADMIN_COOKIE)
    assert after and after != before and "." not in after and len(after) >= 43
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    rows = _rows(admin_id=admin_id)
    assert len(rows) == 1
    row = rows[0]
    assert row.kind == "admin" and row.ended_at is None and row.member_id is None
    assert row.token_hash == hashlib.sha256(after.encode()).hexdigest()
    assert after not in repr(row.data) and after not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(hours=12)
    # the next page's CSRF token is a new one, kept in the row (not in the cookie)
    signed_in_page = client.get("/integrations")
    token = csrf_of(signed_in_page.text)
    assert token != csrf_of(page.text)
    assert _rows(admin_id=admin_id)[0].data["csrf"] == token


def test_a_cookie_planted_before_sign_in_grants_nothing_after_it(portal: Portal) -> None:
    _, email = _admin(portal)
    attacker = portal.client()
    attacker.get("/login")
    planted = attacker.cookies.get(ADMIN_COOKIE)
    assert planted
    victim = _cookie_client(portal, ADMIN_COOKIE, planted)
    portal.sign_in(email, client=victim)
    assert victim.cookies.get(ADMIN_COOKIE) != planted
    assert _signed_in(victim)
    assert not _signed_in(attacker)


def test_a_cookie_copied_before_sign_out_is_refused_after_it(portal: Portal) -> None:
    admin_id, email = _admin(portal)
    client = portal.sign_in(email)
    copied = client.cookies.get(ADMIN_COOKIE)
    assert copied
    thief = _cookie_client(portal, ADMIN_COOKIE, copied)
    assert _signed_in(thief)
    out = portal.post_form(client, "/integrations", "/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "You have signed out." in client.get("/login").text  # the flash survives in the anonymous cookie
    assert not _signed_in(thief)
    assert not _signed_in(client)
    row = _rows(admin_id=admin_id)[0]
    assert row.ended_at is not None and row.ended_reason == "signed_out"


def test_an_unknown_or_tampered_id_is_refused_and_its_cookie_removed(portal: Portal) -> None:
    stranger = _cookie_client(portal, ADMIN_COOKIE, "x" * 43)
    answer = stranger.get("/integrations")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert f"{ADMIN_COOKIE}=;" in answer.headers["set-cookie"] and "Max-Age=0" in answer.headers["set-cookie"]


def test_sign_out_everywhere_ends_every_session_of_that_administrator_only(portal: Portal) -> None:
    admin_id, email = _admin(portal)
    _, other_email = _admin(portal)
    laptop, phone = portal.sign_in(email), portal.sign_in(email)
    colleague = portal.sign_in(other_email)
    page = laptop.get("/integrations")
    assert 'action="/logout/everywhere"' in page.text and "Sign out everywhere" in page.text
    answer = laptop.post("/logout/everywhere", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert "signed out on every device" in laptop.get("/login").text
    assert not _signed_in(laptop) and not _signed_in(phone)
    assert _signed_in(colleague)
    rows = _rows(admin_id=admin_id)
    assert len(rows) == 2 and {r.ended_reason for r in rows} == {"signed_out_everywhere"}


def test_sign_out_everywhere_needs_the_sessions_csrf_token(portal: Portal) -> None:
    _, email = _admin(portal)
    client = portal.sign_in(email)
    assert client.post("/logout/everywhere", data={"csrf_token": "x" * 43}).status_code == 403
    assert _signed_in(client)


def test_a_password_reset_ends_the_administrators_other_sessions(portal: Portal) -> None:
    portal.reset_throttle()
    admin_id, email = _admin(portal)
    elsewhere = portal.sign_in(email)
    copied = _cookie_client(portal, ADMIN_COOKIE, elsewhere.cookies.get(ADMIN_COOKIE) or "")
    assert _signed_in(elsewhere) and _signed_in(copied)
    resetter = portal.client()
    portal.post_form(resetter, "/forgot-password", "/forgot-password", {"email": email})
    with session_scope() as session:
        body = session.scalars(select(OutboxEmail.body_text).where(
            OutboxEmail.kind == "password_reset", OutboxEmail.to_address == email)).one()
    link = re.search(r"(/admin/reset-password/[A-Za-z0-9_\-]+)", body)
    assert link
    new_password = "another long passphrase here"
    done = portal.post_form(resetter, link.group(1), link.group(1), {"password": new_password,
                                                                      "confirm": new_password})
    assert done.status_code == 303
    assert _signed_in(resetter)  # the browser that reset it carries on, with a new session
    assert not _signed_in(elsewhere) and not _signed_in(copied)
    reasons = [r.ended_reason for r in _rows(admin_id=admin_id)]
    assert reasons.count("password_changed") == 1 and reasons.count(None) == 1


def test_a_deactivated_administrator_is_refused_at_once_and_their_rows_end(portal: Portal) -> None:
    from hrsync.lifecycle.sessions import end_sessions_for_admin

    admin_id, email = _admin(portal)
    client = portal.sign_in(email)
    copied = _cookie_client(portal, ADMIN_COOKIE, client.cookies.get(ADMIN_COOKIE) or "")
    with session_scope() as session:
        session.execute(update(AdminUser).where(AdminUser.id == admin_id).values(is_active=False))
    assert not _signed_in(client)  # the is_active check on every request, before any row ended
    with session_scope() as session:
        assert end_sessions_for_admin(session, admin_id, "deactivated") == 1
        session.execute(update(AdminUser).where(AdminUser.id == admin_id).values(is_active=True))
    assert not _signed_in(copied)  # reactivating does not revive an ended session
    assert _rows(admin_id=admin_id)[0].ended_reason == "deactivated"


def test_the_idle_timeout_ends_a_quiet_session_and_requests_keep_it_alive(portal: Portal, clock: Clock) -> None:
    admin_id, email = _admin(portal)
    client = portal.sign_in(email)
    clock.advance(minutes=29)
    assert _signed_in(client)
    clock.advance(minutes=29)  # 58 minutes after sign-in, 29 after the last request
    assert _signed_in(client)
    seen = _rows(admin_id=admin_id)[0].last_seen_at
    clock.advance(seconds=20)
    assert _signed_in(client)
    assert _rows(admin_id=admin_id)[0].last_seen_at == seen  # written at most once a minute
    clock.advance(minutes=31)
    assert not _signed_in(client)
    assert _rows(admin_id=admin_id)[0].ended_reason == "idle"


def test_the_absolute_timeout_ends_even_a_busy_session(portal: Portal, clock: Clock) -> None:
    admin_id, email = _admin(portal)
    client = portal.sign_in(email)
    for _ in range(35):  # a request every 20 minutes: never idle, 11 h 40 min in all
        clock.advance(minutes=20)
        assert _signed_in(client)
    clock.advance(minutes=20)  # 12 hours after sign-in
    assert not _signed_in(client)
    assert _rows(admin_id=admin_id)[0].ended_reason == "expired"
    portal.sign_in(email, client=client)
    assert _signed_in(client)


def test_timeouts_are_operator_settings(portal: Portal, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRSYNC_ADMIN_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("HRSYNC_SESSION_MAX_HOURS", "1")
    reset_settings_cache()
    try:
        admin_id, email = _admin(portal)
        client = portal.sign_in(email)
        assert _rows(admin_id=admin_id)[0].expires_at - _rows(admin_id=admin_id)[0].created_at == timedelta(hours=1)
        clock.advance(minutes=6)
        assert not _signed_in(client)
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_cookies_are_secure_when_the_public_address_is_https(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    _, email = _admin(portal)
    monkeypatch.setenv("HRSYNC_BASE_URL", "https://rewards.example.com")
    reset_settings_cache()
    try:
        client = portal.client()
        page = client.get("/login")  # plain http from the TLS-terminating proxy
        assert "Secure" in page.headers["set-cookie"]
        anonymous = page.headers["set-cookie"].split(";", 1)[0]  # a browser sends it back over https
        client.cookies.clear()
        answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
                             headers={"Cookie": anonymous})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{ADMIN_COOKIE}=") and "; Secure" in cookie and "HttpOnly" in cookie
    finally:
        monkeypatch.undo()
        reset_settings_cache()


def test_the_daily_pass_purges_rows_that_ended_over_a_day_ago(portal: Portal) -> None:
    from hrsync.jobs.loop import PeriodicLoop
    from hrsync.store.db import session_factory

    admin_id, email = _admin(portal)
    portal.post_form(portal.sign_in(email), "/integrations", "/logout")
    live = portal.sign_in(email)
    ended = [r for r in _rows(admin_id=admin_id) if r.ended_at is not None]
    assert len(ended) == 1
    loop = PeriodicLoop(session_factory(), lambda run_id: True, send_outbox=False)
    report = loop.run_once(datetime.now(UTC) + timedelta(hours=2))
    assert "sessions_purged" in report.steps and not report.errors
    assert ended[0].id in [r.id for r in _rows(admin_id=admin_id)]  # kept a day: who signed out, and why
    later = PeriodicLoop(session_factory(), lambda run_id: True, send_outbox=False)
    report = later.run_once(datetime.now(UTC) + timedelta(days=1, hours=2))
    assert report.steps["sessions_purged"] >= 1
    remaining = _rows(admin_id=admin_id)
    assert ended[0].id not in [r.id for r in remaining] and len(remaining) == 1
    assert _signed_in(live)


# ------------------------------------------------------------------------------------------------
# members
# ------------------------------------------------------------------------------------------------


def _member(portal: Portal) -> tuple[int, str]:
    programme_id, _, _ = portal.new_admin()
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        member = Member(programme_id=programme_id, employee_id=uuid.uuid4().hex[:8], email=email, first_name="Mia",
                        last_name="Member", status="active", start_date=date(2020, 1, 1),
                        password_hash=hash_password(MEMBER_PASSWORD))
        session.add(member)
        session.flush()
        return member.id, email


def _member_sign_in(portal: Portal, email: str, client: httpx.Client | None = None) -> httpx.Client:
    client = client or portal.client()
    page = client.get("/member/login")
    answer = client.post("/member/login", data={"email": email, "password": MEMBER_PASSWORD,
                                                "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/me", answer.text[:300]
    return client


def _member_in(client: httpx.Client) -> bool:
    answer = client.get("/me")
    assert answer.status_code in (200, 303)
    return answer.status_code == 200


def test_member_sign_in_rotates_the_id_and_a_copied_cookie_dies_at_sign_out(portal: Portal) -> None:
    member_id, email = _member(portal)
    client = portal.client()
    client.get("/member/login")
    anonymous = client.cookies.get(ADMIN_COOKIE)
    _member_sign_in(portal, email, client)
    raw = client.cookies.get(MEMBER_COOKIE)
    assert raw and raw != anonymous and "." not in raw
    row = _rows(member_id=member_id)[0]
    assert row.kind == "member" and row.admin_id is None
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert not _signed_in(client)  # a member's session is never an administrator's
    thief = _cookie_client(portal, MEMBER_COOKIE, raw)
    assert _member_in(thief)
    out = portal.post_form(client, "/me", "/member/logout")
    assert out.status_code == 303 and out.headers["location"] == "/member/login"
    assert not _member_in(thief) and not _member_in(client)
    assert _rows(member_id=member_id)[0].ended_reason == "signed_out"


def test_a_member_password_change_ends_the_other_sessions_and_keeps_this_one(portal: Portal) -> None:
    member_id, email = _member(portal)
    here, phone = _member_sign_in(portal, email), _member_sign_in(portal, email)
    old_cookie = here.cookies.get(MEMBER_COOKIE)
    new_password = "a different long passphrase"
    answer = portal.post_form(here, "/me/security", "/me/security", {
        "current": MEMBER_PASSWORD, "password": new_password, "confirm": new_password})
    assert answer.status_code == 303
    assert here.cookies.get(MEMBER_COOKIE) != old_cookie
    page = here.get("/me/security")
    assert page.status_code == 200 and "signed out everywhere else" in page.text
    assert not _member_in(phone)
    assert not _member_in(_cookie_client(portal, MEMBER_COOKIE, old_cookie or ""))
    reasons = [r.ended_reason for r in _rows(member_id=member_id)]
    assert reasons.count("password_changed") == 2 and reasons.count(None) == 1


def test_member_sign_out_everywhere(portal: Portal) -> None:
    member_id, email = _member(portal)
    here, phone = _member_sign_in(portal, email), _member_sign_in(portal, email)
    page = here.get("/me/security")
    assert 'action="/member/logout/everywhere"' in page.text
    answer = here.post("/member/logout/everywhere", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/member/login"
    assert not _member_in(here) and not _member_in(phone)
    assert {r.ended_reason for r in _rows(member_id=member_id)} == {"signed_out_everywhere"}


def test_member_idle_and_absolute_timeouts(portal: Portal, clock: Clock) -> None:
    member_id, email = _member(portal)
    quiet, busy = _member_sign_in(portal, email), _member_sign_in(portal, email)
    clock.advance(minutes=25)
    assert _member_in(busy)
    clock.advance(minutes=6)  # 31 minutes without a request for "quiet"
    assert not _member_in(quiet)
    for _ in range(56):  # "busy" keeps going every 12 minutes up to 11 h 43 min
        clock.advance(minutes=12)
        assert _member_in(busy)
    clock.advance(minutes=18)
    assert not _member_in(busy)
    assert sorted(str(r.ended_reason) for r in _rows(member_id=member_id)) == ["expired", "idle"]
