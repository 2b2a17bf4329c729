"""A programme without an HR API sets up a membership file in Debian's Chromium: sign in → Explore →
Membership file (CSV / SFTP) → Initial setup → File (a bad file refused, then a real CSV uploaded) →
Mapping (columns matched, first rows shown) → Review → Publish → Upload a file and import → members.

Screenshots land in ``artifacts/<test name>/``; those of the File step (with an error), the Mapping
step and the dashboard's upload form are also taken at 1366×900 and 390×844.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Portal, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A spreadsheet's "CSV UTF-8" export in a semicolon locale: BOM, semicolons, a quoted field with a comma.
CSV = ("\ufeffEmployee Number;Work E-mail;Given name;Surname;Department;Employment Status\r\n"
       'E101;elodie.dupre@acme.test;Élodie;Dupré;"Sales, North";Current Staff\r\n'
       "E102;zoe.obrien@acme.test;Zoë;O'Brien;Operations;Current Staff\r\n"
       "E103;sven.angstrom@acme.test;Sven;Ångström;Operations;Current Staff\r\n").encode()


# The ids of the dropdowns whose longest option is wider than the space the closed dropdown shows it in.
CUT_OFF = """selects => selects.filter(select => {
  if (!select.getClientRects().length) return false;  // not shown (another transform's setting)
  const style = getComputedStyle(select);
  const probe = document.createElement('span');
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre';
  probe.style.font = style.font;
  document.body.appendChild(probe);
  let widest = 0;
  for (const option of select.options) {
    probe.textContent = option.text;
    widest = Math.max(widest, probe.offsetWidth);
  }
  probe.remove();
  const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 18;
  return widest > room;
}).map(select => select.id)"""


def _shot(page: Any, folder: Path, name: str, *, sizes: bool = False) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    if sizes:
        for width, height in ((1366, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(folder / f"{name}-{width}x{height}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 860})


def test_administrator_sets_up_a_membership_file_uploads_it_and_members_appear(
    portal: Portal, browser: Any, artifacts_dir: Path, worker: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    staff = tmp_path / "staff-march.csv"
    staff.write_bytes(CSV)
    latin1 = tmp_path / "staff-latin1.csv"
    latin1.write_bytes("Employee Number,Work E-mail\nE1,zoë@acme.test\n".encode("latin-1"))

    context, page, errors = signed_in_page(portal, browser, "Fileless Rewards")
    page.get_by_role("link", name="Explore integrations").click()
    page.get_by_label("Search integrations").fill("csv")
    page.get_by_label("Search integrations").press("Enter")
    card = page.locator('a.app-card[data-integration="membership_file"]')
    expect(card).to_contain_text("Membership file (CSV / SFTP)")
    expect(page.locator('a.app-card[data-integration="intellihr"]')).to_have_count(0)
    _shot(page, artifacts_dir, "01-explore-csv")
    card.click()

    expect(page.get_by_role("heading", name="Initial setup")).to_be_visible()
    expect(page.get_by_text("newest file waiting in the drop folder")).to_be_visible()
    page.locator("label.choice", has_text="Manual only").click()
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Upload your membership file")).to_be_visible()
    expect(page.locator('ol.steps li[aria-current="step"]')).to_contain_text("File")
    page.get_by_label("Membership file (CSV)").set_input_files(str(latin1))
    page.get_by_role("button", name="Upload and continue").click()
    error = page.locator("[data-upload-error]")
    expect(error).to_contain_text("is not UTF-8 text")
    expect(error).to_contain_text("CSV UTF-8")
    page.get_by_text("Sending files over SFTP instead").click()
    expect(page.locator("[data-drop-folder]")).to_contain_text(str(portal.data_dir / "drop"))
    _shot(page, artifacts_dir, "02-file-step-error", sizes=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the File step overflows"
    page.set_viewport_size({"width": 1280, "height": 860})

    page.get_by_label("Membership file (CSV)").set_input_files(str(staff))
    page.get_by_role("button", name="Upload and continue").click()

    expect(page.get_by_role("heading", name="Mapping")).to_be_visible()
    expect(page.get_by_text("staff-march.csv was uploaded (3 rows).")).to_be_visible()
    expect(page.locator("#map-employee_id")).to_have_value("Employee Number")
    expect(page.locator("#map-email")).to_have_value("Work E-mail")
    expect(page.locator("#map-first_name")).to_have_value("Given name")
    expect(page.locator("#map-last_name")).to_have_value("Surname")
    expect(page.locator("#map-department")).to_have_value("Department")
    expect(page.locator("#map-phone")).to_have_value("")
    preview = page.locator("table.file-preview")
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview.locator("tbody tr").first).to_contain_text("Élodie")
    expect(preview.locator("tbody tr").first.locator("td").nth(4)).to_have_text("Sales, North")
    expect(preview.locator("tbody tr").nth(2)).to_contain_text("Ångström")
    _shot(page, artifacts_dir, "03-mapping-preview", sizes=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator("table.mapping-table select").evaluate_all(CUT_OFF) == [], "dropdown text is cut off"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page overflows"
    parts = (("fields", page.locator("table.mapping-table").first), ("statuses", page.locator("table.status-table")),
             ("file", page.locator("[data-file-preview]")))
    for part, locator in parts:
        locator.screenshot(path=str(artifacts_dir / f"03-mapping-390-{part}.png"))
    page.set_viewport_size({"width": 1280, "height": 860})
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Review and publish")).to_be_visible()
    page.get_by_role("button", name="Preview the first import").click()
    counts = page.locator("[data-preview-counts]")
    expect(counts).to_be_visible()  # the queued dry run, followed by the progress bar until it finished
    expect(counts.locator('[data-count="created"]')).to_have_text("3")
    _shot(page, artifacts_dir, "04-review-preview")
    page.get_by_role("button", name="Publish").click()

    expect(page.get_by_text("Membership file (CSV / SFTP) is live.")).to_be_visible()
    upload = page.locator("[data-upload-import]")
    expect(upload.get_by_role("heading", name="Upload a file and import")).to_be_visible()
    _shot(page, artifacts_dir, "05-dashboard-upload", sizes=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the dashboard overflows"
    page.set_viewport_size({"width": 1280, "height": 860})
    upload.get_by_label("Membership file (CSV)").set_input_files(str(staff))
    upload.get_by_role("button", name="Upload and import").click()

    expect(page.get_by_role("heading", name="Import data now")).to_be_visible()
    summary = page.locator("[data-impact-summary]")
    expect(summary).to_be_visible()  # progress.js followed the run to its end
    expect(page.locator("progress#import-progress")).to_have_attribute("value", "100")
    _shot(page, artifacts_dir, "06-import-finished")
    run_id = re.search(r"run=(\d+)", page.url)
    assert run_id, page.url
    page.goto(page.url.split("/import")[0] + "/runs")
    row = page.locator(f'tr[data-run-id="{run_id.group(1)}"]')
    expect(row.locator("td").nth(5)).to_have_text("3")  # Created
    expect(row.locator("td").nth(4)).to_contain_text(re.compile("succeeded", re.I))
    _shot(page, artifacts_dir, "07-history")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    for name in ("Élodie", "Zoë", "Ångström"):
        expect(page.get_by_text(name).first).to_be_visible()
    expect(page.get_by_text("elodie.dupre@acme.test")).to_be_visible()
    _shot(page, artifacts_dir, "08-members")
    page.goto("/integrations?tab=mine")  # the card says where files come from in words, never a server path
    card = page.locator('a.app-card[data-kind="membership_file"]')
    expect(card.locator("[data-source-place]")).to_have_text("Files uploaded in the portal")
    assert str(portal.data_dir) not in card.inner_text() and "/drop" not in card.inner_text()
    expect(card.locator("[data-run-status]")).to_have_text("Succeeded")
    _shot(page, artifacts_dir, "09-my-integrations", sizes=True)
    assert errors == [], errors
    context.close()
