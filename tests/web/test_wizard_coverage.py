"""The mapping step of a tenant that hides employee numbers: coverage per mapped field, the key warning
with its one-click intelliHR ID, publishing refused until then; screenshots at two sizes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import Portal, csrf_of, start_portal
from tests.web.test_wizard import _authorize, _integration, _start

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    yield from start_portal(tmp_path_factory, employee_numbers=False)


def _to_mapping(portal: Portal, email: str) -> tuple[object, int]:
    client = portal.sign_in(email)
    integration_id = _start(portal, client)
    assert _authorize(portal, client, integration_id).status_code == 200
    portal.post_form(client, f"/integrations/{integration_id}/setup/authorize",
                     f"/integrations/{integration_id}/setup/authorize")
    return client, integration_id


def test_mapping_step_warns_offers_the_intellihr_id_and_publishing_waits_for_it(portal: Portal) -> None:
    email = portal.new_admin()[2]
    client, integration_id = _to_mapping(portal, email)
    base = f"/integrations/{integration_id}"
    page = client.get(f"{base}/setup/mapping")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert "data-key-warning" in page.text and "Employee ID would be empty for everyone" in page.text
    assert "Employee number is blank for all 120 people we sampled" in page.text
    assert re.search(r'data-coverage="employee_id">0 of 120 have a value \(nobody has one: a person without an '
                     r'Employee ID is skipped\)<', page.text)
    email_line = re.search(r'data-coverage="email">(\d+) of 120 have a value · e\.g\. <span class="example">([^<]+)<',
                           page.text)
    assert email_line and int(email_line.group(1)) > 100
    assert re.fullmatch(r"\w•••@[\w.-]+", email_line.group(2))  # the local part is masked
    assert re.search(r'data-coverage="first_name">120 of 120 have a value · e\.g\. <span class="example">\w', page.text)
    assert "None" not in re.sub(r"<[^>]+>", "", page.text)

    # review → publish is refused with the explanation while the key would skip everyone
    portal.post_form(client, f"{base}/setup/mapping", f"{base}/setup/mapping",  # type: ignore[arg-type]
                     {"map.employee_id": "employeeNumber", "map.email": "primaryEmailAddress"})
    refused = portal.post_form(client, f"{base}/setup/review", f"{base}/setup/publish")  # type: ignore[arg-type]
    assert refused.headers["location"] == f"{base}/setup/review"
    review = client.get(f"{base}/setup/review")  # type: ignore[attr-defined]
    assert "blank for all 120 sampled people" in review.text and "intelliHR ID" in review.text
    assert _integration(integration_id).status == "draft"

    # one click: the intelliHR ID becomes the key; the warning is gone and publishing works
    page = client.get(f"{base}/setup/mapping")  # type: ignore[attr-defined]
    used = client.post(f"{base}/setup/mapping/fallback-key",  # type: ignore[attr-defined]
                       data={"csrf_token": csrf_of(page.text)})
    assert used.status_code == 303
    assert _integration(integration_id).mapping["employee_id"] == "autoIncrementIntellihrId"
    page = client.get(f"{base}/setup/mapping")  # type: ignore[attr-defined]
    assert "data-key-warning" not in page.text
    assert re.search(r'data-coverage="employee_id">120 of 120 have a value · e\.g\. <span class="example">\d+<',
                     page.text)
    published = portal.post_form(client, f"{base}/setup/review", f"{base}/setup/publish")  # type: ignore[arg-type]
    assert published.headers["location"] == base
    assert _integration(integration_id).status == "live"


def test_email_from_a_name_field_is_shown_and_publishing_is_refused(portal: Portal) -> None:
    email = portal.new_admin()[2]
    client, integration_id = _to_mapping(portal, email)
    base = f"/integrations/{integration_id}"
    saved = portal.post_form(client, f"{base}/setup/mapping", f"{base}/setup/mapping",  # type: ignore[arg-type]
                             {"map.employee_id": "autoIncrementIntellihrId", "map.email": "firstName"})
    assert saved.status_code == 303
    page = client.get(f"{base}/setup/mapping")  # type: ignore[attr-defined]
    assert "Nobody would be imported with this mapping." in page.text
    assert "Email (from &#39;firstName&#39;) is not an e-mail address" in page.text
    refused = portal.post_form(client, f"{base}/setup/review", f"{base}/setup/publish")  # type: ignore[arg-type]
    assert refused.headers["location"] == f"{base}/setup/review"
    assert _integration(integration_id).status == "draft"


@pytest.mark.browser
def test_screenshots_of_the_mapping_step_without_employee_numbers(portal: Portal, browser: object) -> None:
    email = portal.new_admin()[2]
    _client, integration_id = _to_mapping(portal, email)
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(f"{portal.base_url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", "correct horse battery staple")
        page.click("button[type=submit]")
        page.wait_for_url("**/integrations**")
        page.goto(f"{portal.base_url}/integrations/{integration_id}/setup/mapping")
        assert page.locator("[data-key-warning]").is_visible()
        assert page.locator("[data-use-fallback-key]").is_visible()
        scroll = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert scroll <= 0, f"sideways scroll of {scroll}px at {width}px"
        assert "None" not in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / f"mapping-no-employee-numbers-{width}x{height}.png"), full_page=True)
        context.close()
