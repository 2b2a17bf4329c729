"""Signing in and out over real HTTP: cookies, CSRF, throttling, resets and invitations."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from tests.web.conftest import PASSWORD, Portal, csrf_of


def _login(portal: Portal, email: str, password: str, client=None):  # type: ignore[no-untyped-def]
    client = client or portal.client()
    page = client.get("/login")
    return client, client.post("/login", data={"email": email, "password": password,
                                               "csrf_token": csrf_of(page.text)})


def test_signed_out_pages_redirect_to_sign_in_with_next(portal: Portal) -> None:
    response = portal.client().get("/integrations?tab=explore")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fintegrations%3Ftab%3Dexplore"


def test_sign_in_sets_a_httponly_samesite_cookie_without_secure_on_plain_http(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    client, response = _login(portal, email, PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/integrations"
    cookie = response.headers["set-cookie"]
    assert "hrsync_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    page = client.get("/integrations")
    assert page.status_code == 200
    assert email in page.text


def test_cookie_is_secure_when_the_request_came_over_https(portal: Portal) -> None:
    # uvicorn trusts X-Forwarded-Proto from loopback (a TLS-terminating proxy in front).
    client = portal.client()
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


def test_wrong_password_and_unknown_account_get_the_same_answer(portal: Portal) -> None:
    portal.reset_throttle()
    _, _, email = portal.new_admin()
    _, wrong = _login(portal, email, "not the password at all")
    _, unknown = _login(portal, "nobody-here@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    message = re.search(r'id="login-error">([^<]+)<', wrong.text)
    assert message and message.group(1) in unknown.text
    assert "hrsync_session=" not in wrong.headers.get("set-cookie", "") or "admin" not in wrong.text


def test_post_without_csrf_token_is_rejected(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    client = portal.client()
    client.get("/login")
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 403
    assert "Form expired" in response.text
    forged = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": "x" * 43})
    assert forged.status_code == 403


def test_a_signed_in_form_needs_the_sessions_own_token(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    victim = portal.sign_in(email)
    attacker = portal.client()
    attacker_token = csrf_of(attacker.get("/login").text)
    response = victim.post("/logout", data={"csrf_token": attacker_token})
    assert response.status_code == 403
    assert victim.get("/integrations").status_code == 200


@pytest.mark.slow
def test_five_failures_lock_the_account_even_with_the_right_password(portal: Portal) -> None:
    portal.reset_throttle()
    _, _, email = portal.new_admin()
    for _ in range(4):
        _, response = _login(portal, email, "wrong password 123")
        assert response.status_code == 400
    _, fifth = _login(portal, email, "wrong password 123")
    assert fifth.status_code == 429
    _, right = _login(portal, email, PASSWORD)
    assert right.status_code == 429
    assert "paused for 15 minutes" in right.text
    # An address that does not exist is locked the same way (nothing reveals which addresses exist).
    for _ in range(5):
        _, response = _login(portal, "ghost@example.com", "wrong password 123")
    assert response.status_code == 429
    portal.reset_throttle()
    _, after_reset = _login(portal, email, PASSWORD)
    assert after_reset.status_code == 303


def test_many_failures_from_one_address_lock_that_address(portal: Portal) -> None:
    from hrsync.services.throttle import SharedThrottle

    portal.reset_throttle()
    original = portal.app.state.login_throttle
    portal.app.state.login_throttle = SharedThrottle(limit=5, address_limit=3)  # default 20: same rule, faster
    try:
        _, _, email = portal.new_admin()
        for i in range(3):
            _, response = _login(portal, f"spray-{i}@example.com", "guess 1234567")
        assert response.status_code == 429
        _, blocked = _login(portal, email, PASSWORD)
        assert blocked.status_code == 429
    finally:
        portal.app.state.login_throttle = original
        portal.reset_throttle()


def test_sign_out_ends_the_session(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    client = portal.sign_in(email)
    page = client.get("/integrations")
    response = client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/integrations").status_code == 303


def test_next_never_leaves_the_site(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    client = portal.client()
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": PASSWORD, "next": "//evil.example/x",
                                           "csrf_token": csrf_of(page.text)})
    assert response.headers["location"] == "/integrations"


def _outbox(kind: str, to: str) -> list[str]:
    from hrsync.store.db import session_scope
    from hrsync.store.models import OutboxEmail

    with session_scope() as session:
        return [row.body_text for row in session.scalars(
            select(OutboxEmail).where(OutboxEmail.kind == kind, OutboxEmail.to_address == to))]


def test_forgot_password_answers_the_same_and_the_link_sets_a_new_password(portal: Portal) -> None:
    portal.reset_throttle()
    _, _, email = portal.new_admin()
    client = portal.client()
    known = portal.post_form(client, "/forgot-password", "/forgot-password", {"email": email})
    unknown = portal.post_form(client, "/forgot-password", "/forgot-password", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "sent it a link" in known.text
    assert known.text.replace(csrf_of(known.text), "") == unknown.text.replace(csrf_of(unknown.text), "")
    bodies = _outbox("password_reset", email)
    assert len(bodies) == 1
    link = re.search(r"(/admin/reset-password/[A-Za-z0-9_\-]+)", bodies[0])
    assert link
    path = link.group(1)
    short = portal.post_form(client, path, path, {"password": "short", "confirm": "short"})
    assert short.status_code == 400
    assert "at least 10 characters" in short.text
    new_password = "a brand new passphrase"
    done = portal.post_form(client, path, path, {"password": new_password, "confirm": new_password})
    assert done.status_code == 303
    assert client.get("/integrations").status_code == 200
    assert portal.client().get(path).status_code == 404  # single use
    _, old = _login(portal, email, PASSWORD)
    assert old.status_code == 400
    _, new = _login(portal, email, "a brand new passphrase")
    assert new.status_code == 303


def test_invited_administrator_accepts_and_sees_the_same_programme(portal: Portal) -> None:
    _, _, email = portal.new_admin(programme="Invite Co")
    client = portal.sign_in(email)
    invited = "colleague@example.com"
    response = portal.post_form(client, "/admins", "/admins", {"email": invited, "name": "Cole League"})
    assert response.status_code == 303
    listing = client.get("/admins")
    assert invited in listing.text and "Invitation sent" in listing.text
    again = portal.post_form(client, "/admins", "/admins", {"email": invited.upper()})
    assert again.status_code == 400 and "already an administrator" in again.text
    bad = portal.post_form(client, "/admins", "/admins", {"email": "not-an-address"})
    assert bad.status_code == 400
    bodies = _outbox("admin_invite", invited)
    link = re.search(r"(/admin/accept-invite/[A-Za-z0-9_\-]+)", bodies[0])
    assert link
    newcomer = portal.client()
    page = newcomer.get(link.group(1))
    assert page.status_code == 200 and "Invite Co" in page.text
    chosen = "welcome aboard friend"
    accepted = newcomer.post(link.group(1), data={"password": chosen, "confirm": chosen,
                                                  "csrf_token": csrf_of(page.text)})
    assert accepted.status_code == 303
    home = newcomer.get("/admins")
    assert home.status_code == 200 and "Invite Co" in home.text and email in home.text


def test_another_programmes_administrator_cannot_resend_its_invitations(portal: Portal) -> None:
    from hrsync.store.db import session_scope
    from hrsync.store.models import AdminUser

    _, _, first = portal.new_admin()
    client = portal.sign_in(first)
    portal.post_form(client, "/admins", "/admins", {"email": "pending-one@example.com"})
    with session_scope() as session:
        pending_id = session.scalar(select(AdminUser.id).where(AdminUser.email_lower == "pending-one@example.com"))
    _, _, other = portal.new_admin()
    outsider = portal.sign_in(other)
    response = portal.post_form(outsider, "/admins", f"/admins/{pending_id}/resend")
    assert response.status_code == 404
    assert "pending-one@example.com" not in outsider.get("/admins").text
