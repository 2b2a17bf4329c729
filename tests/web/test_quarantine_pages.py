"""A quarantined integration in the portal (issue 16, item 4), over real HTTP and in Chromium.

The integration is quarantined the way production does it: three scheduled imports against the
simulator while it refuses the key (401, a key revoked in intelliHR). Then the dashboard and the
integrations list show the banner; "Retry now" (POST, CSRF, not for read-only administrators) runs
one import at once and leaves the quarantine in place while the key is still refused; re-authorizing
with a working key lifts it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.web.conftest import API_KEY, PASSWORD, TENANT, Portal, browser, csrf_of, wait_until

from hrsync.security.passwords import hash_password
from hrsync.services.integrations import create_integration, publish
from hrsync.services.programmes import create_programme
from hrsync.store.db import session_scope
from hrsync.store.models import AdminUser, ImportRun, Integration
from hrsync.sync.execute import execute_run
from hrsync.sync.runs import request_run

__all__ = ["browser"]

LAPTOP = (1366, 900)
PHONE = (390, 844)


def _programme(portal: Portal) -> tuple[int, int, str, str]:
    """A programme with a live, daily intelliHR integration, its owner and a read-only administrator:
    (programme id, integration id, owner e-mail, read-only e-mail)."""
    tag = uuid.uuid4().hex[:8]
    owner, viewer = f"owner-{tag}@example.com", f"viewer-{tag}@example.com"
    with session_scope() as session:
        programme, admin = create_programme(session, f"Quarantine {tag}", admin_email=owner, password=PASSWORD)
        integration = create_integration(session, programme, admin, subdomain=TENANT, api_key=API_KEY,
                                         frequency="daily")
        publish(session, integration, admin)
        session.add(AdminUser(programme_id=programme.id, email=viewer, role="read_only",
                              password_hash=hash_password(PASSWORD)))
        return programme.id, integration.id, owner, viewer


def _scheduled_import(integration_id: int) -> ImportRun:
    with session_scope() as session:
        run_id = request_run(session, integration_id, trigger="schedule").id
    execute_run(run_id)
    return _run(run_id)


def _run(run_id: int) -> ImportRun:
    with session_scope() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def _integration(integration_id: int) -> Integration:
    with session_scope() as session:
        found = session.get(Integration, integration_id)
        assert found is not None
        session.expunge(found)
        return found


@pytest.fixture
def refused_key(portal: Portal) -> Iterator[None]:
    """Faults the test arms are cleared afterwards (the simulator serves the whole module)."""
    try:
        yield
    finally:
        portal.sim.faults.clear()


def _quarantine(portal: Portal, integration_id: int) -> None:
    """intelliHR refuses the key (it was revoked there); three scheduled imports fail with bad_key."""
    portal.sim.faults.add("refused", status=401, times=None)
    for _ in range(3):
        assert _scheduled_import(integration_id).failure_code == "bad_key"
    assert _integration(integration_id).quarantined_at is not None


def _retry_form(html: str) -> bool:
    return re.search(r'action="/integrations/\d+/retry"', html) is not None


def test_banner_retry_now_and_reauthorize(portal: Portal, worker: Any, refused_key: None) -> None:
    _, integration, owner, viewer = _programme(portal)
    client = portal.sign_in(owner)
    page = client.get(f"/integrations/{integration}")
    assert page.status_code == 200 and "data-quarantined" not in page.text and not _retry_form(page.text)

    _quarantine(portal, integration)
    page = client.get(f"/integrations/{integration}")
    assert "data-quarantined" in page.text, page.text[:2000]
    assert "Scheduled imports stopped: 3 imports failed in a row." in page.text
    assert "Re-authorize the integration" in page.text  # the failure table's advice for bad_key
    assert _retry_form(page.text)
    listing = client.get("/integrations?tab=mine")
    assert "data-quarantined-list" in listing.text and "data-quarantine-badge" in listing.text

    # a read-only administrator sees the banner, has no button, and a forged POST is refused
    viewer_client = portal.sign_in(viewer)
    seen = viewer_client.get(f"/integrations/{integration}")
    assert "data-quarantined" in seen.text and not _retry_form(seen.text)
    refused = viewer_client.post(f"/integrations/{integration}/retry", data={"csrf_token": csrf_of(seen.text)})
    assert refused.status_code == 403
    # without the page's CSRF token, nobody can retry
    assert client.post(f"/integrations/{integration}/retry", data={}).status_code in (400, 403)
    runs_before = len(_runs(integration))
    assert runs_before == 3

    # Retry now while the key is still refused: one import at once, it fails, the quarantine stays
    response = client.post(f"/integrations/{integration}/retry", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303, response.text[:300]
    match = re.fullmatch(rf"/integrations/{integration}/runs/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    retried = wait_until(lambda: _finished(int(match.group(1))), what="the retried import")
    assert retried.status == "failed" and retried.failure_code == "bad_key"
    assert _integration(integration).quarantined_at is not None
    page = client.get(f"/integrations/{integration}")
    assert "Scheduled imports stopped: 4 imports failed in a row." in page.text
    assert f"import #{retried.number}" in page.text  # the new failure is the one shown

    # re-authorizing with a key intelliHR accepts lifts it, and the schedule resumes
    portal.sim.faults.clear()
    form = client.get(f"/integrations/{integration}/authorize?mode=reauthorize")
    done = client.post(f"/integrations/{integration}/authorize", data={
        "csrf_token": csrf_of(form.text), "subdomain": TENANT, "api_key": API_KEY, "mode": "reauthorize"})
    assert done.status_code == 303, done.text[:500]
    lifted = _integration(integration)
    assert lifted.quarantined_at is None and lifted.consecutive_config_failures == 0
    assert lifted.next_run_at is not None
    page = client.get(f"/integrations/{integration}")
    assert "data-quarantined" not in page.text and not _retry_form(page.text)
    assert 'data-action="quarantine_lifted"' in page.text
    assert "data-quarantined-list" not in client.get("/integrations?tab=mine").text
    # nothing to retry now
    again = client.post(f"/integrations/{integration}/retry", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 303 and again.headers["location"] == f"/integrations/{integration}"
    assert len(_runs(integration)) == runs_before + 1


def _runs(integration_id: int) -> list[int]:
    with session_scope() as session:
        return list(session.scalars(select(ImportRun.id).where(ImportRun.integration_id == integration_id)))


def _finished(run_id: int) -> ImportRun | None:
    run = _run(run_id)
    return run if run.status not in ("queued", "running") else None


@pytest.mark.browser
def test_banner_screenshots_at_laptop_and_phone_sizes(portal: Portal, browser: Any, refused_key: None,
                                                      artifacts_dir: Path) -> None:
    from tests.web.test_browser_layout import overflow_of

    _, integration, owner, _ = _programme(portal)
    _quarantine(portal, integration)
    context = browser.new_context(base_url=portal.base_url)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail address").fill(owner)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/integrations")
    problems = []
    for width, height in (LAPTOP, PHONE):
        page.set_viewport_size({"width": width, "height": height})
        for url, name in ((f"/integrations/{integration}", "dashboard"), ("/integrations?tab=mine", "list")):
            page.goto(url)
            banner = page.locator("[data-quarantined]" if name == "dashboard" else "[data-quarantined-list]")
            assert banner.is_visible(), f"{url} at {width}×{height}: no banner"
            if name == "dashboard":
                assert page.get_by_role("button", name="Retry now").is_visible()
            page.screenshot(path=str(artifacts_dir / f"quarantine-{name}-{width}x{height}.png"), full_page=True)
            box = banner.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (url, width, box)
            wide = banner.evaluate("el => [...el.querySelectorAll('*'), el].filter("
                                   "e => e.scrollWidth > e.clientWidth + 1).map(e => e.outerHTML.slice(0, 80))")
            problems.extend(f"{url} at {width}×{height}: banner part scrolls sideways: {w}" for w in wide)
            if (width, height) == LAPTOP:  # administrator pages are laid out for laptops and up
                problems.extend(f"{url} at {width}×{height}: {p}" for p in overflow_of(page))
    context.close()
    assert problems == []
