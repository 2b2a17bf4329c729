"""The integration dashboard, and tenant isolation of every integration page this portal half owns."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tests.web.conftest import API_KEY, TENANT, Portal, csrf_of


def _live_integration(email: str, *, frequency: str = "daily", schedule_time: str | None = "06:00") -> int:
    """A published integration made with the services (the wizard itself is tested elsewhere)."""
    from hrsync.services.integrations import create_integration, publish
    from hrsync.store.db import session_scope
    from hrsync.store.models import AdminUser

    with session_scope() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email_lower == email.lower()))
        integration = create_integration(session, admin.programme, admin, subdomain=TENANT, api_key=API_KEY,
                                         frequency=frequency, schedule_time=schedule_time)
        publish(session, integration, admin)
        return integration.id


@pytest.fixture(scope="module")
def two_programmes(portal: Portal) -> dict[str, object]:
    _, _, owner = portal.new_admin(programme="Owner Co", timezone="Australia/Brisbane")
    _, _, outsider = portal.new_admin(programme="Outsider Co")
    return {"owner": owner, "outsider": outsider, "integration_id": _live_integration(owner)}


def test_dashboard_shows_status_schedule_and_next_run_in_the_programmes_time_zone(
    portal: Portal, two_programmes: dict[str, object]
) -> None:
    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    integration_id = two_programmes["integration_id"]
    client = portal.sign_in(str(two_programmes["owner"]))
    page = client.get(f"/integrations/{integration_id}")
    assert page.status_code == 200
    assert "Live" in page.text and "Daily at 06:00" in page.text and "Australia/Brisbane" in page.text
    with session_scope() as session:
        next_run = session.get(Integration, integration_id).next_run_at
    local = next_run.astimezone(ZoneInfo("Australia/Brisbane"))
    assert f"{local:%d/%m/%Y %H:%M} AEST" in page.text
    assert "No import has run yet." in page.text
    assert "published the integration" in page.text


def test_dashboard_shows_the_last_imports_outcome(portal: Portal) -> None:
    from hrsync.store.db import session_scope
    from hrsync.sync.execute import execute_run
    from hrsync.sync.runs import request_run

    _, _, email = portal.new_admin()
    integration_id = _live_integration(email, frequency="manual", schedule_time=None)
    with session_scope() as session:
        run_id = request_run(session, integration_id, trigger="manual").id
    outcome = execute_run(run_id)
    assert outcome is not None
    client = portal.sign_in(email)
    page = client.get(f"/integrations/{integration_id}")
    assert "Manual only" in page.text
    assert f'href="/integrations/{integration_id}/runs/{run_id}"' in page.text
    created = re.search(r"<strong>(\d+)</strong> new", page.text)
    assert created and int(created.group(1)) == outcome.counts["created"] > 0


def _routes(integration_id: int) -> tuple[list[str], list[str]]:
    base = f"/integrations/{integration_id}"
    gets = [base, f"{base}/setup", f"{base}/setup/initial", f"{base}/setup/authorize", f"{base}/setup/mapping",
            f"{base}/setup/review", f"{base}/reauthorize", f"{base}/authorize", f"{base}/revoke"]
    posts = [f"{base}/setup/initial", f"{base}/authorize", f"{base}/setup/authorize", f"{base}/setup/mapping",
             f"{base}/setup/preview", f"{base}/setup/publish", f"{base}/pause", f"{base}/resume", f"{base}/revoke"]
    return gets, posts


def test_another_programmes_admin_gets_404_on_every_integration_page(
    portal: Portal, two_programmes: dict[str, object]
) -> None:
    from hrsync.store.db import session_scope
    from hrsync.store.models import ActivityLog, ImportRun, Integration

    integration_id = int(str(two_programmes["integration_id"]))
    outsider = portal.sign_in(str(two_programmes["outsider"]))
    token = csrf_of(outsider.get("/integrations").text)
    gets, posts = _routes(integration_id)
    for path in gets:
        response = outsider.get(path)
        assert response.status_code == 404, path
        assert TENANT + ".intellihr.net" not in response.text, path
    for path in posts:
        response = outsider.post(path, data={"csrf_token": token, "subdomain": TENANT, "api_key": API_KEY,
                                             "frequency": "hourly", "map.employee_id": "employeeNumber",
                                             "map.email": "primaryEmailAddress"})
        assert response.status_code == 404, path
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        assert integration.status == "live" and integration.secret_encrypted and integration.frequency == "daily"
        assert session.scalar(select(ImportRun.id).where(ImportRun.integration_id == integration_id)) is None
        actions = session.scalars(select(ActivityLog.action).where(ActivityLog.integration_id == integration_id))
        assert set(actions) == {"created", "published", "webhooks_registered"}  # the owner publishing
    listing = outsider.get("/integrations?tab=mine")
    assert f"/integrations/{integration_id}" not in listing.text
    # The owner still reaches every page (so the 404s above are about the programme, not the routes).
    owner = portal.sign_in(str(two_programmes["owner"]))
    for path in gets:
        assert owner.get(path).status_code in (200, 303), path


def test_signed_out_visitors_are_sent_to_sign_in_from_every_integration_page(
    portal: Portal, two_programmes: dict[str, object]
) -> None:
    gets, posts = _routes(int(str(two_programmes["integration_id"])))
    visitor = portal.client()
    for path in [*gets, "/integrations", "/admins", "/integrations/new/intellihr"]:
        response = visitor.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    token = csrf_of(visitor.get("/login").text)
    for path in posts:
        response = visitor.post(path, data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path


def test_unknown_integration_is_a_404_page(portal: Portal, two_programmes: dict[str, object]) -> None:
    client = portal.sign_in(str(two_programmes["owner"]))
    response = client.get("/integrations/999999")
    assert response.status_code == 404
    assert "was not found" in response.text
