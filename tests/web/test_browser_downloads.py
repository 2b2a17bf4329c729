"""In Chromium: the errors, warnings and members CSV files as an administrator downloads them, opened
the way a spreadsheet must be able to (issue 12, item 2), and the members pages with names composed
in one place, saved as screenshots at a laptop's and a phone's size.

Each file must start with the UTF-8 byte-order mark (Excel otherwise reads "Élodie" as "Ã‰lodie"),
decode strictly as UTF-8, parse with a strict CSV reader, end every line with CRLF, start with a
header row in words, and never say "None". The error file names the person beside the employee ID
and the intelliHR id; the members export has the mapped custom field as a column.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import browser, sign_in_page
from tests.web.test_member_names import BORN_SHOWN, DATE_FORMAT, Named, named

from hrsync.domain.display import display_name

__all__ = ["browser", "named"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOM = b"\xef\xbb\xbf"
ISSUES_HEADER = ["Employee ID", "Name", "intelliHR ID", "Field", "Problem", "Message", "Problem code"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


def _spreadsheet_rows(path: Path) -> list[list[str]]:
    """The file as a spreadsheet reads it, failing on anything that would garble or split it."""
    data = path.read_bytes()
    assert data.startswith(BOM), f"{path.name} has no UTF-8 byte-order mark"
    text = data.decode("utf-8-sig", errors="strict")
    assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n"), f"{path.name}: not CRLF"
    assert "None" not in text, f"{path.name} says None"
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert rows and all(len(r) == len(rows[0]) for r in rows), f"{path.name}: ragged rows"
    return rows


def _download(page: Any, link: Any, folder: Path) -> Path:
    with page.expect_download() as info:
        link.click()
    download = info.value
    saved = folder / download.suggested_filename
    download.save_as(str(saved))
    return saved


def test_csv_downloads_open_in_a_spreadsheet_with_names_and_every_mapped_field(
    named: Named, browser: Any, artifacts_dir: Path
) -> None:
    base_url = named.portal.base_url
    context = browser.new_context(viewport=SIZES["laptop"], accept_downloads=True)
    page = context.new_page()
    run_path = f"/integrations/{named.integration_id}/runs/{named.run_id}"
    sign_in_page(page, base_url, named.admin_email, run_path)
    # the run page's error lines name the person and say the problem in words: no raw codes or record ids
    errors_card = page.locator("section[aria-labelledby='errors-title']")
    lines = errors_card.locator("[data-issue]").all_inner_texts()
    sim = named.portal.sim.directory
    for person in (p for p in sim.people() if p["id"] in sim.bad_records["missing_email"]):
        name = display_name(person["firstName"], person["lastName"], person.get("preferredName"))
        assert any(line.startswith(name) and "No e-mail address" in line for line in lines), (name, lines)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        text = page.locator("main").inner_text()
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", errors_card.inner_text()), "a raw code on the run page"
        assert not UUID.search(text) and not re.search(r"\bNone\b", text)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the run page scrolls sideways at {size} ({overflow}px)"
        page.locator("#errors-title").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / f"run-errors-{size}.png"))
    page.set_viewport_size(SIZES["laptop"])

    errors = _spreadsheet_rows(_download(page, page.locator(f'a[href$="{run_path}/errors.csv"]').first, artifacts_dir))
    assert errors[0] == ISSUES_HEADER
    assert not [r for r in errors[1:] if UUID.fullmatch(r[2])], "a record UUID in the intelliHR ID column"
    # The simulator's person without an e-mail address: skipped, and named in the file.
    sim = named.portal.sim.directory
    people = {p["id"]: p for p in sim.people()}
    missing = [people[i] for i in sim.bad_records["missing_email"]]
    assert missing
    for person in missing:
        # the intelliHR ID column holds intelliHR's own number for the person, never its record UUID
        row = next(r for r in errors[1:] if r[2] == str(person["autoIncrementIntellihrId"]))
        assert row[0] == person["employeeNumber"] and row[0]
        assert row[1] == display_name(person["firstName"], person["lastName"], person.get("preferredName"))
        assert row[1] and row[3] == "Email" and (row[4], row[6]) == ("No e-mail address", "missing_email")

    warnings = _spreadsheet_rows(
        _download(page, page.locator(f'a[href$="{run_path}/warnings.csv"]').first, artifacts_dir))
    assert warnings[0] == ISSUES_HEADER
    assert len(warnings) > 1 and all(r[1] for r in warnings[1:] if r[0])  # whoever it is about is named

    page.goto(f"{base_url}/members")
    assert DATE_FORMAT in page.locator("[data-export-note]").inner_text()
    members = _spreadsheet_rows(_download(page, page.get_by_role("link", name="Export all members (CSV)"),
                                          artifacts_dir))
    header = members[0]
    assert header[:6] == ["Employee ID", "Name", "Email", "First name", "Last name", "Preferred name"]
    assert "Cost centre" in header and "Date of birth" in header
    assert not [h for h in header if "_" in h or h.startswith("custom")], header
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in members[1:]}
    lo = by_id["N-003"]
    assert (lo["Name"], lo["Cost centre"], lo["Date of birth"]) == ("Lo Martin", "CC-042", BORN_SHOWN)
    assert lo["Start date"] == "11/20/2023"
    assert by_id["N-001"]["Name"] == "Élodie" and by_id["N-001"]["Last name"] == ""
    assert by_id["N-002"]["Name"] == "Williams"
    context.close()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_members_list_and_record_screenshots(named: Named, browser: Any, artifacts_dir: Path, size: str) -> None:
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone")
    page = context.new_page()
    base_url = named.portal.base_url
    sign_in_page(page, base_url, named.admin_email, "/members")
    page.get_by_label("Search").fill("Martin")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/members?q=Martin**")
    link = page.get_by_role("link", name="Martin, Lo")
    assert link.is_visible()
    page.screenshot(path=str(artifacts_dir / f"members-list-{size}.png"), full_page=True)
    link.click()
    page.wait_for_url(f"**/members/{named.preferred.id}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Lo Martin")
    details = page.locator("dl.summary").inner_text()
    assert "Cost centre" in details and BORN_SHOWN in details and "None" not in details
    page.screenshot(path=str(artifacts_dir / f"member-record-{size}.png"), full_page=True)
    context.close()
