"""The Authorize step is built from a kind's settings (issue 23 item 3): a variant of the throwaway kind
that asks for the Authorize modal (``WizardStep("authorize")``) gets one modal step per setting, with its
labels, help, placeholder, live preview and the secret's guide, in Chromium at 1366x900 and 390x844;
nothing on the way names intelliHR."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.sources.throwaway_kind.conftest import registered
from tests.sources.throwaway_kind.kind import KIND
from tests.sources.throwaway_kind.test_throwaway_kind import TOKEN, _person, _roster
from tests.sources.throwaway_kind.test_throwaway_kind_browser import _fits_both_sizes
from tests.web.conftest import Portal, signed_in_page
from tests.web.test_browser_membership_file import _shot

from hrsync.sources.kind import Guide, WizardStep

pytestmark = pytest.mark.browser


def _folder_preview(value: str) -> Any:
    """The folder as the modal previews it while it is typed: refused at once when it does not exist."""
    folder = Path(value.strip()) if value.strip() else None
    if folder is None:
        return SimpleNamespace(ok=False, folder=None, url="", reason=None)
    if not folder.is_dir():
        return SimpleNamespace(ok=False, folder=None, url="", reason="No such folder on this server.")
    return SimpleNamespace(ok=True, folder=str(folder), url=f"Roster in {folder}", reason=None)


FOLDER, SECRET = KIND.settings_fields
KEYED = dataclasses.replace(
    KIND, kind="roster_keyed", display_name="Roster Service",
    catalogue=dataclasses.replace(KIND.catalogue, keywords=("keyed roster",)),
    settings_fields=(
        dataclasses.replace(FOLDER, label="Roster folder path", placeholder="/srv/roster", preview=_folder_preview),
        dataclasses.replace(SECRET, label="Roster access token", help="", guide=Guide(
            "Where to find the roster token",
            (("Open the roster folder on the server.",), ("Read the file ", "token.txt", ".")),
            "The token reads every person in the roster.")),
    ),
    wizard_step=WizardStep("authorize", "Authorize"),
)


@pytest.fixture(autouse=True)
def keyed_kind() -> Iterator[None]:
    yield from registered(KEYED)


def test_the_authorize_modal_is_the_kinds_settings(
    portal: Portal, browser: Any, artifacts_dir: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    folder = _roster(tmp_path / "keyed-roster", [_person(8), _person(9)])
    context, page, errors = signed_in_page(portal, browser, "Keyed Rewards")
    page.goto("/integrations/new/roster_keyed")
    page.locator("label.choice", has_text="Manual only").click()
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Authorize the Roster Service account")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Click Authorize to enter your Roster folder path and Roster "
                                                 "access token.")
    page.get_by_role("link", name="Authorize", exact=True).click()
    dialog = page.locator("dialog#authorize-dialog")
    expect(dialog.get_by_role("heading", name="Authorize Roster Service")).to_be_visible()
    path = dialog.get_by_label("Roster folder path")
    expect(path).to_be_focused()
    expect(path).to_have_attribute("placeholder", "/srv/roster")
    expect(dialog).to_contain_text("The folder holding people.json.")  # the setting's help
    path.fill(str(tmp_path / "nowhere"))
    dialog.get_by_role("button", name="Next").click()  # the preview refuses it before the token is asked
    expect(dialog.locator("#m-folder-error")).to_have_text("No such folder on this server.")
    expect(dialog.get_by_label("Roster access token")).to_be_hidden()
    path.fill(str(folder))
    expect(dialog.locator("#m-url-preview")).to_have_text(f"Roster in {folder}")
    _shot(page, artifacts_dir, "01-authorize-folder", sizes=True)
    dialog.get_by_role("button", name="Next").click()

    token = dialog.get_by_label("Roster access token")
    expect(token).to_be_focused()
    expect(dialog).to_contain_text("Where to find the roster token")
    expect(dialog.locator("details.help strong", has_text="token.txt")).to_be_visible()
    expect(dialog).to_contain_text("The token reads every person in the roster.")
    token.fill("wrong-token")
    dialog.get_by_role("button", name="Authorize").click()
    expect(dialog.locator("[data-auth-error]")).to_have_text("The roster refused this token.")
    _shot(page, artifacts_dir, "02-authorize-token-refused", sizes=True)
    _fits_both_sizes(page, "the Authorize modal")
    token.fill(TOKEN)
    dialog.get_by_role("button", name="Authorize").click()
    expect(dialog.get_by_text("Your Roster Service account is authorized.")).to_be_visible()
    expect(dialog.locator("[data-confirm-url]")).to_have_text(str(folder))
    expect(dialog.locator("[data-confirm-last4]")).to_have_text("…" + TOKEN[-4:])
    _shot(page, artifacts_dir, "03-authorize-confirmation", sizes=True)
    dialog.get_by_role("button", name="Finish setup").click()  # saves the step: the wizard goes on at once
    expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
    assert TOKEN not in page.content()
    assert "intellihr" not in page.content().lower()
    assert errors == []
    context.close()
