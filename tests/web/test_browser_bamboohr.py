"""BambooHR through the same wizard as intelliHR, in Debian's Chromium: sign in → Explore ("BambooHR")
→ Initial setup → Connect (a refused key, then the simulator's) → Mapping (the kind's default mapping, its
custom fields by name and its statuses) → Review → Publish → Import data now, 5,000 people → changes,
a leaver and a rehire in the simulator → import again → history and members.

Screenshots land in ``artifacts/<test name>/``; the Connect and Mapping steps and the dashboard are also
taken at 1366×900 and 390×844.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Portal, signed_in_page, start_portal
from tests.web.test_browser_membership_file import _shot

from hrsync.simulator.bamboohr import BambooSimulator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEY = "bamboo-browser-key-9012"
FITS = "document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(scope="module")
def bamboo() -> Iterator[BambooSimulator]:
    with BambooSimulator(people=5000, seed=11, company="acme", api_key=KEY) as sim:
        yield sim


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, bamboo: BambooSimulator) -> Iterator[Portal]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HRSYNC_BAMBOOHR_BASE_URL", bamboo.base_url)
        yield from start_portal(tmp_path_factory)


def _fits(page: Any, what: str) -> None:
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert page.evaluate(FITS), f"{what} scrolls sideways at {width}x{height}"
        text = page.locator("main").inner_text()
        assert "None" not in text and "intelliHR" not in text, f"{what} shows None or another kind's words"
    page.set_viewport_size({"width": 1280, "height": 860})


def _import(page: Any, artifacts_dir: Path, name: str) -> str:
    from playwright.sync_api import expect

    page.get_by_text("Tools").click()
    page.get_by_role("menuitem", name="Import data now").click()
    page.get_by_role("button", name="Start").click()
    expect(page.locator("[data-impact-summary]")).to_be_visible(timeout=180_000)
    expect(page.locator("progress#import-progress")).to_have_attribute("value", "100")
    _shot(page, artifacts_dir, name)
    assert "intelliHR" not in page.locator("main").inner_text()
    run = re.search(r"run=(\d+)", page.url)
    assert run, page.url
    return run.group(1)


def test_an_administrator_connects_bamboohr_and_imports_5000_people(
    portal: Portal, bamboo: BambooSimulator, browser: Any, artifacts_dir: Path, worker: Any
) -> None:
    from playwright.sync_api import expect

    company = bamboo.company
    today = date.today()
    context, page, errors = signed_in_page(portal, browser, "Bamboo Rewards")
    page.get_by_role("link", name="Explore integrations").click()
    page.get_by_label("Search integrations").fill("BambooHR")
    page.get_by_label("Search integrations").press("Enter")
    card = page.locator('a.app-card[data-integration="bamboohr"]')
    expect(card).to_contain_text("BambooHR")
    expect(page.locator('a.app-card[data-integration="intellihr"]')).to_have_count(0)
    _shot(page, artifacts_dir, "01-explore")
    card.click()

    page.locator("label.choice", has_text="Manual only").click()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", name="Connect BambooHR")).to_be_visible()
    page.get_by_label("BambooHR company domain").fill("https://acme.bamboohr.com/home")
    page.get_by_label("API key").fill("not-the-key")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("[data-settings-error]")).to_contain_text("BambooHR refused the API key")
    expect(page.get_by_label("API key")).to_have_value("")
    _shot(page, artifacts_dir, "02-connect-refused", sizes=True)
    _fits(page, "the Connect step")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
    expect(page.locator("#map-employee_id")).to_have_value("employeeNumber")
    expect(page.locator("#map-email")).to_have_value("workEmail")
    expect(page.locator("#map-first_name")).to_have_value("firstName")
    expect(page.locator("#map-department option", has_text="Shirt size")).to_have_count(1)
    statuses = page.locator("table.status-table")
    expect(statuses).to_contain_text("Active (future hire date)")
    expect(statuses).not_to_contain_text("Current Staff")
    _shot(page, artifacts_dir, "03-mapping", sizes=True)
    _fits(page, "the Mapping step")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Review and publish")).to_be_visible()
    assert "intelliHR" not in page.locator("main").inner_text()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("BambooHR is live.")).to_be_visible()
    expect(page.locator(".page-head .app-logo")).to_have_text("BHR")
    expect(page.locator(".page-head .lead")).to_have_text("https://acme.bamboohr.com")
    _shot(page, artifacts_dir, "04-dashboard", sizes=True)
    _fits(page, "the dashboard")
    dashboard = page.url

    bad = {int(i) for ids in company.bad_records().values() for i in ids}
    invited = [e for e in company.employees.values()
               if e.id not in bad and e.status(today) == "Active" and e.hire_date <= today]
    first = _import(page, artifacts_dir, "05-first-import")
    page.goto(f"{dashboard}/runs")
    row = page.locator(f'tr[data-run-id="{first}"]')
    expect(row.locator("td").nth(5)).to_have_text(f"{len(invited):,}")  # Created
    _shot(page, artifacts_dir, "06-history")

    renamed, leaving, boomerang = invited[200], invited[201], invited[202]
    company.change(renamed.id, firstName="Zoë")
    company.terminate(leaving.id, (today - timedelta(days=1)).isoformat())
    company.terminate(boomerang.id, (today - timedelta(days=2)).isoformat())
    page.goto(dashboard)
    second = _import(page, artifacts_dir, "07-second-import")
    company.rehire(boomerang.id)
    page.goto(dashboard)
    third = _import(page, artifacts_dir, "08-third-import")

    page.goto(f"{dashboard}/runs")
    expect(page.locator(f'tr[data-run-id="{second}"] td').nth(4)).to_contain_text(re.compile("succeeded", re.I))
    expect(page.locator(f'tr[data-run-id="{third}"]')).to_have_count(1)
    _shot(page, artifacts_dir, "09-history")
    page.goto("/members")
    page.get_by_label("Search").fill(leaving.work_email or "")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text(re.compile("leaver", re.I))
    page.get_by_label("Search").fill(renamed.work_email or "")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text("Zoë")
    _shot(page, artifacts_dir, "10-members")
    assert errors == [], errors
    context.close()
