"""In Chromium, at 1366x900 and 390x844 (issue 25, part A): the members search finds "Élodie" and
"Brown, Amelia", and *Find a person* calls an invited member a member; creating an API token and
reloading makes one token; "Summer2024!" is refused with a reason; a read-only administrator sees no
action they cannot take; and the admin pages touched (members, API tokens, sent e-mails, import
history, a run, integrations) fit a phone: no sideways scroll, no "None"."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.web.conftest import PASSWORD, Portal, browser, sign_in_page
from tests.web.conftest_b import import_now
from tests.web.test_browser_layout import overflow_of

from hrsync.config import get_settings
from hrsync.security.passwords import hash_password
from hrsync.services.integrations import create_integration, publish
from hrsync.store import session_scope
from hrsync.store.models import AdminUser, ApiToken, Member, Programme
from hrsync.store.tokens import TokenPurpose, issue_token
from hrsync.store.types import utcnow

__all__ = ["browser"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = ((1366, 900), (390, 844))
PEOPLE = [  # (first, last, status, e-mail local part)
    ("Élodie", "Lefèvre", "invited", "elodie.lefevre"),
    ("Łukasz", "Wałęsa", "active", "lukasz.walesa"),
    ("Anders", "Ångström", "active", "anders.angstrom"),
    ("Σοφία", "Παπαδοπούλου", "active", "sofia.papadopoulou"),
    ("Amelia", "Brown", "active", "amelia.brown.with.a.rather.long.address"),
]


def _fits(page: Any, folder: Path, name: str) -> None:
    """The page at both sizes: a screenshot each, nothing wider than the window, no "None"."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"{name}-{width}x{height}.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= page.evaluate("window.innerWidth"), (name, width, wide)
        assert overflow_of(page) == [], (name, width, overflow_of(page))
        assert "None" not in page.locator("main").inner_text(), (name, width)


def _seed(programme_id: int, owner_email: str) -> tuple[int, str, str]:
    """A live integration with one import, the people above, a read-only administrator and an invited
    member's link: (integration id, read-only e-mail, invitation token)."""
    viewer = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    with session_scope() as session:
        programme = session.get(Programme, programme_id)
        owner = session.scalar(select(AdminUser).where(AdminUser.email_lower == owner_email))
        assert programme is not None and owner is not None
        integration = create_integration(session, programme, owner, subdomain="demo", api_key="sim-demo-key")
        publish(session, integration, owner)
        integration_id = integration.id
        session.add(AdminUser(programme_id=programme_id, email=viewer, name="Vi Ewer", role="read_only",
                              password_hash=hash_password(PASSWORD)))
        for i, (first, last, status, local) in enumerate(PEOPLE):
            session.add(Member(programme_id=programme_id, door="manual", employee_id=f"M{i:03d}",
                               email=f"{local}@example.com", first_name=first, last_name=last, status=status))
        member = Member(programme_id=programme_id, door="manual", employee_id="M900", email="nia.hook@example.com",
                        first_name="Nia", last_name="Hook", status="invited")
        session.add(member)
        session.flush()
        raw, _ = issue_token(session, TokenPurpose.INVITATION, expires_at=utcnow() + timedelta(days=1),
                             member_id=member.id)
    import_now(integration_id)
    return integration_id, viewer, raw


def _caught_mail(programme_id: int) -> None:
    """One message in the demo mail catcher's folder, with a long link line as real ones have."""
    folder = get_settings().data_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    link = "https://rewards.example.com/welcome/" + "x" * 120
    (folder / "99999999999-phone.eml").write_bytes(
        f"From: Reward Manager <no-reply@example.com>\r\nTo: amelia.brown.with.a.rather.long.address@example.com\r\n"
        f"Subject: Welcome to your rewards\r\nX-Hrsync-Programme: {programme_id}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nHello Amelia,\r\n\r\nSet your password: {link}\r\n".encode())


