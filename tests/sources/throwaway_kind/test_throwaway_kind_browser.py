"""The throwaway kind's wizard in Chromium: the catalogue card, the Connect step built from its settings
(a refused secret, then an accepted one) and the Mapping step in its words, at 1366x900 and 390x844."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.sources.throwaway_kind.test_throwaway_kind import TOKEN, _person, _roster
from tests.web.conftest import Portal, signed_in_page
from tests.web.test_browser_membership_file import _shot

pytestmark = pytest.mark.browser

FITS = "document.documentElement.scrollWidth <= window.innerWidth + 1"


def _fits_both_sizes(page: Any, what: str) -> None:
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate(FITS), f"{what} scrolls sideways at {width}x{height}"
    page.set_viewport_size({"width": 1280, "height": 860})


def test_an_administrator_connects_a_kind_through_its_own_settings(
    portal: Portal, browser: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    folder = _roster(tmp_path / "browser-roster", [_person(6), _person(7)])
    context, page, errors = signed_in_page(portal, browser, "Roster Rewards")
    page.get_by_role("link", name="Explore integrations").click()
    page.get_by_label("Search integrations").fill("roster")
    page.get_by_label("Search integrations").press("Enter")
    card = page.locator('a.app-card[data-integration="roster"]')
    expect(card).to_contain_text("Roster file")
    card.click()

    page.locator("label.choice", has_text="Manual only").click()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Connect Roster file")).to_be_visible()
    expect(page.locator('ol.steps li[aria-current="step"]')).to_contain_text("Connect")
    page.get_by_label("Roster folder").fill(str(folder))
    page.get_by_label("Roster token").fill("wrong-token")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("[data-settings-error]")).to_contain_text("The roster refused this token.")
    expect(page.get_by_label("Roster token")).to_have_value("")  # a secret is never filled back in
    _shot(page, artifacts_dir, "01-connect-refused", sizes=True)
    _fits_both_sizes(page, "the Connect step")

    page.get_by_label("Roster token").fill(TOKEN)
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("Roster field")
    _shot(page, artifacts_dir, "02-mapping", sizes=True)
    _fits_both_sizes(page, "the Mapping step")

    page.goto(page.url.replace("/setup/mapping", "/setup/settings"))
    expect(page.locator("[data-stored-secret]")).to_contain_text(f"…{TOKEN[-4:]}")
    _shot(page, artifacts_dir, "03-connect-stored", sizes=True)
    assert errors == []
    context.close()
