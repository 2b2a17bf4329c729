"""The seed article's setup flow in Debian's Chromium: sign in → Explore → intelliHR → wizard → Live.

Screenshots of every step land in the artifacts folder (``artifacts/<test name>/``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import API_KEY, PASSWORD, TENANT, Portal, sign_in_page
from tests.web.test_browser_layout import shots_at_both_sizes

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_administrator_sets_up_intellihr_in_the_browser_and_it_goes_live(
    portal: Portal, browser: Any, artifacts_dir: Path, worker: Any
) -> None:
    from playwright.sync_api import expect

    _, _, email = portal.new_admin(programme="Acme Rewards")
    context = browser.new_context(base_url=portal.base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/integrations")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    _shot(page, artifacts_dir, "01-sign-in")
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    page.get_by_role("link", name="Explore integrations").click()
    page.get_by_label("Search integrations").fill("intelliHR")
    page.get_by_label("Search integrations").press("Enter")
    card = page.locator('a.app-card[data-integration="intellihr"]')
    expect(card).to_be_visible()
    _shot(page, artifacts_dir, "02-explore-search")
    card.click()

    expect(page.get_by_role("heading", name="Initial setup")).to_be_visible()
    page.locator("label.choice", has_text="Daily").click()
    page.get_by_label("Time of day").fill("06:30")
    expect(page.get_by_label("Send a welcome e-mail to newly added members")).to_be_checked()
    expect(page.get_by_label("Day of the week")).to_be_hidden()  # only for weekly imports
    _shot(page, artifacts_dir, "03-initial-setup")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Authorize the intelliHR account")).to_be_visible()
    _shot(page, artifacts_dir, "04-authorize")
    page.get_by_role("link", name="Authorize", exact=True).click()
    dialog = page.locator("dialog#authorize-dialog")
    expect(dialog).to_be_visible()
    subdomain = dialog.get_by_label("intelliHR subdomain")
    # Another host is refused at Next, before the key is asked for, with a line saying what to type.
    subdomain.fill(f"{TENANT}.intellihr.net.evil.test")
    dialog.get_by_role("button", name="Next").click()
    expect(dialog.locator("#m-subdomain-error")).to_contain_text("is not an intelliHR address")
    expect(dialog.locator("#m-subdomain-error")).to_contain_text("your-company")
    expect(dialog.locator("#m-url-preview")).to_be_hidden()
    expect(dialog.get_by_label("API key")).to_be_hidden()
    _shot(page, artifacts_dir, "05a-authorize-other-host-refused")
    # The intelliHR article's form of the address, pasted with a space: previewed as the real address.
    article_form = f"https://{TENANT.capitalize()}.intelliHR.net/ "
    subdomain.fill(article_form)
    expect(dialog.locator("#m-url-preview")).to_have_text(f"https://{TENANT}.intellihr.net")
    expect(dialog.locator("#m-subdomain-error")).to_be_hidden()
    _shot(page, artifacts_dir, "05-authorize-subdomain")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts_dir / f"05b-authorize-article-form-{width}x{height}.png"))
    page.set_viewport_size({"width": 1280, "height": 860})
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label("API key").fill("not-the-right-key-at-all")
    dialog.get_by_role("button", name="Authorize").click()
    error = dialog.locator("[data-auth-error]")
    expect(error).to_contain_text("intelliHR refused the API key")  # intelliHR's reason, shown in the modal
    _shot(page, artifacts_dir, "06-authorize-wrong-key")
    dialog.get_by_label("API key").fill(API_KEY)
    expect(dialog.get_by_text("Public API Access Keys", exact=True)).to_be_attached()
    _shot(page, artifacts_dir, "07-authorize-key")
    dialog.get_by_role("button", name="Authorize").click()
    expect(dialog.get_by_text("Your intelliHR account is authorized.")).to_be_visible()
    expect(dialog.locator("[data-confirm-last4]")).to_have_text("…" + API_KEY[-4:])
    _shot(page, artifacts_dir, "08-authorize-confirmation")
    dialog.get_by_role("button", name="Finish setup").click()  # saves the step: the wizard goes on at once
    expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
    page.goto(page.url.replace("/setup/mapping", "/setup/authorize"))  # it says what is stored; Save goes on too
    expect(page.locator("section .confirm-box")).to_contain_text(f"https://{TENANT}.intellihr.net")
    assert API_KEY not in page.content()
    _shot(page, artifacts_dir, "09-authorized")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
    expect(page.locator("#map-employee_id")).to_have_value("employeeNumber")
    expect(page.locator("#map-email")).to_have_value("primaryEmailAddress")
    expect(page.get_by_text("Unique key", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Employment status")).to_be_visible()
    _shot(page, artifacts_dir, "10-mapping")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Review and publish")).to_be_visible()
    page.get_by_role("button", name="Preview the first import").click()  # a dry run, started by a click
    counts = page.locator("[data-preview-counts]")
    expect(counts).to_be_visible()
    created = int(counts.locator('[data-count="created"]').inner_text())
    assert created > 0
    _shot(page, artifacts_dir, "11-review-preview")
    page.get_by_role("button", name="Publish").click()

    expect(page.get_by_role("heading", name=re.compile("intelliHR"))).to_be_visible()
    expect(page.locator(".page-head .badge-live")).to_have_text("Live")
    expect(page.get_by_text("intelliHR is live.")).to_be_visible()
    _shot(page, artifacts_dir, "12-dashboard-live")
    page.get_by_text("Tools").click()
    expect(page.get_by_role("menuitem", name="Import data now")).to_be_visible()
    _shot(page, artifacts_dir, "13-dashboard-tools")
    assert errors == [], errors

    phone = browser.new_context(base_url=portal.base_url, viewport={"width": 390, "height": 844},
                                storage_state=context.storage_state())
    small = phone.new_page()
    small.goto("/integrations")
    expect(small.get_by_text("Open dashboard →")).to_be_visible()
    _shot(small, artifacts_dir, "14-phone-integrations")
    phone.close()
    context.close()


def test_the_address_preview_asks_again_when_a_check_is_dropped(
    portal: Portal, browser: Any, artifacts_dir: Path
) -> None:
    """The live preview of the subdomain as typed: a check lost on the way (the connection dropped) is asked
    again, so the preview still comes; when no check gets through, the refusal of the value typed before is
    cleared rather than left beside the new one, and Next asks again once the portal answers."""
    from playwright.sync_api import Route, expect

    from hrsync.services.integrations import create_integration
    from hrsync.store.db import session_scope
    from hrsync.store.models import AdminUser, Programme

    programme_id, admin_id, email = portal.new_admin()
    with session_scope() as session:
        programme, admin = session.get(Programme, programme_id), session.get(AdminUser, admin_id)
        assert programme is not None and admin is not None
        integration_id = create_integration(session, programme, admin).id  # a draft without access yet
    context = browser.new_context(base_url=portal.base_url, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, portal.base_url, email, f"/integrations/{integration_id}/setup/authorize")
    page.get_by_role("link", name="Authorize", exact=True).click()
    dialog = page.locator("dialog#authorize-dialog")
    subdomain = dialog.get_by_label("intelliHR subdomain")
    preview, refusal = dialog.locator("#m-url-preview"), dialog.locator("#m-subdomain-error")

    subdomain.fill(f"{TENANT}.intellihr.net.evil.test")
    expect(refusal).to_contain_text("is not an intelliHR address")

    dropped: list[str] = []
    drop_all = False

    def drop(route: Route) -> None:
        if drop_all or not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    checks = re.compile(r"/authorize/subdomain\?")
    page.route(checks, drop)
    subdomain.fill(f"https://{TENANT.capitalize()}.intelliHR.net/ ")  # the first check of it is dropped
    expect(preview).to_have_text(f"https://{TENANT}.intellihr.net")
    expect(refusal).to_be_hidden()
    assert len(dropped) == 1
    shots_at_both_sizes(page, artifacts_dir, "preview-after-a-dropped-check")

    subdomain.fill(f"{TENANT}.intellihr.net.evil.test")
    expect(refusal).to_contain_text("is not an intelliHR address")
    drop_all, dropped[:] = True, []
    subdomain.fill(TENANT)  # no check of it gets through: one and three more, then what was shown goes
    expect(refusal).to_be_hidden(timeout=15_000)
    expect(preview).to_be_hidden()
    assert subdomain.get_attribute("aria-invalid") is None
    assert len(dropped) == 4, dropped
    shots_at_both_sizes(page, artifacts_dir, "no-check-got-through")

    page.unroute(checks)
    dialog.get_by_role("button", name="Next").click()  # asked again, answered: the key is asked for next
    expect(dialog.get_by_label("API key")).to_be_visible()
    expect(preview).to_have_text(f"https://{TENANT}.intellihr.net")
    assert errors == []
    context.close()
