"""In Chromium: an import made six leavers, renamed someone and hired someone; its page offers *Undo this
import…*, the confirmation says what will happen (counts, the people by name, that invitations already
sent are not recalled) with its two buttons apart, at a laptop's and a phone's size; confirming lands
on the undo's own page in the history, in accurate words, the members back as they were, and the new
member's waiting invitation shown as cancelled by the undo (not failed) on the E-mails page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.web.conftest import browser
from tests.web.conftest_b import PASSWORD, World, import_now, leave, world

from hrsync.domain.display import display_name
from hrsync.store import session_factory
from hrsync.store.models import ImportRun, Member, OutboxEmail

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NEW_ADDRESS = "nadia.undoable@demo.example.com"
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def _fits(page: Any, where: str) -> None:
    text = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
    assert not re.search(r"\bNone\b", text) and not UUID.search(text), f"{where}: None or a raw id"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{where} scrolls sideways ({overflow}px)"

__all__ = ["browser", "world"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _statuses(programme_id: int) -> dict[str, tuple[str, str | None]]:
    with session_factory()() as session:
        return {m.employee_id or str(m.id): (m.status, m.first_name) for m in session.scalars(
            select(Member).where(Member.programme_id == programme_id))}


def test_undo_an_import_from_its_page(world: World, browser: Any, artifacts_dir: Path) -> None:
    acme = world.acme
    integration = acme.integration_id
    before = _statuses(acme.programme_id)
    leavers_before = [p for p in world.sim.directory.people()[10:] if p["employmentStatus"] == "Current Staff"][:6]
    leave(world.sim, 10, 6)
    renamed = world.sim.directory.people()[3]
    world.sim.directory.change(renamed["id"], firstName="Undone")
    world.sim.directory.hire(first_name="Nadia", last_name="Undoable", email=NEW_ADDRESS, employee_number="E-UNDO-1")
    run_id = import_now(integration)
    with session_factory()() as session:  # the new member's invitation waits in the outbox
        [invitation] = session.scalars(select(OutboxEmail).where(
            OutboxEmail.kind == "invitation", OutboxEmail.to_address == NEW_ADDRESS)).all()
        assert invitation.status == "queued"
    with session_factory()() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None and run.leavers >= 6 and run.updated >= 1, run and (run.status, run.leavers)
        number, leavers = run.number, run.leavers
    assert _statuses(acme.programme_id) != before

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{world.base_url}/login?next=/integrations/{integration}/runs/{run_id}")
    page.get_by_label("E-mail address").fill(acme.admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/integrations/{integration}/runs/{run_id}")
    page.get_by_role("link", name="Undo this import…").click()
    page.wait_for_url(f"**/integrations/{integration}/runs/{run_id}/undo")
    summary = page.locator("[data-undo-summary]").inner_text()
    assert f"{leavers} leavers this import made return" in summary, summary
    assert "already sent are not recalled" in page.content()
    # the people, by name: the leavers who return, the renamed one, the new member who leaves again
    returning = page.locator('[data-undo-names="reinstated"]').inner_text()
    for person in leavers_before:
        assert display_name(person["firstName"], person["lastName"], person.get("preferredName")) in returning
    assert "Undone" in page.locator('[data-undo-names="restored"]').inner_text()
    assert "Nadia Undoable" in page.locator('[data-undo-names="leavers"]').inner_text()
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        _fits(page, f"the undo confirmation at {size}")
        confirm = page.locator("[data-undo-confirm]").bounding_box()
        cancel = page.get_by_role("link", name="Cancel").bounding_box()
        assert confirm and cancel
        apart = max(cancel["x"] - (confirm["x"] + confirm["width"]), cancel["y"] - (confirm["y"] + confirm["height"]))
        assert apart >= 8, f"the undo's buttons touch at {size} ({apart}px apart)"
        page.screenshot(path=str(artifacts_dir / f"undo-confirm-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["1366"])

    page.get_by_role("button", name=f"Undo import #{number}").click()
    page.wait_for_url(lambda url: "/runs/" in url and not url.endswith(f"/runs/{run_id}/undo")
                      and not url.endswith(f"/runs/{run_id}"))
    assert f"Import #{number} was undone." in page.content()
    assert page.get_by_role("link", name=f"Import #{number}").count() >= 1  # "Undoes Import #n"
    undo_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with session_factory()() as session:
        undo = session.get(ImportRun, undo_id)
        assert undo is not None and undo.trigger == "undo" and undo.undo_of_id == run_id
        assert undo.reinstated == leavers and undo.status in ("succeeded", "succeeded_with_errors")
        undo_warnings = undo.warnings
    content = page.locator("main").inner_text()
    assert "imported as it is" not in content
    if not undo_warnings:
        assert page.locator("[data-no-issues]").inner_text() == (
            "No warnings: no member had changed since, so every change was undone.")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        _fits(page, f"the undo's page at {size}")
        page.screenshot(path=str(artifacts_dir / f"undo-done-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["1366"])
    after = _statuses(acme.programme_id)
    assert after.pop("E-UNDO-1")[0] == "leaver"  # the new member leaves again
    assert after == before

    # the new member's invitation never went: cancelled by the undo, said plainly, not a red failure
    page.goto(f"{world.base_url}/emails")
    row = page.locator("tr", has_text=NEW_ADDRESS)
    assert row.locator("[data-cancelled]").inner_text() == "Cancelled"
    assert "the import that invited them was undone" in row.inner_text()
    assert "failed" not in row.inner_text().lower()
    assert "1 cancelled" in page.locator("[data-testid=cancelled]").inner_text()
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=str(artifacts_dir / f"emails-cancelled-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["1366"])

    # Undone once: the run's page no longer offers it, and its undo page says why.
    page.goto(f"{world.base_url}/integrations/{integration}/runs/{run_id}")
    assert page.get_by_role("link", name="Undo this import…").count() == 0
    page.goto(f"{world.base_url}/integrations/{integration}/runs/{run_id}/undo")
    assert "already undone" in page.locator("[data-undo-refused]").inner_text()
    context.close()
