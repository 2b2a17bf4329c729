"""Revoke and re-authorize restore the status before the revoke; one connection per intelliHR account;
drafts can be deleted after a confirmation. All over real HTTP against the portal and the simulator."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.web.conftest import API_KEY, TENANT, Portal, csrf_of


def _integration(integration_id: int) -> Any:
    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        if integration is not None:
            session.expunge(integration)
        return integration


def _published(email: str, *, pause: bool = False) -> int:
    from hrsync.services import integrations as svc
    from hrsync.store.db import session_scope
    from hrsync.store.models import AdminUser

    with session_scope() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email_lower == email.lower()))
        integration = svc.create_integration(session, admin.programme, admin, subdomain=TENANT, api_key=API_KEY,
                                             frequency="daily", schedule_time="06:00")
        svc.publish(session, integration, admin)
        if pause:
            svc.pause(session, integration, admin)
        return integration.id


def _revoke(portal: Portal, client: httpx.Client, integration_id: int) -> None:
    done = portal.post_form(client, f"/integrations/{integration_id}/revoke", f"/integrations/{integration_id}/revoke")
    assert done.status_code == 303
    assert _integration(integration_id).status == "revoked"


def _reauthorize(portal: Portal, client: httpx.Client, integration_id: int, *, as_json: bool = True,
                 subdomain: str = TENANT) -> httpx.Response:
    headers = {"Accept": "application/json"} if as_json else {}
    return portal.post_form(client, f"/integrations/{integration_id}/reauthorize",
                            f"/integrations/{integration_id}/authorize",
                            {"subdomain": subdomain, "api_key": API_KEY, "mode": "reauthorize"}, headers=headers)


def _new_draft(portal: Portal, client: httpx.Client) -> int:
    data = {"frequency": "daily", "schedule_time": "06:00", "date_format": "DD/MM/YYYY", "welcome_email": "on"}
    created = portal.post_form(client, "/integrations/new/intellihr", "/integrations/new/intellihr", data)
    match = re.fullmatch(r"/integrations/(\d+)/setup/authorize", created.headers["location"])
    assert match, created.text[:1000]
    return int(match.group(1))


def test_a_live_integration_revoked_and_authorized_again_is_live_with_its_schedule(portal: Portal) -> None:
    from hrsync.domain.schedule import next_run_for
    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    email = portal.new_admin()[2]
    integration_id = _published(email)
    client = portal.sign_in(email)
    assert "comes back live, and scheduled imports resume" in client.get(f"/integrations/{integration_id}/revoke").text
    _revoke(portal, client, integration_id)
    revoked = _integration(integration_id)
    assert revoked.status_before_revoke == "live" and revoked.next_run_at is None
    page = client.get(f"/integrations/{integration_id}/reauthorize").text
    assert "the integration is live again and scheduled imports resume" in page

    answer = _reauthorize(portal, client, integration_id)
    assert answer.status_code == 200 and answer.json()["ok"] is True
    back = _integration(integration_id)
    assert back.status == "live" and back.status_before_revoke is None
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        assert integration.next_run_at == next_run_for(integration, integration.programme)
    # the next page says what happened; the modal's last button leads to the dashboard, not "Finish setup"
    modal = client.get(f"/integrations/{integration_id}/reauthorize").text
    assert "The integration is live again: scheduled imports resume." in modal
    assert "Finish setup" not in modal and "Back to the dashboard" in modal
    dashboard = client.get(f"/integrations/{integration_id}").text
    assert "Access is revoked" not in dashboard
    assert "live again, scheduled imports resumed" in dashboard  # the activity log


def test_a_paused_integration_revoked_and_authorized_again_stays_paused_and_says_so(portal: Portal) -> None:
    email = portal.new_admin()[2]
    integration_id = _published(email, pause=True)
    client = portal.sign_in(email)
    _revoke(portal, client, integration_id)
    assert _integration(integration_id).status_before_revoke == "paused"
    answer = _reauthorize(portal, client, integration_id, as_json=False)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "The integration is paused, as it was before access was revoked" in page
    back = _integration(integration_id)
    assert back.status == "paused" and back.next_run_at is None


def test_a_second_integration_for_a_connected_intellihr_account_is_refused_with_a_link(portal: Portal) -> None:
    email = portal.new_admin()[2]
    existing = _published(email)
    client = portal.sign_in(email)
    draft = _new_draft(portal, client)
    before = portal.sim.stats.count(path_prefix="/v1")
    refused = portal.post_form(client, f"/integrations/{draft}/setup/authorize", f"/integrations/{draft}/authorize",
                               {"subdomain": "https://DEMO.intellihr.net/", "api_key": API_KEY},
                               headers={"Accept": "application/json"})
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "already_connected" and body["link"] == f"/integrations/{existing}"
    assert "demo.intellihr.net is already connected in this programme" in body["reason"]
    assert portal.sim.stats.count(path_prefix="/v1") == before  # refused before intelliHR is asked
    assert _integration(draft).secret_encrypted is None
    page = portal.post_form(client, f"/integrations/{draft}/authorize", f"/integrations/{draft}/authorize",
                            {"subdomain": "demo", "api_key": API_KEY})
    assert page.status_code == 400
    assert "This intelliHR account is already connected." in page.text
    assert f'<a href="/integrations/{existing}">Open the existing integration</a>' in page.text

    # another programme may connect the same account
    other = portal.new_admin()[2]
    other_client = portal.sign_in(other)
    other_draft = _new_draft(portal, other_client)
    ok = portal.post_form(other_client, f"/integrations/{other_draft}/setup/authorize",
                          f"/integrations/{other_draft}/authorize", {"subdomain": TENANT, "api_key": API_KEY},
                          headers={"Accept": "application/json"})
    assert ok.status_code == 200 and ok.json()["ok"] is True


def test_an_authorized_draft_counts_and_a_revoked_integration_cannot_be_authorized_beside_it(portal: Portal) -> None:
    email = portal.new_admin()[2]
    revoked = _published(email)
    client = portal.sign_in(email)
    _revoke(portal, client, revoked)
    draft = _new_draft(portal, client)  # the revoked one holds no key: the account is free again
    ok = portal.post_form(client, f"/integrations/{draft}/setup/authorize", f"/integrations/{draft}/authorize",
                          {"subdomain": TENANT, "api_key": API_KEY}, headers={"Accept": "application/json"})
    assert ok.status_code == 200
    again = _reauthorize(portal, client, revoked)
    assert again.status_code == 400 and again.json()["link"] == f"/integrations/{draft}"
    assert "delete that draft first" in again.json()["reason"]
    assert _integration(revoked).status == "revoked"


def test_a_draft_is_deleted_after_a_confirmation_and_the_activity_log_keeps_it(portal: Portal) -> None:
    from hrsync.store.db import session_scope
    from hrsync.store.models import ActivityLog, AdminUser

    email = portal.new_admin()[2]
    client = portal.sign_in(email)
    draft = _new_draft(portal, client)
    wizard = client.get(f"/integrations/{draft}/setup/authorize").text
    assert f'href="/integrations/{draft}/delete"' in wizard
    assert f'href="/integrations/{draft}/delete"' in client.get(f"/integrations/{draft}").text
    confirm = client.get(f"/integrations/{draft}/delete")
    assert confirm.status_code == 200 and "Delete this draft?" in confirm.text
    forged = client.post(f"/integrations/{draft}/delete", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and _integration(draft) is not None
    deleted = client.post(f"/integrations/{draft}/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/integrations?tab=mine"
    assert "The draft was deleted." in client.get(deleted.headers["location"]).text
    assert _integration(draft) is None
    assert client.get(f"/integrations/{draft}").status_code == 404
    with session_scope() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email_lower == email.lower()))
        entries = session.scalars(select(ActivityLog).where(ActivityLog.programme_id == admin.programme_id,
                                                            ActivityLog.action == "deleted_draft")).all()
        assert [(e.admin_id, e.detail["integration_id"]) for e in entries] == [(admin.id, draft)]


@pytest.mark.parametrize("pause", [False, True])
def test_a_published_integration_cannot_be_deleted(portal: Portal, pause: bool) -> None:
    email = portal.new_admin()[2]
    integration_id = _published(email, pause=pause)
    client = portal.sign_in(email)
    assert "Delete draft" not in client.get(f"/integrations/{integration_id}").text
    page = client.get(f"/integrations/{integration_id}/delete")
    assert page.status_code == 303
    refused = portal.post_form(client, f"/integrations/{integration_id}", f"/integrations/{integration_id}/delete")
    assert refused.status_code == 303
    assert "Only a draft can be deleted" in client.get(refused.headers["location"]).text
    assert _integration(integration_id) is not None
