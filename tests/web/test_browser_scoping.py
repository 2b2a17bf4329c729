"""Scoping rules in Debian's Chromium: an exclude rule added in the mapping step, its count on the
review step's preview. Screenshots at 1366×900 and 390×844 land in ``artifacts/<test name>/``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD, Portal
from tests.web.test_wizard import _authorize, _start

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_exclude_rule_added_in_the_mapping_step_is_counted_on_the_review_step(
    portal: Portal, browser: Any, artifacts_dir: Path, worker: Any
) -> None:
    from playwright.sync_api import expect

    _, _, email = portal.new_admin(programme="Scoping Co")
    client = portal.sign_in(email)
    integration_id = _start(portal, client)
    assert _authorize(portal, client, integration_id).status_code == 200

    context = browser.new_context(base_url=portal.base_url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/integrations/{integration_id}/setup/mapping")
    expect(page.get_by_role("heading", name="Who is imported")).to_be_visible()

    row = page.locator('[data-rule-row="0"]')
    row.get_by_label("Include or exclude").select_option("exclude")
    row.get_by_label("Field").select_option(label="Work type")
    row.get_by_label("Condition").select_option("equals")
    row.get_by_label("Values").fill("temporary/casual")  # compared ignoring case
    row.get_by_label("Name").fill("casual workers")
    page.get_by_role("button", name="Add another rule").click()  # the form again, as typed, one row more
    expect(page.locator('[data-rule-row="1"]')).to_be_visible()
    expect(page.locator('[data-rule-row="0"]').get_by_label("Name")).to_have_value("casual workers")
    page.locator("#scope").screenshot(path=str(artifacts_dir / "mapping-scope-1366x900.png"))
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/setup/review"))

    page.get_by_role("button", name="Preview the first import").click()
    line = page.locator('[data-scope-line="0"]')
    expect(line).to_contain_text(re.compile(r"Excludes \d+ casual workers \(Work type is temporary/casual\)"),
                                 timeout=90_000)  # the portal's worker runs the preview
    excluded = int(re.search(r"Excludes (\d+)", line.inner_text()).group(1))  # type: ignore[union-attr]
    assert excluded > 0
    expect(line).to_contain_text("For example:")
    ignored = int(page.locator('[data-count="ignored"]').inner_text().replace(",", ""))
    assert ignored >= excluded  # never created: counted with the inactive people who are not members
    page.screenshot(path=str(artifacts_dir / "review-scope-1366x900.png"), full_page=True)

    for width, height, path in ((390, 844, f"/integrations/{integration_id}/setup/mapping"),
                                (390, 844, f"/integrations/{integration_id}/setup/review")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(path)
        name = "mapping" if path.endswith("mapping") else "review"
        page.screenshot(path=str(artifacts_dir / f"{name}-scope-{width}x{height}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the rule is stored: the mapping step shows it again
    expect(page.locator('[data-scope-line="0"]')).to_be_visible()
    assert errors == [], errors
    context.close()
