"""The mapping step's coverage lines, scoping rules and value transforms in Debian's Chromium, and
what the review step says of them (issue 25). Screenshots at 1366×900 and 390×844 land in
``artifacts/<test name>/`` (and ``/tmp/shots-mapping/`` when that folder exists)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Portal, sign_in_page
from tests.web.test_browser_membership_file import CUT_OFF
from tests.web.test_wizard import _authorize, _start

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _shot(page: Any, artifacts_dir: Path, name: str, **kwargs: Any) -> None:
    page.screenshot(path=str(artifacts_dir / f"{name}.png"), **kwargs)
    extra = Path("/tmp/shots-mapping")
    if extra.is_dir():
        page.screenshot(path=str(extra / f"{name}.png"), **kwargs)


#: The selects whose chosen option's words do not fit in the closed dropdown.
CHOSEN_CUT_OFF = CUT_OFF.replace("for (const option of select.options)", "for (const option of select.selectedOptions)")


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "sideways scroll"
    body = page.locator("main").inner_text()
    assert "None" not in body, body


def _visible_settings(row: Any) -> list[str]:
    """The labels of a transform row's settings a person sees."""
    return [t.strip() for t in row.locator("[data-transform-settings] label:visible, "
                                           "[data-transform-settings] p:visible").all_inner_texts()]


