"""Administrator roles, deactivation and reactivation, through the portal and the JSON API over HTTP.

A real portal (uvicorn on a loopback port, a fresh SQLite file): every action is a form posted the
way a browser posts it; the database is read only to check what a request did or did not change.
"""

from __future__ import annotations

import html
import uuid

import httpx
import pytest
from sqlalchemy import select

from hrsync.security.passwords import hash_password
from hrsync.services.api_tokens import create_api_token
from hrsync.services.integrations import create_integration
from hrsync.store.db import session_scope
from hrsync.store.enums import TokenScope
from hrsync.store.models import ActivityLog, AdminUser, ApiToken, Integration, Programme
from hrsync.web.deps import READ_ONLY_MAY_POST

from .conftest import PASSWORD, Portal, csrf_of

ALL_SCOPES = tuple(TokenScope)  # the read-only rule, not a missing scope, must be what refuses

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _add_admin(programme_id: int, role: str, *, name: str | None = None) -> str:
    """Another administrator of the programme, signed up (a password) with ``role``."""
    email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
    with session_scope() as session:
        session.add(AdminUser(programme_id=programme_id, email=email, name=name, role=role,
                              password_hash=hash_password(PASSWORD)))
    return email


def _admin(email: str) -> AdminUser:
    with session_scope() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email_lower == email.lower()))
        assert admin is not None
        session.expunge(admin)
        return admin


def _activity(programme_id: int, action: str) -> list[ActivityLog]:
    with session_scope() as session:
        rows = list(session.scalars(select(ActivityLog).where(ActivityLog.programme_id == programme_id,
                                                                ActivityLog.action == action)
                                    .order_by(ActivityLog.id)))
        for row in rows:
            session.expunge(row)
        return rows


def _post(portal: Portal, client: httpx.Client, action: str, data: dict[str, str] | None = None) -> httpx.Response:
    return portal.post_form(client, "/admins", action, data)


def _integration_of(programme_id: int, creator_email: str) -> int:
    with session_scope() as session:
        programme = session.get(Programme, programme_id)
        creator = session.scalar(select(AdminUser).where(AdminUser.email_lower == creator_email.lower()))
        assert programme is not None and creator is not None
        return create_integration(session, programme, creator, subdomain="demo", api_key="sim-demo-key").id


