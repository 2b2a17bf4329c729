"""The intelliHR article's steps, in the article's words, in Debian's Chromium at 1366×900.

Each phrase the test looks for on a page is first checked to be in the article's sentences kept
below (:data:`ARTICLE`, quoted word for word from the published "intelliHR integration" help article
the product starts from), so the portal and the article a customer reads cannot drift apart unnoticed.
Screenshots of every step land in ``artifacts/<test name>/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import API_KEY, PASSWORD, TENANT, Portal

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: The article's sentences this test checks against, quoted as published (Reward Gateway's help article
#: on the intelliHR integration; copied into the test so that it needs nothing beside the checkout).
ARTICLE = """
To enable the IntelliHR integration, log into the Reward Manager portal, go to Integrations on the left
and search for IntelliHR under the Explore Integrations tab.
Click on the integration icon which will lead you straight to the Initial Setup.
Step 1: Initial Setup
Select the import frequency, date format and whether you wish to send Welcome communication to newly
added members. We recommend ticking the Welcome e-mail option, as this provides easy first-time access to
the platform to new users and allows them to set up a password.
Step 2: Authorize the IntelliHR Account
Before Reward Gateway can access your IntelliHR data, you must authorize Reward Gateway to access your
IntelliHR account. To do this, click the Authorize button.
Add the IntelliHR subdomain (which will be something like https://your-company.intelliHR.net)
In the next step, you will be asked to enter your API key.
Go to Public API Access Keys
Click on Create Access Key
Add Access Key Name
After you authorize your account see the confirmation message, click Finish Setup and then Save.
Step 3: Mapping
Once ready, click ‘Save’.
By default, Reward Gateway maps the Employee ID to uniquely identify a member. Any other additional
mapping fields can be mapped during this stage, however, the Email Address field must be mapped as it is
a mandatory field to create an account with Reward Gateway.
Step 4: Review and Publish
At this stage, you can review the details and if you’re happy, publish the connection.
You also have the option of going to the integration Dashboard and selecting the "Import History" option
to see a log of all data syncs that have been performed on your platform.
You have the option to trigger the import on-demand from 'Import data now' link in the tools dropdown.
"""
SIZE = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def article() -> str:
    return " ".join(ARTICLE.split()).lower()


def _said(article: str, phrase: str) -> re.Pattern[str]:
    """The article's phrase (asserted to be in it), as a case-insensitive pattern for the page."""
    assert phrase.lower() in article, f"the article does not say {phrase!r}"
    return re.compile(re.escape(phrase), re.IGNORECASE)


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_the_articles_steps_in_its_own_words(
    portal: Portal, browser: Any, artifacts_dir: Path, worker: Any, article: str
) -> None:
    from playwright.sync_api import expect

    _, _, email = portal.new_admin(programme="Article Rewards")
    context = browser.new_context(base_url=portal.base_url, viewport=SIZE)
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/login?next=/integrations")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # "go to Integrations on the left and search for IntelliHR under the Explore Integrations tab"
    page.get_by_role("navigation", name="Main").get_by_role("link", name=_said(article, "Integrations")).click()
    page.get_by_role("link", name=_said(article, "Explore Integrations")).click()
    page.get_by_label("Search integrations").fill("intelliHR")
    page.get_by_label("Search integrations").press("Enter")
    _shot(page, artifacts_dir, "01-explore-integrations")
    page.locator('a.app-card[data-integration="intellihr"]').click()  # "Click on the integration icon"

    # Step 1: Initial Setup — "Select the import frequency, date format and whether you wish to send Welcome …"
    expect(page.get_by_role("heading", name=_said(article, "Initial Setup"))).to_be_visible()
    expect(page.get_by_role("group", name=_said(article, "import frequency"))).to_be_visible()
    page.get_by_label(_said(article, "date format")).select_option("DD/MM/YYYY")
    welcome = page.get_by_label(_said(article, "Welcome e-mail"))
    expect(welcome).to_be_checked()  # "We recommend ticking the Welcome e-mail option"
    _shot(page, artifacts_dir, "02-initial-setup")
    page.get_by_role("button", name="Save and continue").click()

    # Step 2: Authorize the IntelliHR Account — "click the Authorize button", "a modal window"
    expect(page.get_by_role("heading", name=_said(article, "Authorize the IntelliHR Account"))).to_be_visible()
    _shot(page, artifacts_dir, "03-authorize")
    page.get_by_role("link", name=_said(article, "Authorize"), exact=True).click()
    dialog = page.locator("dialog#authorize-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label(_said(article, "IntelliHR subdomain")).fill(f"https://{TENANT}.intelliHR.net")
    _shot(page, artifacts_dir, "04-authorize-subdomain")
    dialog.get_by_role("button", name="Next").click()
    dialog.get_by_label(_said(article, "API key")).fill(API_KEY)
    # "How to generate the API key?": Settings → Public API Access Keys → Create Access Key
    for phrase in ("Public API Access Keys", "Create Access Key", "Access Key Name"):
        expect(dialog.get_by_text(_said(article, phrase)).first).to_be_attached()
    _shot(page, artifacts_dir, "05-authorize-api-key")
    dialog.get_by_role("button", name=_said(article, "Authorize"), exact=True).click()
    expect(dialog.get_by_text(re.compile("is authorized"))).to_be_visible()  # "see the confirmation message"
    _shot(page, artifacts_dir, "06-authorize-confirmation")
    # "click Finish Setup and then Save": Finish Setup saves the step itself (issue 25), no second click
    dialog.get_by_role("button", name=_said(article, "Finish Setup")).click()

    # Step 3: Mapping — "map the Employee ID to uniquely identify a member", "the Email Address field must be mapped"
    expect(page.get_by_role("heading", name=_said(article, "Mapping"), exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile("unique key", re.IGNORECASE)).first).to_be_visible()
    expect(page.locator("label[for='map-employee_id']")).to_contain_text(_said(article, "Employee ID"))
    expect(page.locator("label[for='map-email']")).to_contain_text(_said(article, "Email"))
    _shot(page, artifacts_dir, "07-mapping")
    page.get_by_role("button", name=_said(article, "Save"), exact=True).click()

    # Step 4: Review and Publish — "review the details and if you're happy, publish"
    expect(page.get_by_role("heading", name=_said(article, "Review and Publish"))).to_be_visible()
    settings = page.locator("section[aria-labelledby='settings-title']")
    for phrase in ("import frequency", "date format", "Welcome e-mail"):
        expect(settings.get_by_text(_said(article, phrase))).to_be_visible()
    expect(settings).to_contain_text("DD/MM/YYYY")
    page.get_by_role("button", name="Preview the first import").click()
    counts = page.locator("[data-preview-counts]")
    expect(counts).to_be_visible()  # the preview of the first import, started by a click
    sentence = page.locator("[data-people-read]").inner_text()
    read = int(re.match(r"([\d,]+) people read: ", sentence).group(1).replace(",", ""))  # type: ignore[union-attr]
    shown = [int(t.replace(",", "")) for t in counts.locator("[data-count]").all_inner_texts()]
    assert sum(shown) == read == len(portal.sim.directory.people())
    expect(page.locator("[data-people-read]")).to_contain_text("not imported because inactive and never members")
    examples = page.locator("details.examples").first.inner_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}", examples)
    _shot(page, artifacts_dir, "08-review")
    page.get_by_role("button", name=_said(article, "publish"), exact=True).click()

    # "the integration Dashboard", "the Import History option", "'Import data now' link in the tools dropdown"
    expect(page.locator(".page-head .badge-live")).to_have_text("Live")
    _shot(page, artifacts_dir, "09-dashboard-live")
    page.get_by_text("Tools").click()
    expect(page.get_by_role("menuitem", name=_said(article, "Import data now"))).to_be_visible()
    _shot(page, artifacts_dir, "10-dashboard-tools")
    page.get_by_role("menuitem", name=_said(article, "Import History")).click()
    expect(page.get_by_role("heading", name=_said(article, "Import History"))).to_be_visible()
    row = page.locator("tr[data-run-id]")
    expect(row).to_have_count(1)  # the wizard's one preview, as a preview: it takes no import number
    expect(row).to_contain_text("Preview")
    expect(row).not_to_contain_text("#")
    expect(row).not_to_contain_text("Import data now")
    _shot(page, artifacts_dir, "11-import-history")

    # the first real import is Import #1; the activity says a preview was a preview, each action a sentence
    integration_path = page.url.split("/runs")[0].split(portal.base_url)[-1]
    page.goto(f"{integration_path}/import")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#progress-title")).to_have_text("Import #1")
    expect(page.locator("[data-progress-status]")).to_contain_text(re.compile("Succeeded|errors"), timeout=120_000)
    page.goto(f"{integration_path}/revoke")
    page.get_by_role("button", name="Revoke access").click()
    expect(page.locator(".page-head .badge")).to_have_text(re.compile("Revoked", re.IGNORECASE))
    activity = page.locator("ul.activity")
    lines = [" ".join(t.split()) for t in activity.locator("li").all_inner_texts()]
    assert any("previewed the first import" in line for line in lines), lines
    # the import, not the preview
    assert sum("started an import (Import data now)" in line for line in lines) == 1, lines
    assert not [line for line in lines if "_" in line or "None" in line or "shape" in line], lines
    details = page.locator("main").inner_text()
    assert re.search(r"API key\s+revoked", details) and "None" not in details
    for name, viewport in (("12-dashboard-revoked-1366", SIZE), ("13-dashboard-revoked-390", PHONE)):
        page.set_viewport_size(viewport)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{name} scrolls sideways ({overflow}px)"
        _shot(page, artifacts_dir, name)
    page.set_viewport_size(SIZE)
    assert errors == [], errors
    context.close()
