"""The SCIM door in the portal, as an administrator walks it in Chromium (docs/scim.md, "In the portal").

Catalogue card → Set up → Mapping (one mapping changed) → Review and publish → the token shown once →
a real SCIM client creates a member with that token over HTTP, with the changed mapping → the
integration's page without the import cards → Rotate token: the old token is refused at once, the new
one works. At 1366×900 and 390×844, with screenshots, no sideways scroll, no "None".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web.conftest import PASSWORD, Portal, browser, portal, sign_in_page  # noqa: F401 - fixtures
from tests.web.test_browser_layout import overflow_of

from hrsync.security.passwords import hash_password
from hrsync.store import session_scope
from hrsync.store.models import AdminUser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"laptop": (1366, 900), "phone": (390, 844)}
SHOTS = Path("/tmp/shots-scim")
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM_JSON = "application/scim+json"


def _look(page: Any, name: str, problems: list[str]) -> str:
    """Screenshot the page at both sizes; note any sideways overflow or a "None"; the page's text."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
        problems.extend(f"{name} at {size}: {p}" for p in overflow_of(page))
    page.set_viewport_size({"width": 1366, "height": 900})
    text = page.inner_text("body")
    if "None" in text:
        problems.append(f"{name}: shows None")
    return text


def _scim(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url + "/scim/v2", timeout=60.0, headers={
        "Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON, "Accept": SCIM_JSON})


def test_an_administrator_sets_up_scim_publishes_provisions_and_rotates_the_token(
        portal: Portal, browser: Any) -> None:  # noqa: F811
    programme_id, _, email = portal.new_admin(programme="SCIM in the portal")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    sign_in_page(page, portal.base_url, email, "/integrations?tab=explore")

    page.locator('a.app-card[href="/integrations/new/scim"]').click()  # the catalogue card
    page.wait_for_url("**/integrations/new/scim")
    _look(page, "1-setup", problems)
    page.get_by_label("Name").fill("Entra ID, head office")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url("**/setup/mapping")
    mapping_text = _look(page, "2-mapping", problems)
    assert "Employment status" not in mapping_text and "Who is imported" not in mapping_text
    assert page.locator("#map-employee_id").input_value() == "employeeNumber|externalId"
    assert page.locator("#map-email").input_value() == "emails.work|emails.primary|emails.first|userName"
    page.locator("#map-department").select_option("division")  # department from the enterprise division
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/scim/review")
    review_text = _look(page, "3-review", problems)
    assert "Enterprise division" in review_text and "Entra ID, head office" in review_text
    page.get_by_role("button", name="Publish and show the token").click()
    page.wait_for_selector("[data-scim-token]")
    token = page.locator("[data-scim-token]").inner_text().strip()
    base = page.locator("[data-scim-base]").inner_text().strip()
    token_text = _look(page, "4-token", problems)
    assert token.startswith("scim_") and "it will not be shown again" in token_text
    assert base.endswith("/scim/v2") and "Microsoft Entra ID" in token_text and "Okta" in token_text
    integration_url = page.locator("[data-done]").get_attribute("href")
    assert integration_url is not None

    with _scim(portal.base_url, token) as client:  # a real SCIM client, with the token just shown
        created = client.post("/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "userName": "ria@acme.test",
            "name": {"givenName": "Ria", "familyName": "Stone"}, "title": "Analyst",
            "emails": [{"value": "ria@acme.test", "type": "work", "primary": True}],
            ENTERPRISE: {"employeeNumber": "R-7", "department": "Sales", "division": "Research"}})
        assert created.status_code == 201, created.text
        user = client.get(f"/Users/{created.json()['id']}").json()
    assert user[ENTERPRISE]["employeeNumber"] == "R-7" and user["emails"][0]["value"] == "ria@acme.test"
    assert user[ENTERPRISE]["department"] == "Research"  # the mapping changed in the portal
    assert (user["name"]["givenName"], user["name"]["familyName"], user["title"]) == ("Ria", "Stone", "Analyst")

    page.locator("[data-done]").click()
    page.wait_for_url(f"**{integration_url}")
    dashboard = _look(page, "5-integration", problems)
    assert token not in page.content()  # never again, not even in the markup
    assert page.locator("[data-trace-search]").count() == 0  # no import cards for a push door
    assert page.locator(f'a[href="{integration_url}/import"]').count() == 0
    assert "Next import" not in dashboard and "Schedule" not in dashboard and "Import data now" not in dashboard
    assert "Entra ID, head office" in dashboard and token[:12] in dashboard
    assert page.locator("[data-scim-token-state]").inner_text().count("by") == 1  # made when, by whom

    page.locator("[data-rotate-token]").click()
    page.wait_for_url("**/scim/rotate")
    _look(page, "6-rotate-confirm", problems)
    page.locator("[data-rotate-confirm]").click()
    page.wait_for_selector("[data-scim-token]")
    new_token = page.locator("[data-scim-token]").inner_text().strip()
    rotated_text = _look(page, "7-new-token", problems)
    assert new_token.startswith("scim_") and new_token != token and "old token stopped working" in rotated_text
    with _scim(portal.base_url, token) as old, _scim(portal.base_url, new_token) as new:
        assert old.get("/Users").status_code == 401  # the old one died at once
        listed = new.get("/Users", params={"filter": 'userName eq "ria@acme.test"'})
        assert listed.status_code == 200 and listed.json()["totalResults"] == 1
    page.goto(portal.base_url + integration_url)
    assert "Rotated" in page.locator("[data-scim-token-state]").inner_text()
    page.locator("details.tools summary").click()  # paused: the token's state in words, never a status code
    page.get_by_role("menuitem", name="Pause").click()
    page.wait_for_url(f"**{integration_url}")
    paused = _look(page, "7b-paused", problems)
    assert page.locator("[data-scim-token-state] .stat-value").inner_text() == "Refused while the integration is paused"
    assert "Refused while paused" not in paused, paused
    context.close()

    # a read-only administrator sees the page without the buttons they cannot use
    viewer = f"viewer-scim@{programme_id}.example.com"
    with session_scope() as session:
        session.add(AdminUser(programme_id=programme_id, email=viewer, role="read_only",
                              password_hash=hash_password(PASSWORD)))
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    sign_in_page(page, portal.base_url, viewer, integration_url)
    _look(page, "8-integration-read-only", problems)
    assert page.locator("[data-rotate-token]").count() == 0
    assert page.locator(f'a[href="{integration_url}/scim/rotate"]').count() == 0
    assert page.locator(f'form[action="{integration_url}/pause"]').count() == 0
    context.close()
    assert not problems, "\n".join(problems)