def test_the_programmes_first_administrator_is_its_owner(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    assert _admin(email).role == "owner"
    page = portal.sign_in(email).get("/admins")
    assert page.status_code == 200
    assert 'data-role="owner"' in page.text and "Send invitation" in page.text and "Deactivate" in page.text


def test_read_only_sees_every_page_but_every_change_is_refused(portal: Portal) -> None:
    programme_id, _, owner = portal.new_admin()
    integration_id = _integration_of(programme_id, owner)
    viewer = _add_admin(programme_id, "read_only")
    client = portal.sign_in(viewer)
    for path in ("/integrations", f"/integrations/{integration_id}", "/members", "/admins", "/settings/api-tokens"):
        assert client.get(path).status_code == 200, path
    page = client.get("/admins")
    assert "Send invitation" not in page.text and "Deactivate" not in page.text and "Change role" not in page.text
    dashboard = client.get(f"/integrations/{integration_id}").text  # the buttons the role check would refuse
    assert f"/integrations/{integration_id}/import\"" not in dashboard and "Revoke access" not in dashboard
    assert "Import history" in dashboard
    assert "/setup/" not in dashboard and ">Import data now<" not in dashboard  # no Edit, no Mapping, no import
    assert "Manual only" in dashboard and "Import data now" not in dashboard  # not even named in the schedule
    history = client.get(f"/integrations/{integration_id}/runs").text
    assert ">Import data now<" not in history
    listing = client.get("/integrations?tab=explore").text  # nothing to connect: no catalogue
    assert "Explore integrations" not in listing and "/integrations/new/" not in listing
    for page_only_for_a_change, shown_instead in (
            (f"/integrations/{integration_id}/setup/mapping", f"/integrations/{integration_id}"),
            (f"/integrations/{integration_id}/setup/initial", f"/integrations/{integration_id}"),
            (f"/integrations/{integration_id}/import", f"/integrations/{integration_id}"),
            (f"/integrations/{integration_id}/revoke", f"/integrations/{integration_id}"),
            ("/integrations/new/intellihr", "/integrations"), ("/members/new", "/members")):
        sent = client.get(page_only_for_a_change)
        assert sent.status_code == 303 and sent.headers["location"] == shown_instead, page_only_for_a_change
    assert "Your role is read-only" in client.get(f"/integrations/{integration_id}").text  # says why, once
    owners_dashboard = portal.sign_in(owner).get(f"/integrations/{integration_id}").text
    assert f"/integrations/{integration_id}/import\"" in owners_dashboard and "/setup/mapping" in owners_dashboard

    refused = [
        ("/integrations/new/intellihr", f"/integrations/{integration_id}", {}),
        (f"/integrations/{integration_id}/pause", f"/integrations/{integration_id}", {}),
        (f"/integrations/{integration_id}/delete", f"/integrations/{integration_id}", {}),
        ("/admins", "/admins", {"email": "sneaky@example.com", "role": "owner"}),
        (f"/admins/{_admin(viewer).id}/role", "/admins", {"role": "owner"}),
    ]
    for action, page_path, data in refused:
        response = portal.post_form(client, page_path, action, data)
        assert response.status_code == 403, (action, response.status_code)
        assert "read-only" in response.text
    with session_scope() as session:
        assert session.scalar(select(AdminUser).where(AdminUser.email_lower == "sneaky@example.com")) is None
        assert session.scalars(select(Integration).where(Integration.programme_id == programme_id)).all().__len__() == 1
    assert _admin(viewer).role == "read_only"
    # signing out is still theirs
    assert "/logout" in READ_ONLY_MAY_POST
    out = portal.post_form(client, "/integrations", "/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/integrations").status_code == 303


def test_an_administrator_changes_integrations_but_not_administrators(portal: Portal) -> None:
    programme_id, owner_id, _ = portal.new_admin()
    admin_email = _add_admin(programme_id, "administrator")
    client = portal.sign_in(admin_email)
    page = client.get("/admins")
    assert page.status_code == 200 and "Send invitation" not in page.text and "Only an owner" in page.text
    created = portal.post_form(client, "/integrations?tab=explore", "/integrations/new/intellihr")
    assert created.status_code == 303  # the wizard's first step
    for action, data in (("/admins", {"email": "new@example.com"}), (f"/admins/{owner_id}/deactivate", {}),
                         (f"/admins/{owner_id}/role", {"role": "read_only"}), (f"/admins/{owner_id}/resend", {})):
        response = _post(portal, client, action, data)
        assert response.status_code == 403 and "Only an owner" in response.text, action
    owner = _admin_by_id(owner_id)
    assert owner.is_active and owner.role == "owner"


def _admin_by_id(admin_id: int) -> AdminUser:
    with session_scope() as session:
        admin = session.get(AdminUser, admin_id)
        assert admin is not None
        session.expunge(admin)
        return admin


def test_owner_invites_with_a_role_and_changes_roles_in_the_activity_log(portal: Portal) -> None:
    programme_id, owner_id, owner = portal.new_admin()
    client = portal.sign_in(owner)
    invited = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    response = _post(portal, client, "/admins", {"email": invited, "name": "Vi Ewer", "role": "read_only"})
    assert response.status_code == 303
    assert "read-only" in client.get("/admins").text
    row = _admin(invited)
    assert row.role == "read_only" and row.password_hash is None
    default = f"plain-{uuid.uuid4().hex[:6]}@example.com"
    assert _post(portal, client, "/admins", {"email": default}).status_code == 303
    assert _admin(default).role == "administrator"
    bad = _post(portal, client, "/admins", {"email": "x@example.com", "role": "emperor"})
    assert bad.status_code == 400 and "is not a role" in bad.text

    assert _post(portal, client, f"/admins/{row.id}/role", {"role": "owner"}).status_code == 303
    assert _admin(invited).role == "owner"
    [invite_row, _] = _activity(programme_id, "invited_admin")
    assert invite_row.admin_id == owner_id and invite_row.detail["email"] == invited
    assert invite_row.detail["role"] == "read_only" and invite_row.detail["by"] == owner
    [role_row] = _activity(programme_id, "changed_admin_role")
    assert role_row.admin_id == owner_id
    assert role_row.detail == {**role_row.detail, "role": "owner", "previous_role": "read_only", "email": invited}
    changes = client.get("/admins").text
    assert f"made {invited} an owner" in changes and f"invited {invited} as a read-only administrator" in changes


def test_the_last_owner_can_neither_be_demoted_nor_deactivated(portal: Portal) -> None:
    programme_id, owner_id, owner = portal.new_admin()
    client = portal.sign_in(owner)
    # an owner who has not accepted the invitation cannot sign in: they do not count
    pending = f"pending-{uuid.uuid4().hex[:6]}@example.com"
    assert _post(portal, client, "/admins", {"email": pending, "role": "owner"}).status_code == 303
    for action, data in ((f"/admins/{owner_id}/role", {"role": "administrator"}),
                         (f"/admins/{owner_id}/deactivate", {})):
        response = _post(portal, client, action, data)
        assert response.status_code == 303
        page = client.get("/admins")
        assert "last owner" in page.text, action
    me = _admin_by_id(owner_id)
    assert me.is_active and me.role == "owner"
    assert not _activity(programme_id, "changed_admin_role") and not _activity(programme_id, "deactivated_admin")
    # with a second owner who can sign in, the first may step down
    second = _add_admin(programme_id, "owner")
    assert _post(portal, client, f"/admins/{owner_id}/role", {"role": "administrator"}).status_code == 303
    assert _admin_by_id(owner_id).role == "administrator"
    # ...and now the second is the last one
    other = portal.sign_in(second)
    assert _post(portal, other, f"/admins/{_admin(second).id}/deactivate").status_code == 303
    assert "last owner" in other.get("/admins").text and _admin(second).is_active


def test_deactivation_ends_the_session_and_tokens_at_once_and_reactivation_restores(portal: Portal) -> None:
    programme_id, owner_id, owner = portal.new_admin()
    leaver = _add_admin(programme_id, "administrator", name="Jo Bloggs")
    leaver_id = _admin(leaver).id
    integration_id = _integration_of(programme_id, leaver)
    with session_scope() as session:
        raw, _ = create_api_token(session, programme_id, "leaver's script",
                                  created_by=session.get(AdminUser, leaver_id), scopes=ALL_SCOPES)
    api = httpx.Client(base_url=portal.base_url, headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/integrations").status_code == 200
    session_of_leaver = portal.sign_in(leaver)
    assert session_of_leaver.get("/integrations").status_code == 200
    dashboard = portal.sign_in(owner)
    page = dashboard.get(f"/integrations/{integration_id}").text
    assert f"Import e-mails go to Jo Bloggs ({leaver}), who set up this integration." in page

    response = _post(portal, dashboard, f"/admins/{leaver_id}/deactivate")
    assert response.status_code == 303
    assert "is deactivated" in dashboard.get("/admins").text
    # the copied cookie is refused at the very next request, and so is the token
    refused = session_of_leaver.get("/integrations")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    assert api.get("/api/v1/integrations").status_code == 401
    with session_scope() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.created_by_id == leaver_id))
        assert token is not None and token.revoked_at is not None
    # nor can they sign in again
    login = portal.client()
    form = login.get("/login")
    assert login.post("/login", data={"email": leaver, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
                      ).status_code == 400
    row = _admin(leaver)
    assert not row.is_active and row.deactivated_at is not None
    [entry] = _activity(programme_id, "deactivated_admin")
    assert entry.admin_id == owner_id and entry.detail["email"] == leaver and entry.detail["revoked_api_tokens"] == 1
    page = html.unescape(dashboard.get(f"/integrations/{integration_id}").text)
    assert (f"Import e-mails go to the programme's owners: {owner}, because Jo Bloggs, who set it up, "
            "was deactivated.") in page

    portal.reset_throttle()
    assert _post(portal, dashboard, f"/admins/{leaver_id}/reactivate").status_code == 303
    back = _admin(leaver)
    assert back.is_active and back.deactivated_at is None and back.role == "administrator"
    [again] = _activity(programme_id, "reactivated_admin")
    assert again.admin_id == owner_id
    portal.sign_in(leaver)  # asserts the redirect of a successful sign-in
    assert api.get("/api/v1/integrations").status_code == 401  # a revoked token stays revoked
    assert "who set up this integration" in dashboard.get(f"/integrations/{integration_id}").text
    api.close()


def test_an_owner_may_deactivate_themselves_when_another_owner_remains(portal: Portal) -> None:
    programme_id, owner_id, owner = portal.new_admin()
    _add_admin(programme_id, "owner")
    client = portal.sign_in(owner)
    assert "Deactivate my account" in client.get("/admins").text
    assert _post(portal, client, f"/admins/{owner_id}/deactivate").status_code == 303
    assert client.get("/admins").status_code == 303  # signed out by their own deactivation
    assert not _admin(owner).is_active


def test_a_read_only_administrators_token_cannot_change_anything_through_the_api(portal: Portal) -> None:
    programme_id, _, owner = portal.new_admin()
    integration_id = _integration_of(programme_id, owner)
    maker = _add_admin(programme_id, "administrator")
    with session_scope() as session:
        raw, _ = create_api_token(session, programme_id, "reporting",
                                  created_by=session.get(AdminUser, _admin(maker).id), scopes=ALL_SCOPES)
    api = httpx.Client(base_url=portal.base_url, headers={"Authorization": f"Bearer {raw}"})
    owner_client = portal.sign_in(owner)
    assert _post(portal, owner_client, f"/admins/{_admin(maker).id}/role", {"role": "read_only"}).status_code == 303
    assert api.get(f"/api/v1/integrations/{integration_id}").status_code == 200
    started = api.post(f"/api/v1/integrations/{integration_id}/runs", json={"dry_run": True})
    assert started.status_code == 403 and "read-only" in started.json()["detail"]
    assert api.post("/api/v1/runs/1/approve").status_code == 403
    api.close()


def test_another_programmes_owner_cannot_touch_these_administrators(portal: Portal) -> None:
    programme_id, _, _ = portal.new_admin()
    target = _add_admin(programme_id, "administrator")
    _, _, outsider = portal.new_admin()
    client = portal.sign_in(outsider)
    for action, data in ((f"/admins/{_admin(target).id}/deactivate", {}),
                         (f"/admins/{_admin(target).id}/role", {"role": "read_only"})):
        assert _post(portal, client, action, data).status_code == 404
    row = _admin(target)
    assert row.is_active and row.role == "administrator"
    assert target not in client.get("/admins").text


def test_administrators_revoke_only_their_own_tokens_and_owners_any(portal: Portal) -> None:
    programme_id, owner_id, owner = portal.new_admin()
    colleague, viewer = _add_admin(programme_id, "administrator"), _add_admin(programme_id, "read_only")
    raws: dict[str, tuple[str, int]] = {}
    with session_scope() as session:
        for who, admin_id in (("owner", owner_id), ("colleague", _admin(colleague).id),
                              ("viewer", _admin(viewer).id)):
            raw, token = create_api_token(session, programme_id, f"{who}'s report",
                                          created_by=session.get(AdminUser, admin_id))
            session.flush()
            raws[who] = (raw, token.id)
    api = httpx.Client(base_url=portal.base_url)

    def works(who: str) -> bool:
        return api.get("/api/v1/members", headers={"Authorization": f"Bearer {raws[who][0]}"}).status_code == 200

    tokens = "/settings/api-tokens"
    for email in (colleague, viewer):
        client = portal.sign_in(email)
        page = client.get(tokens).text
        assert f"/settings/api-tokens/{raws['owner'][1]}/revoke" not in page  # no button for another's token
        refused = portal.post_form(client, tokens, f"{tokens}/{raws['owner'][1]}/revoke")
        assert refused.status_code == 403 and "only they or an owner" in html.unescape(refused.text)
    assert works("owner") and works("colleague")
    as_colleague = portal.sign_in(colleague)
    assert portal.post_form(as_colleague, tokens, f"{tokens}/{raws['viewer'][1]}/revoke").status_code == 403
    assert works("viewer")
    assert portal.post_form(as_colleague, tokens, f"{tokens}/{raws['colleague'][1]}/revoke").status_code == 303
    assert not works("colleague")
    owner_client = portal.sign_in(owner)
    assert portal.post_form(owner_client, tokens, f"{tokens}/{raws['viewer'][1]}/revoke").status_code == 303
    assert not works("viewer") and works("owner")
    api.close()
