"""In Chromium: sign in → integration dashboard → Tools → Import data now → Start → the bar
reaches 100 % → impact summary → download the error file and check its rows; then the import
history, the run page, members, API tokens and a member's home, each saved as a screenshot."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select
from tests.web.conftest import _free_port, browser
from tests.web.conftest_b import PASSWORD, World, world

from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.store import session_factory
from hrsync.store.models import ImportIssue, ImportRun

__all__ = ["browser", "world"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_import_data_now_with_live_progress_and_error_download(world: World, browser: Any,
                                                                artifacts_dir: Path) -> None:
    integration = world.acme.integration_id
    # Each page of the directory answers slowly, so the bar is seen moving.
    world.sim.faults.add("slow", times=3, delay=1.0)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{world.base_url}/login?next=/integrations/{integration}")
    page.get_by_label("E-mail address").fill(world.acme.admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/integrations/{integration}")
    _shot(page, artifacts_dir, "01-dashboard")

    page.get_by_text("Tools").click()
    page.get_by_role("menuitem", name="Import data now").click()
    page.wait_for_url(f"**/integrations/{integration}/import")
    _shot(page, artifacts_dir, "02-import-page")

    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(rf".*/integrations/{integration}/import\?run=\d+$"))
    run_id = int(page.url.rsplit("=", 1)[1])
    bar = page.locator("progress#import-progress")
    bar.wait_for()
    seen: list[str | None] = []
    shot_running = False
    while page.locator("[data-impact-summary]").count() == 0:
        with contextlib.suppress(PlaywrightError):  # the page may be reloading onto the summary
            seen.append(bar.get_attribute("value", timeout=2000))
            if not shot_running and seen[-1] not in (None, "0", "100"):
                _shot(page, artifacts_dir, "03-progress")
                shot_running = True
        page.wait_for_timeout(150)
    values = [int(v) for v in seen if v is not None]
    assert values and values == sorted(values), values  # the bar only moves forward
    assert any(0 < v < 100 for v in values), values      # and was seen in between
    assert bar.get_attribute("value") == "100"
    assert bar.get_attribute("aria-valuenow") == "100"
    summary = page.locator("[data-impact-summary]")
    assert "Impact on your programme" in summary.inner_text()
    _shot(page, artifacts_dir, "04-impact-summary")

    with session_factory()() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None and run.status == "succeeded_with_errors" and run.errors > 0
        expected = [(i.employee_id or "", i.code, i.message) for i in session.scalars(
            select(ImportIssue).where(ImportIssue.run_id == run_id, ImportIssue.severity == "error")
            .order_by(ImportIssue.id))]
    with page.expect_download() as info:
        summary.get_by_role("link", name=re.compile("Download errors")).click()
    download = info.value
    assert download.suggested_filename == f"run-{run_id}-errors.csv"
    saved = artifacts_dir / download.suggested_filename
    download.save_as(str(saved))
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"), newline=""), strict=True))
    assert rows[0] == ["Employee ID", "Name", "intelliHR ID", "Field", "Problem", "Message", "Problem code"]
    assert [(r[0], r[6], r[5]) for r in rows[1:]] == expected

    summary.get_by_role("link", name="See the members affected").click()
    page.wait_for_url(f"**/integrations/{integration}/runs/{run_id}")
    _shot(page, artifacts_dir, "05-run-page")
    page.goto(f"{world.base_url}/integrations/{integration}/runs")
    assert page.locator(f'tr[data-run-id="{run_id}"]').count() == 1
    _shot(page, artifacts_dir, "06-import-history")
    page.goto(f"{world.base_url}/integrations?tab=mine")  # the card words the run's status as the run pages do
    card = page.locator(f'a.app-card[href$="/integrations/{integration}"]').inner_text()
    assert "· Succeeded with errors" in card and "succeeded with errors" not in card, card
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        _shot(page, artifacts_dir, f"06b-my-integrations-{width}x{height}")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{world.base_url}/members")
    page.get_by_label("Search").fill("smith")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/members?q=smith**")
    _shot(page, artifacts_dir, "07-members-search")
    page.goto(f"{world.base_url}/settings/api-tokens")
    page.get_by_label("Name").fill("Payroll sync")
    page.get_by_role("button", name="Create token").click()
    assert page.locator("[data-new-token]").inner_text().startswith("hrs_")
    _shot(page, artifacts_dir, "08-api-token-created")
    context.close()


def test_member_sets_a_password_from_the_invitation_on_a_phone(world: World, browser: Any,
                                                               artifacts_dir: Path) -> None:
    # the invitation as the member receives it: its link is made when the e-mail is sent
    with MailCatcher("127.0.0.1", _free_port()) as mail:
        assert send_due(session_factory(), smtp_url=mail.url, limit=10_000).sent > 0
        invitations = [m for m in mail.messages if m.message.get("X-Hrsync-Kind") == "invitation"
                       and m.message.get("X-Hrsync-Programme") == str(world.acme.programme_id)]
    assert invitations
    token = re.search(r"/welcome/([A-Za-z0-9_\-]{20,})", invitations[-1].text())
    assert token
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{world.base_url}/welcome/{token.group(1)}")
    _shot(page, artifacts_dir, "01-welcome")
    page.get_by_label("Password", exact=True).fill("a long and memorable password")
    page.get_by_label("Type it again").fill("a long and memorable password")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url("**/me")
    assert page.locator("[data-member-details]").is_visible()
    _shot(page, artifacts_dir, "02-member-home")
    context.close()