def test_the_mapping_step_follows_each_choice_and_the_review_names_the_rules(
    portal: Portal, browser: Any, artifacts_dir: Path, worker: Any
) -> None:
    from playwright.sync_api import expect

    directory = portal.sim.directory
    for person in directory.people():  # a field nobody in this directory fills
        if person.get("middleName"):
            directory.change(person["id"], middleName=None)
    _, _, email = portal.new_admin(programme="Scoping Co")
    client = portal.sign_in(email)
    integration_id = _start(portal, client)
    assert _authorize(portal, client, integration_id).status_code == 200
    mapping_path = f"/integrations/{integration_id}/setup/mapping"

    context = browser.new_context(base_url=portal.base_url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, portal.base_url, email, mapping_path)
    expect(page.get_by_role("heading", name="Who is imported")).to_be_visible()
    sample = json.loads(page.locator("#mapping-sample").text_content() or "{}")
    sampled = sample["sampled"]
    assert sample["fields"]["middleName"] == {"filled": 0, "measured": True, "values": []}
    assert sample["fields"]["firstName"]["filled"] == sampled  # the same rule as the server's coverage
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    # map a key nobody has: the coverage line says so at once, without a reload
    key_line = page.locator('[data-coverage="employee_id"]')
    expect(key_line).to_contain_text(re.compile(r"\d+ of \d+ have a value"))
    page.locator("#map-employee_id").select_option(label="Middle name")
    expect(key_line).to_have_text(f"0 of {sampled} have a value (nobody has one: a person without an Employee ID "
                                  "is skipped)")
    expect(key_line).to_have_class(re.compile("coverage-low"))
    # a field mapped on the page gets its line too, and joins the transforms' member-field list
    cost = page.locator('[data-coverage="job_title"]')
    page.locator("#map-job_title").select_option(label="Job name")
    expect(cost).to_contain_text(re.compile(rf"^\d+ of {sampled} have a value$"))
    page.get_by_label("Job cost code").check()
    target = page.locator("#t-0-target")
    expect(target.locator("option")).to_contain_text(["Job title", "Job cost code"])
    assert not [t for t in target.locator("option").all_inner_texts() if "custom." in t]

    # a transform row shows only its own transform's settings
    row = page.locator('[data-transform-row="0"]')
    expect(row.locator("[data-transform-settings] :visible")).to_have_count(0)
    target.select_option(label="First name")
    row.get_by_label("Transform").select_option(label="Lookup table (code → name)")
    assert _visible_settings(row) == ["Default for unknown codes (optional)", "Lookup table (one CODE = Name a line)"]
    row.get_by_label("Transform").select_option(label="Concatenate several fields")
    assert _visible_settings(row) == ["Source fields, in order", "Separator"]
    row.get_by_label("Transform").select_option(label="Trim and UPPER CASE")
    assert _visible_settings(row) == ["No settings: it reads the member field's mapped field."]

    # scoping: the values the directory really holds are suggested (work type is a job detail: asked for)
    rule = page.locator('[data-rule-row="0"]')
    rule.get_by_label("Include or exclude").select_option("exclude")
    rule.get_by_label("Field").select_option(label="Work type")
    hint = rule.locator("[data-rule-hint]")
    expect(hint).to_contain_text("Temporary/Casual")
    suggested = rule.locator("datalist option").evaluate_all("options => options.map(o => o.value)")
    assert "Temporary/Casual" in suggested and "Casual" not in suggested, suggested
    expect(rule.get_by_label("Values")).to_have_attribute("placeholder", re.compile(r"^e\.g\. \S"))
    rule.get_by_label("Values").fill("Temporary/Casual")
    rule.get_by_label("Name").fill("casual workers")
    rows = page.locator("[data-rule-row]").count()
    page.get_by_role("button", name="Add another rule").click()
    expect(page.locator("[data-rule-row]")).to_have_count(rows + 1)  # exactly one row more
    second = page.locator(f'[data-rule-row="{rows}"]')
    expect(second.get_by_label("Values")).to_have_value("")
    second.get_by_label("Field").select_option(label="Work type")
    second.get_by_label("Values").fill("Casual")  # from memory: excludes nobody, and the review says why

    # the transforms' preview answers in place: people the transform changes; nothing typed is lost
    page.get_by_role("button", name="Preview transforms").click()
    preview = page.locator("[data-transform-preview]")
    expect(preview).to_contain_text("people the transforms change")
    examples = preview.locator('[data-transform-example="first_name"]').all_inner_texts()
    assert examples, preview.inner_text()
    for example in examples:
        before, after = re.fullmatch(r"First name: “(.*)” → “(.*)”", example).groups()  # type: ignore[union-attr]
        assert before != after and after == after.upper()
    assert navigations == [], navigations
    expect(rule.get_by_label("Name")).to_have_value("casual workers")
    expect(key_line).to_contain_text("0 of")
    assert page.locator("select").evaluate_all(CUT_OFF) == []  # no dropdown's words cut off
    _shot(page, artifacts_dir, "mapping-edited-1366x900", full_page=True)
    for section in ("scope", "transforms"):
        page.locator(f"#{section}").screenshot(path=str(artifacts_dir / f"mapping-{section}-1366x900.png"))
        if Path("/tmp/shots-mapping").is_dir():
            page.locator(f"#{section}").screenshot(path=f"/tmp/shots-mapping/mapping-{section}-1366x900.png")

    page.locator("#map-employee_id").select_option("employeeNumber")
    expect(key_line).not_to_have_class(re.compile("coverage-low"))
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/setup/review"))

    # the review names the rules and the transform, labelled as the mapping step labels them
    expect(page.locator('[data-review-rule="0"]')).to_have_text(
        "Exclude casual workers (Work type is Temporary/Casual)")
    expect(page.locator('[data-review-rule="1"]')).to_have_text("Exclude people whose Work type is Casual")
    expect(page.locator("[data-review-transform]")).to_have_text(["First name: Trim and UPPER CASE"])
    expect(page.locator('[data-mapped="custom.job_jobCostCode"]')).to_contain_text("Job cost code")
    page.get_by_role("button", name="Preview the first import").click()
    line = page.locator('[data-scope-line="0"]')
    expect(line).to_contain_text(re.compile(r"Excludes \d+ casual workers \(Work type is Temporary/Casual\)"),
                                 timeout=90_000)  # the portal's worker runs the preview
    excluded = int(re.search(r"Excludes (\d+)", line.inner_text()).group(1))  # type: ignore[union-attr]
    assert excluded > 0
    expect(line).to_contain_text("For example:")
    expect(page.locator('[data-scope-line="1"]')).to_contain_text(re.compile(
        r"Excludes 0 people \(Work type is Casual\): no person read has that value; the closest value(s are| is) "
        r"Temporary/Casual \(\d+ people\)"))
    counted = int(page.locator('[data-count="excluded"]').inner_text().replace(",", ""))
    assert 0 < counted <= excluded  # excluded by the rules, not "not imported because inactive"
    expect(page.locator("[data-people-read]")).to_contain_text(f"{counted:,} excluded by your rules")
    _shot(page, artifacts_dir, "review-scope-1366x900", full_page=True)

    # on a phone: the stored rules and transform, one row's own settings, one row added, nothing sideways
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(mapping_path)
    row = page.locator('[data-transform-row="0"]')
    assert _visible_settings(row) == ["No settings: it reads the member field's mapped field."]
    rows = page.locator("[data-rule-row]").count()
    page.get_by_role("button", name="Add another rule").click()
    expect(page.locator("[data-rule-row]")).to_have_count(rows + 1)
    # no dropdown's words cut off ("— Cho", "Departme")
    # on a phone a list opens full-width; what a closed dropdown shows is never cut off
    assert page.locator("select").evaluate_all(CHOSEN_CUT_OFF) == []
    _fits(page, 390)
    _shot(page, artifacts_dir, "mapping-390x844", full_page=True)
    for section in ("scope", "transforms"):
        page.locator(f"#{section}").scroll_into_view_if_needed()
        _shot(page, artifacts_dir, f"mapping-{section}-390x844")
    page.goto(f"/integrations/{integration_id}/setup/review")
    _fits(page, 390)
    _shot(page, artifacts_dir, "review-scope-390x844", full_page=True)
    for part in ("[data-review-rules]", "[data-scope-lines]"):
        page.locator(part).scroll_into_view_if_needed()
        _shot(page, artifacts_dir, f"review-{part[6:-1]}-390x844")
    assert errors == [], errors
    context.close()
