"""One password rule for members and administrators, on every page that sets a password and in the CLI:
at least 10 characters and not a common (breached) password, with the reason shown. Over real HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.web.conftest import PASSWORD, Portal, csrf_of

from hrsync.store import session_scope
from hrsync.store.models import AdminUser, Member, OutboxEmail
from hrsync.store.tokens import TokenPurpose, issue_token
from hrsync.store.types import utcnow

COMMON = "password12"  # 10 characters, and one of the passwords people use most
GOOD = "tangerine lighthouse quietly"
COMMON_REASON = "That password is one of the most common passwords"
RESET_LINK = re.compile(r"/reset-password/([A-Za-z0-9_\-]{20,})")
HRSYNC = str(Path(sys.executable).parent / "hrsync")  # the installed command
INVITE_LINK = re.compile(r"/admin/accept-invite/([A-Za-z0-9_\-]{20,})")


def _member(programme_id: int, status: str = "invited", first: str = "Mo", last: str = "Member") -> tuple[str, str]:
    """A member and a fresh invitation token for them."""
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        member = Member(programme_id=programme_id, employee_id=email[:15], email=email, first_name=first,
                        last_name=last, status=status)
        session.add(member)
        session.flush()
        raw, _ = issue_token(session, TokenPurpose.INVITATION, expires_at=utcnow() + timedelta(days=1),
                             member_id=member.id)
    return email, raw


def _queued_token(kind: str, to: str, pattern: re.Pattern[str]) -> str:
    with session_scope() as session:
        row = session.scalars(select(OutboxEmail).where(OutboxEmail.kind == kind, OutboxEmail.to_address == to)
                              .order_by(OutboxEmail.id.desc())).first()
        assert row is not None, (kind, to)
        match = pattern.search(row.body_text)
        assert match, row.body_text
        return match.group(1)


OWN_REASON = "built from your own name, e-mail address or the programme"


def _refused_then_accepted(client: httpx.Client, path: str, *, extra: dict[str, str] | None = None,
                           own: str | None = None) -> httpx.Response:
    """``own``: a password made of the person's own name and a year, refused for being theirs."""
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    weak_ones = [(COMMON, COMMON_REASON), ("qwertyuiop", COMMON_REASON), ("aaaaaaaaaaaa", "too easy to guess"),
                 ("Summer2024!", "too easy to guess (this is similar to a commonly used password)"),
                 ("short", "at least 10 characters")]
    for weak, reason in weak_ones + ([(own, OWN_REASON)] if own else []):
        refused = client.post(path, data={**(extra or {}), "password": weak, "confirm": weak,
                                          "csrf_token": csrf_of(page.text)})
        assert refused.status_code == 400, (weak, refused.status_code)
        assert reason in refused.text, weak
    done = client.post(path, data={**(extra or {}), "password": GOOD, "confirm": GOOD,
                                   "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303, done.text[:1000]
    return done


def test_member_invitation_page_refuses_a_common_password_with_the_reason(portal: Portal) -> None:
    programme_id = portal.new_admin()[0]
    email, token = _member(programme_id, first="Nia", last="Hook")
    _refused_then_accepted(portal.client(), f"/welcome/{token}", own="niahook2026")
    login = portal.client()
    page = login.get("/member/login")
    assert login.post("/member/login", data={"email": email, "password": GOOD,
                                             "csrf_token": csrf_of(page.text)}).status_code == 303


def test_member_reset_and_change_pages_use_the_same_rule(portal: Portal) -> None:
    programme_id = portal.new_admin()[0]
    email, token = _member(programme_id)
    client = portal.client()
    _refused_then_accepted(client, f"/welcome/{token}")  # signed in now
    page = client.get("/me/security")
    common = client.post("/me/security", data={"current": GOOD, "password": COMMON, "confirm": COMMON,
                                               "csrf_token": csrf_of(page.text)})
    assert common.status_code == 400 and COMMON_REASON in common.text

    stranger = portal.client()
    page = stranger.get("/member/forgot-password")
    stranger.post("/member/forgot-password", data={"email": email, "csrf_token": csrf_of(page.text)})
    reset = _queued_token("password_reset", email, RESET_LINK)
    other = "another tangerine lighthouse"
    page = stranger.get(f"/reset-password/{reset}")
    refused = stranger.post(f"/reset-password/{reset}", data={"password": COMMON, "confirm": COMMON,
                                                              "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 400 and COMMON_REASON in refused.text
    done = stranger.post(f"/reset-password/{reset}", data={"password": other, "confirm": other,
                                                          "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303


def test_administrator_invitation_and_reset_pages_refuse_a_common_password(portal: Portal) -> None:
    _, _, owner_email = portal.new_admin()
    owner = portal.sign_in(owner_email)
    invited = f"colleague-{uuid.uuid4().hex[:8]}@example.com"
    assert portal.post_form(owner, "/admins", "/admins", {"email": invited, "name": "Cole League"}).status_code == 303
    invite = _queued_token("admin_invite", invited, INVITE_LINK)
    _refused_then_accepted(portal.client(), f"/admin/accept-invite/{invite}", own="ColeLeague2026!")

    stranger = portal.client()
    page = stranger.get("/forgot-password")
    stranger.post("/forgot-password", data={"email": owner_email, "csrf_token": csrf_of(page.text)})
    reset = _queued_token("password_reset", owner_email, RESET_LINK)
    _refused_then_accepted(stranger, f"/admin/reset-password/{reset}")
    portal.sign_in(owner_email, GOOD)


def test_the_administrator_invitation_greets_by_name(portal: Portal) -> None:
    _, _, owner_email = portal.new_admin()
    owner = portal.sign_in(owner_email)
    invited = f"named-{uuid.uuid4().hex[:8]}@example.com"
    portal.post_form(owner, "/admins", "/admins", {"email": invited, "name": "  Cole   League "})
    unnamed = f"unnamed-{uuid.uuid4().hex[:8]}@example.com"
    portal.post_form(owner, "/admins", "/admins", {"email": unnamed})
    with session_scope() as session:
        rows = {row.to_address: row for row in session.scalars(select(OutboxEmail).where(
            OutboxEmail.kind == "admin_invite", OutboxEmail.to_address.in_([invited, unnamed])))}
        assert rows[invited].body_text.splitlines()[0] == "Hello Cole League,"
        assert "Hello Cole League," in (rows[invited].body_html or "")
        assert rows[unnamed].body_text.splitlines()[0] == "Hello there,"


@pytest.mark.parametrize(("password", "reason"), [(COMMON, COMMON_REASON), ("123", "at least 10 characters")])
def test_cli_refuses_a_weak_first_administrator_password(portal: Portal, password: str, reason: str) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    proc = subprocess.run([HRSYNC, "programme", "add", f"CLI {email}",
                           "--admin-email", email, "--password", password],
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and reason in proc.stderr, proc.stderr
    ok = subprocess.run([HRSYNC, "programme", "add", f"CLI {email}",
                         "--admin-email", email, "--password", PASSWORD], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    with session_scope() as session:
        assert session.scalar(select(AdminUser.id).where(AdminUser.email_lower == email)) is not None
