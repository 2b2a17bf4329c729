"""In Chromium, at 1366x900 and 390x844: the pages issue 22's smaller findings changed, each showing its
refusal: the API tokens page of an administrator (no *Revoke* on an owner's token), a member's password
change locked after five wrong current passwords, and the File step refusing an over-long file name."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.web.conftest import PASSWORD, Portal, browser, sign_in_page
from tests.web.test_browser_layout import overflow_of
from tests.web.test_wizard_membership_file import GOOD, _start

from hrsync.security.passwords import hash_password
from hrsync.services.api_tokens import create_api_token
from hrsync.store.db import session_scope
from hrsync.store.models import AdminUser, Member

__all__ = ["browser"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = ((1366, 900), (390, 844))
MEMBER_PASSWORD = "a member's long password"


def _shots(page: Any, folder: Path, name: str) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"{name}-{width}x{height}.png"), full_page=True)
        assert overflow_of(page) == [], (name, width, overflow_of(page))
        text = page.locator("main").inner_text()
        assert "None" not in text, (name, width)


def test_the_refusals_read_well_on_a_laptop_and_a_phone(portal: Portal, browser: Any, artifacts_dir: Path) -> None:
    programme_id, owner_id, _ = portal.new_admin()
    colleague = f"colleague-{uuid.uuid4().hex[:6]}@example.com"
    member_email = f"member-{uuid.uuid4().hex[:6]}@example.com"
    with session_scope() as session:
        session.add(AdminUser(programme_id=programme_id, email=colleague, name="Cole League", role="administrator",
                              password_hash=hash_password(PASSWORD)))
        session.add(Member(programme_id=programme_id, employee_id=uuid.uuid4().hex[:8], email=member_email,
                           first_name="Mia", last_name="Member", status="active", start_date=date(2020, 1, 1),
                           password_hash=hash_password(MEMBER_PASSWORD)))
        session.flush()
        mine = session.scalar(select(AdminUser).where(AdminUser.email_lower == colleague))
        create_api_token(session, programme_id, "Owner's payroll export", created_by=session.get(AdminUser, owner_id))
        create_api_token(session, programme_id, "Cole's nightly report", created_by=mine)

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    sign_in_page(page, portal.base_url, colleague, "/settings/api-tokens")
    rows = page.locator("tr[data-token-id]")
    assert rows.count() == 2
    for i in range(2):
        row = rows.nth(i)
        revocable = row.get_by_role("button", name="Revoke").count() == 1
        assert revocable == ("Cole" in row.inner_text()), row.inner_text()
    _shots(page, artifacts_dir, "tokens-administrator")

    integration_id = _start(portal, portal.sign_in(colleague))
    page.goto(f"{portal.base_url}/integrations/{integration_id}/setup/file")
    page.get_by_label("Membership file (CSV)").set_input_files(
        {"name": "staff-list-" + "x" * 290 + ".csv", "mimeType": "text/csv", "buffer": GOOD})
    page.get_by_role("button", name="Upload and continue").click()
    page.wait_for_selector('[data-upload-error="bad_file"]')
    assert "is too long" in page.locator('[data-upload-error="bad_file"]').inner_text()
    _shots(page, artifacts_dir, "file-step-long-name")
    context.close()

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{portal.base_url}/member/login")
        page.get_by_label("E-mail address").fill(member_email)
        page.get_by_label("Password").fill(MEMBER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/me")
        page.goto(f"{portal.base_url}/me/security")
        for attempt in range(5):
            page.get_by_label("Current password", exact=True).fill(f"wrong guess {attempt}")
            page.get_by_label("New password", exact=True).fill("a brand new long password")
            page.get_by_label("Type the new password again").fill("a brand new long password")
            page.get_by_role("button", name="Change password").click()
            page.wait_for_load_state()
        assert "paused for 15 minutes" in page.locator("main").inner_text()
        _shots(page, artifacts_dir, "member-password-locked")
    finally:
        portal.reset_throttle()
        context.close()
