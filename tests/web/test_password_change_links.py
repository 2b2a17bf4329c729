"""A password change, whatever the page, ends the account's other invitation and reset links (issue 9).

Over real HTTP against the real portal: the member's signed-in "change password" page, and an
administrator who sets a password from a reset link while an invitation is still waiting.
"""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import select
from tests.web.conftest import PASSWORD, Portal, csrf_of

from hrsync.security.passwords import hash_password
from hrsync.store import session_scope
from hrsync.store.models import Member, OutboxEmail

OLD = "the old password, long enough"
NEW = "a brand new password, also long"
RESET_LINK = re.compile(r"/reset-password/([A-Za-z0-9_\-]{20,})")
ADMIN_INVITE_LINK = re.compile(r"/admin/accept-invite/([A-Za-z0-9_\-]{20,})")


def _active_member(programme_id: int) -> str:
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        session.add(Member(programme_id=programme_id, employee_id=email[:15], email=email, first_name="Mo",
                           last_name="Member", status="active", password_hash=hash_password(OLD)))
    return email


def _queued(kind: str, to: str) -> OutboxEmail:
    with session_scope() as session:
        row = session.scalars(
            select(OutboxEmail).where(OutboxEmail.kind == kind, OutboxEmail.to_address == to)
            .order_by(OutboxEmail.id.desc())
        ).first()
        assert row is not None, (kind, to)
        session.expunge(row)
        return row


def _token(pattern: re.Pattern[str], row: OutboxEmail) -> str:
    match = pattern.search(row.body_text)  # not sent yet (no SMTP): the body still holds the link
    assert match, row.body_text
    return match.group(1)


def _member_signed_in(portal: Portal, email: str) -> httpx.Client:
    client = portal.client()
    page = client.get("/member/login")
    answer = client.post("/member/login", data={"email": email, "password": OLD, "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303, answer.text[:500]
    return client


def test_a_member_changing_their_password_ends_their_reset_link(portal: Portal) -> None:
    programme_id, _, _ = portal.new_admin()
    email = _active_member(programme_id)
    stranger = portal.client()
    page = stranger.get("/member/forgot-password")
    asked = stranger.post("/member/forgot-password", data={"email": email, "csrf_token": csrf_of(page.text)})
    assert asked.status_code == 200
    reset = _queued("password_reset", email)
    token = _token(RESET_LINK, reset)
    assert portal.client().get(f"/reset-password/{token}").status_code == 200  # the link works

    member = _member_signed_in(portal, email)
    page = member.get("/me/security")
    changed = member.post("/me/security", data={"current": OLD, "password": NEW, "confirm": NEW,
                                                "csrf_token": csrf_of(page.text)})
    assert changed.status_code == 303, changed.text[:500]

    dead = portal.client().get(f"/reset-password/{token}")
    assert dead.status_code == 404 and "no longer valid" in dead.text
    other = portal.client()
    form = other.get("/member/forgot-password")  # any page, for a CSRF token
    used = other.post(f"/reset-password/{token}", data={"password": "someone else's pick", "confirm":
                                                        "someone else's pick", "csrf_token": csrf_of(form.text)})
    assert used.status_code in (400, 404) and "hrsync_member=" not in used.headers.get("set-cookie", "")
    row = _queued("password_reset", email)
    assert (row.status, row.last_error) == ("failed", "cancelled: the password was changed")
    again = portal.client()
    page = again.get("/member/login")
    assert again.post("/member/login", data={"email": email, "password": NEW,
                                             "csrf_token": csrf_of(page.text)}).status_code == 303


def test_an_administrator_setting_a_password_from_a_reset_link_ends_the_waiting_invitation(
    portal: Portal,
) -> None:
    _, _, owner_email = portal.new_admin()
    owner = portal.client()
    page = owner.get("/login")
    owner.post("/login", data={"email": owner_email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    invited_email = f"second-{uuid.uuid4().hex[:8]}@example.com"
    page = owner.get("/admins")
    invited = owner.post("/admins", data={"email": invited_email, "name": "Second Admin",
                                          "csrf_token": csrf_of(page.text)})
    assert invited.status_code == 303, invited.text[:500]
    invite_token = _token(ADMIN_INVITE_LINK, _queued("admin_invite", invited_email))

    # The invitation has not arrived; the new administrator uses "forgot password" instead.
    stranger = portal.client()
    page = stranger.get("/forgot-password")
    stranger.post("/forgot-password", data={"email": invited_email, "csrf_token": csrf_of(page.text)})
    reset_token = _token(RESET_LINK, _queued("password_reset", invited_email))
    form = stranger.get(f"/admin/reset-password/{reset_token}")
    assert form.status_code == 200
    done = stranger.post(f"/admin/reset-password/{reset_token}", data={"password": NEW, "confirm": NEW,
                                                                      "csrf_token": csrf_of(form.text)})
    assert done.status_code == 303, done.text[:500]

    assert portal.client().get(f"/admin/accept-invite/{invite_token}").status_code in (400, 404)
    row = _queued("admin_invite", invited_email)
    assert (row.status, row.last_error) == ("failed", "cancelled: the password was changed")
