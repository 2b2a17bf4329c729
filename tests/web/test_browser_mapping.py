"""The mapping step in Debian's Chromium: custom fields by their human names, person and job apart.

Screenshots at 1366×900 and 390×844 land in ``artifacts/<test name>/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD, Portal
from tests.web.test_wizard import _authorize, _start

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_mapping_step_groups_custom_fields_by_human_name(portal: Portal, browser: Any, artifacts_dir: Path) -> None:
    from playwright.sync_api import expect

    _, _, email = portal.new_admin(programme="Mapping Co")
    client = portal.sign_in(email)
    integration_id = _start(portal, client)
    assert _authorize(portal, client, integration_id).status_code == 200

    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(base_url=portal.base_url, viewport={"width": width, "height": height})
        context.set_default_timeout(60_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto("/login")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/integrations/{integration_id}/setup/mapping")
        expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
        job_group = page.locator("#map-job_title optgroup[label='Job custom fields']")
        expect(job_group.locator("option")).to_contain_text(["Shift pattern", "Job cost code"])
        expect(page.locator("#map-job_title optgroup[label='Person custom fields']")).to_be_attached()
        expect(page.get_by_text("Job custom fields", exact=True)).to_be_visible()
        expect(page.get_by_label("Job cost code")).to_be_visible()
        expect(page.locator(".pill-sensitive").first).to_be_visible()
        page.screenshot(path=str(artifacts_dir / f"mapping-{width}x{height}.png"), full_page=True)
        page.locator("#extra-title").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / f"mapping-custom-{width}x{height}.png"))
        assert errors == [], errors
        # nothing wider than the window on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        context.close()
