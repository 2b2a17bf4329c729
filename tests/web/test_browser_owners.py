"""In Chromium (issue 23): an administrator adds a member by hand (a taken employee ID refused first,
naming the integration that owns it), sees who manages the member, marks them ineligible and eligible
again; a membership-file draft whose preview met intelliHR members offers to adopt them at publish,
with counts, and publishing with that choice hands them over. Screenshots of each page at 1366×900
and 390×844, with no page wider than the window."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import browser
from tests.web.conftest_b import World, members_of, wait_for_run, world
from tests.web.test_browser_layout import _sign_in_admin, shots_at_both_sizes

from hrsync.services.integrations import create_integration
from hrsync.store import session_scope
from hrsync.store.models import AdminUser, Programme
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run

__all__ = ["browser", "world"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_add_a_member_by_hand_mark_them_ineligible_and_adopt_at_publish(
    world: World, browser: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    acme = world.acme
    imported = sorted((m for m in members_of(acme.programme_id) if m.door == "integration" and m.email
                       and m.status in ("invited", "active")), key=lambda m: m.id)
    taken = imported[0]
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    _sign_in_admin(context, world.base_url, acme.admin_email)
    page = context.new_page()
    page.goto(f"{world.base_url}/members")
    shots_at_both_sizes(page, artifacts_dir, "members-list")

    page.get_by_role("link", name="Add a member").click()
    page.wait_for_url("**/members/new")
    page.get_by_label("Employee ID").fill(taken.employee_id or "")
    page.get_by_label("E-mail address").fill("gwendolyn.by-hand@acme.example")
    page.get_by_label("First name").fill("Gwendolyn")
    page.get_by_label("Last name").fill("Okonkwo-Hartley")
    page.get_by_role("button", name="Add member").click()
    error = page.locator("[data-form-error]").inner_text()
    assert f"already belongs to a member owned by the intelliHR integration #{acme.integration_id}" in error
    shots_at_both_sizes(page, artifacts_dir, "member-form-error")
    page.get_by_label("Employee ID").fill("HAND-42")
    page.get_by_role("button", name="Add member").click()
    page.wait_for_url(lambda url: url.rstrip("/").rsplit("/", 1)[1].isdigit())
    assert "The administrators (added by hand)" in page.locator("[data-owner]").inner_text()
    assert "None" not in page.locator("main").inner_text()
    shots_at_both_sizes(page, artifacts_dir, "member-manual")

    page.get_by_role("button", name="Mark ineligible").click()
    page.wait_for_load_state()
    assert "Leaver since" in page.content()
    shots_at_both_sizes(page, artifacts_dir, "member-manual-leaver")
    page.get_by_role("button", name="Eligible again").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Mark ineligible").count() == 1

    # A membership-file draft whose file carries two intelliHR members' employee IDs and one newcomer.
    folder = tmp_path / "drop"
    folder.mkdir()
    rows = [f"{m.employee_id};{m.email};{m.first_name or 'A'};{m.last_name or 'B'};Current Staff"
            for m in imported[1:3]]
    (folder / "members.csv").write_text("Employee Number;Work E-mail;Given name;Surname;Employment Status\n"
                                        + "\n".join([*rows, "NEW-1;new.one@acme.example;Nia;Newton;Current Staff"])
                                        + "\n", encoding="utf-8")
    settled = time.time() - 3600  # the drop folder takes only files that stopped changing
    os.utime(folder / "members.csv", (settled, settled))
    with session_scope() as session:
        programme = session.get(Programme, acme.programme_id)
        owner = session.get(AdminUser, acme.admin_id)
        assert programme is not None and owner is not None
        draft = create_integration(session, programme, owner, kind="membership_file", settings={"path": str(folder)})
        session.flush()
        draft_id = draft.id
        run_id = request_run(session, draft_id, trigger="preview", dry_run=True).id
    execute_run(run_id)
    assert wait_for_run(run_id).errors == 2
    page.goto(f"{world.base_url}/integrations/{draft_id}/setup/review")
    offer = page.locator(f"[data-adopt-from='{acme.integration_id}']").locator("xpath=..").inner_text()
    assert f"Adopt 2 members with matching employee IDs from intelliHR integration #{acme.integration_id}" in offer
    shots_at_both_sizes(page, artifacts_dir, "review-adoption")
    for width, height in ((1366, 900), (390, 844)):  # the choice itself, readable at full size
        page.set_viewport_size({"width": width, "height": height})
        page.locator("[data-adoption]").locator("xpath=..").screenshot(
            path=str(artifacts_dir / f"review-adoption-publish-{width}x{height}.png"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.locator(f"[data-adopt-from='{acme.integration_id}']").check()
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(f"**/integrations/{draft_id}")
    assert "It adopted 2 members." in page.content()
    moved = {m.employee_id: m.integration_id for m in members_of(acme.programme_id)}
    assert [moved[m.employee_id] for m in imported[1:3]] == [draft_id, draft_id]
    assert moved[imported[3].employee_id] == acme.integration_id
    page.goto(f"{world.base_url}/members/{imported[1].id}")
    assert "Handed to another integration" in page.content()
    older = page.get_by_role("link", name="import #1").get_attribute("href")  # still the former door's import
    assert older is not None and older.startswith(f"/integrations/{acme.integration_id}/runs/")
    shots_at_both_sizes(page, artifacts_dir, "member-adopted")
    context.close()
