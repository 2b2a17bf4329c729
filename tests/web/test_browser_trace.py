"""In Chromium: the dashboard's search box → a person → their trace, stage by stage → *Apply this
change now* → the one-person import's page; the member page's *Trace* button; screenshots at a laptop
and a phone size. Then the same through the JSON API (read scope to trace, import scope to apply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.web.conftest import browser
from tests.web.conftest_b import PASSWORD, World, world

from hrsync.store import session_factory
from hrsync.store.models import ImportRun, Member

__all__ = ["browser", "world"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"laptop": (1366, 900), "phone": (390, 844)}


def _active_member(world: World, skip: set[str]) -> Member:
    with session_factory()() as session:
        members = session.scalars(select(Member).where(
            Member.programme_id == world.acme.programme_id, Member.status.in_(("invited", "active")),
            Member.integration_id == world.acme.integration_id).order_by(Member.id)).all()
        return next(m for m in members if m.employee_id not in skip)


def _rename(world: World, member: Member, last_name: str) -> None:
    world.sim.directory.change(member.source_id, lastName=last_name)


def test_search_trace_and_apply_one_person(world: World, browser: Any, artifacts_dir: Path) -> None:
    member = _active_member(world, set())
    assert member.employee_id and member.source_id
    _rename(world, member, "Tracewell")
    integration = world.acme.integration_id
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{world.base_url}/login?next=/integrations/{integration}")
    page.get_by_label("E-mail address").fill(world.acme.admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/integrations/{integration}")

    page.get_by_label("Find a person").fill(member.employee_id)
    page.get_by_role("button", name="Search").click()
    results = page.locator("[data-trace-results]")
    results.wait_for()
    found = results.locator("li").first.inner_text()  # the member's status in words, never its code
    assert f"member: {member.status.capitalize()}" in found and "member (" not in found, found
    results.get_by_role("link").first.click()
    page.locator("[data-trace]").wait_for()
    outcome = page.locator("[data-outcome]")
    assert outcome.get_attribute("data-outcome") == "update" and outcome.inner_text().strip() == "Will be updated"
    assert "Tracewell" in page.locator("[data-reason]").inner_text()
    stages = page.locator("[data-stage]").evaluate_all("els => els.map(e => e.dataset.stage)")
    assert stages == ["record", "validation", "mapped", "scoping", "outcome"]
    record = page.locator('[data-stage="record"]').inner_text()
    assert "(present)" in record and "not mapped" in record  # unmapped fields are masked
    # the status's lifecycle in the status mapping's words, never its code in brackets
    assert "(Active: a member with access)" in record and "(active)" not in record, record
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts_dir / f"trace-{name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the trace page scrolls sideways at {name} size ({overflow}px)"
    page.set_viewport_size({"width": 1366, "height": 900})

    page.get_by_role("button", name="Apply this change now").click()
    page.wait_for_url(f"**/integrations/{integration}/runs/*")
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with session_factory()() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None and run.trigger == "single" and run.status == "succeeded"
        assert (run.updated, run.leavers, run.created) == (1, 0, 0)
        stored = session.get(Member, member.id)
        assert stored is not None and stored.last_name == "Tracewell"
    lead = page.locator(".page-head .lead").inner_text()  # a sentence, not "single by …"
    assert lead.startswith("One person, applied from a trace by ") and "single" not in lead, lead
    assert page.locator("h1").inner_text().startswith("Import #")

    # the member page's Trace button: the person is unchanged now
    page.goto(f"{world.base_url}/members/{member.id}")
    page.get_by_role("link", name="Trace").click()
    page.locator("[data-trace]").wait_for()
    assert page.locator("[data-outcome]").inner_text().strip() == "Unchanged"
    assert page.get_by_role("button", name="Apply this change now").count() == 0
    context.close()


def test_the_api_traces_with_read_scope_and_applies_with_import_scope(world: World) -> None:
    member = _active_member(world, {"__none__"})
    assert member.employee_id and member.source_id
    _rename(world, member, "Apiworth")
    api = world.api(world.acme)
    integration = world.acme.integration_id
    traced = api.get(f"/api/v1/integrations/{integration}/trace", params={"employee_id": member.employee_id})
    assert traced.status_code == 200, traced.text
    body = traced.json()
    assert body["outcome"] == "update" and body["changes"]["last_name"][1] == "Apiworth"
    assert [s["key"] for s in body["stages"]][:2] == ["record", "validation"]
    # another programme's integration is not found
    other = api.get(f"/api/v1/integrations/{world.globex.integration_id}/trace",
                    params={"employee_id": member.employee_id})
    assert other.status_code == 404
    applied = api.post(f"/api/v1/integrations/{integration}/trace/apply", params={"employee_id": member.employee_id})
    assert applied.status_code == 200, applied.text
    run = applied.json()
    assert run["trigger"] == "single" and run["status"] == "succeeded", run
    assert api.get(f"/api/v1/integrations/{integration}/trace",
                   params={"employee_id": member.employee_id}).json()["outcome"] == "unchanged"
    assert world.api(None).get(f"/api/v1/integrations/{integration}/trace",
                               params={"employee_id": member.employee_id}).status_code == 401
