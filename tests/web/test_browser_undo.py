"""In Chromium: an import made six leavers and renamed someone; its page offers *Undo this import…*,
the confirmation says what will happen (counts, and that invitations already sent are not recalled),
and confirming lands on the undo's own page in the history, the members back as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.web.conftest import browser
from tests.web.conftest_b import PASSWORD, World, import_now, leave, world

from hrsync.store import session_factory
from hrsync.store.models import ImportRun, Member

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
    leave(world.sim, 10, 6)
    renamed = world.sim.directory.people()[3]
    world.sim.directory.change(renamed["id"], firstName="Undone")
    run_id = import_now(integration)
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
    assert "Invitations already sent are not recalled" in page.content()
    page.screenshot(path=str(artifacts_dir / "undo-confirm-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts_dir / "undo-confirm-390.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    page.get_by_role("button", name=f"Undo import #{number}").click()
    page.wait_for_url(lambda url: "/runs/" in url and not url.endswith(f"/runs/{run_id}/undo")
                      and not url.endswith(f"/runs/{run_id}"))
    assert f"Import #{number} was undone." in page.content()
    assert page.get_by_role("link", name=f"Import #{number}").count() >= 1  # "Undoes Import #n"
    page.screenshot(path=str(artifacts_dir / "undo-done-1366.png"), full_page=True)
    undo_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with session_factory()() as session:
        undo = session.get(ImportRun, undo_id)
        assert undo is not None and undo.trigger == "undo" and undo.undo_of_id == run_id
        assert undo.reinstated == leavers and undo.status in ("succeeded", "succeeded_with_errors")
    assert _statuses(acme.programme_id) == before

    # Undone once: the run's page no longer offers it, and its undo page says why.
    page.goto(f"{world.base_url}/integrations/{integration}/runs/{run_id}")
    assert page.get_by_role("link", name="Undo this import…").count() == 0
    page.goto(f"{world.base_url}/integrations/{integration}/runs/{run_id}/undo")
    assert "already undone" in page.locator("[data-undo-refused]").inner_text()
    context.close()