def test_search_tokens_passwords_read_only_and_phones(portal: Portal, browser: Any, artifacts_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    programme_id, _, owner = portal.new_admin()
    integration_id, viewer, invitation = _seed(programme_id, owner)
    monkeypatch.setenv("HRSYNC_DEMO", "1")  # the "Sent e-mails" page with what the demo's catcher received
    _caught_mail(programme_id)
    shots = artifacts_dir
    base = portal.base_url
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    sign_in_page(page, base, owner, "/members")

    # Search: an accented capital, and the name as the list shows it.
    for query, expected in (("Élodie", "Lefèvre, Élodie"), ("Brown, Amelia", "Brown, Amelia"),
                            ("ŁUKASZ", "Wałęsa, Łukasz"), ("Σοφία", "Παπαδοπούλου, Σοφία"),
                            ("angstrom", "Ångström, Anders")):
        page.get_by_label("Search").fill(query)
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state()
        names = page.locator(".members-table tbody tr td:first-child").all_inner_texts()
        assert expected in names, (query, names)  # the simulated directory may hold namesakes too
    _fits(page, shots, "members-search")
    page.goto(f"{base}/members")
    names = page.locator(".members-table tbody tr td:first-child").all_inner_texts()
    assert "Ångström, Anders" in names and names.index("Ångström, Anders") < names.index("Brown, Amelia")
    _fits(page, shots, "members")

    # Find a person: the invited member is a member.
    page.goto(f"{base}/integrations/{integration_id}/trace?q=%C3%89lodie")
    found = page.locator("main").inner_text()
    assert "Élodie Lefèvre" in found and "not a member" not in found, found[:1500]

    # API tokens: create, reload, one token; the page fits a phone with it.
    page.goto(f"{base}/settings/api-tokens")
    page.get_by_label("Name").fill("Payroll sync")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url("**/settings/api-tokens")
    assert page.locator("[data-new-token]").inner_text().startswith("hrs_")
    _fits(page, shots, "tokens-new")
    page.reload()
    assert page.locator("[data-new-token]").count() == 0
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken).where(
            ApiToken.programme_id == programme_id, ApiToken.name == "Payroll sync")) == 1
    _fits(page, shots, "tokens")

    page.goto(f"{base}/emails")
    page.locator("[data-caught] summary").first.click()  # open the message: its long link must wrap
    _fits(page, shots, "sent-emails")
    page.locator("[data-caught]").first.screenshot(path=str(shots / "sent-emails-message-390x844.png"))
    for path, name in ( (f"/integrations/{integration_id}/runs", "history"),
                       ("/integrations?tab=mine", "integrations"), ("/integrations?tab=explore", "explore"),
                       (f"/integrations/{integration_id}", "dashboard")):
        page.goto(base + path)
        _fits(page, shots, name)
    page.goto(f"{base}/integrations/{integration_id}/runs")
    page.locator("tbody tr a").first.click()
    page.wait_for_load_state()
    _fits(page, shots, "run")
    context.close()

    # "Summer2024!" on the invitation page: refused, with a reason a person understands.
    member = browser.new_context(viewport={"width": 390, "height": 844})
    welcome = member.new_page()
    welcome.goto(f"{base}/welcome/{invitation}")
    for weak, reason in (("Summer2024!", "too easy to guess"), ("niahook2026", "built from your own name")):
        welcome.locator("input[name=password]").fill(weak)
        welcome.locator("input[name=confirm]").fill(weak)
        welcome.locator("button[type=submit]").click()
        welcome.wait_for_load_state()
        assert reason in welcome.locator("main").inner_text(), weak
    _fits(welcome, shots, "password-refused")
    member.close()

    # A read-only administrator: no action they cannot take, on every page they reach from the menu.
    read_only = browser.new_context(viewport={"width": 1366, "height": 900})
    page = read_only.new_page()
    sign_in_page(page, base, viewer, "/integrations")
    assert page.get_by_text("Explore integrations").count() == 0
    for path, name in ((f"/integrations/{integration_id}", "ro-dashboard"),
                       (f"/integrations/{integration_id}/runs", "ro-history"), ("/members", "ro-members")):
        page.goto(base + path)
        links = [h for h in page.locator("main a").evaluate_all("els => els.map(e => e.getAttribute('href'))") if h]
        assert not [h for h in links if "/setup/" in h or h.endswith("/import") or h.endswith("/new")], links
        assert page.get_by_role("link", name="Import data now").count() == 0
        _fits(page, shots, name)
    page.goto(f"{base}/integrations/{integration_id}/setup/mapping")  # typed by hand: the dashboard, and why
    assert page.url.endswith(f"/integrations/{integration_id}")
    assert "Your role is read-only" in page.locator("main").inner_text()
    read_only.close()
