"""API tokens with an owner, scopes and an expiry (issue 14), over real HTTP: created on the tokens
page, refused by the API when expired, revoked or owned by a deactivated administrator (401) or
used beyond their scopes (403 naming the scope); each scope does what it says."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from tests.web.conftest_b import PASSWORD, World, csrf_of, post_form, sign_in, wait_for_decision, wait_for_run, world

from hrsync.security.passwords import hash_password
from hrsync.store import session_factory, session_scope
from hrsync.store.models import AdminUser, ApiToken
from hrsync.store.types import utcnow

__all__ = ["world"]

TOKENS = "/settings/api-tokens"
SHOWN = re.compile(r"data-new-token>(hrs_[A-Za-z0-9_\-]+)<")


def _new_admin(world: World, *, role: str = "administrator", name: str | None = None) -> tuple[int, httpx.Client]:
    """Another administrator of Acme's programme, signed in."""
    email = f"admin-{uuid.uuid4().hex[:8]}@acme.example"
    with session_scope() as session:
        admin = AdminUser(programme_id=world.acme.programme_id, email=email, name=name,
                          password_hash=hash_password(PASSWORD), role=role)
        session.add(admin)
        session.flush()
        admin_id = admin.id
    return admin_id, sign_in(world.client(), email, PASSWORD)


def _create(client: httpx.Client, name: str, scopes: list[str], days: str = "90") -> httpx.Response:
    page = client.get(TOKENS)
    assert page.status_code == 200
    return client.post(TOKENS, data={"name": name, "scopes": scopes, "expires_in_days": days,
                                     "csrf_token": csrf_of(page.text)})


def _token(client: httpx.Client, name: str, scopes: list[str], days: str = "90") -> str:
    answer = _create(client, name, scopes, days)
    assert answer.status_code == 303, answer.text[:1500]  # Post/Redirect/Get: the next page shows it once
    match = SHOWN.search(client.get(TOKENS).text)
    assert match
    return match.group(1)


def _api(world: World, raw: str) -> httpx.Client:
    return world.client(headers={"Authorization": f"Bearer {raw}"})


def _row(name: str) -> ApiToken:
    with session_factory()() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name))
        assert row is not None
        return row


def _listing_row(client: httpx.Client, token_id: int) -> str:
    page = client.get(TOKENS).text
    start = page.index(f'data-token-id="{token_id}"')
    return page[start:page.index("</tr>", start)]


def test_the_form_chooses_scopes_and_expiry_and_the_list_shows_owner_scopes_expiry_and_last_use(world: World) -> None:
    _, client = _new_admin(world, name="Priya Owner")
    page = client.get(TOKENS).text
    assert re.search(r'name="scopes" value="read" checked', page)  # read is the default
    assert not re.search(r'name="scopes" value="import" checked', page)
    assert '<option value="90" selected>90 days</option>' in page and 'value="365"' in page
    raw = _token(client, "Nightly importer", ["read", "import"], "30")
    row = _row("Nightly importer")
    assert row.scopes == "read,import"
    assert row.expires_at is not None and row.expires_at - row.created_at == timedelta(days=30)
    listed = _listing_row(client, row.id)
    assert "Priya Owner" in listed and "Read, Import" in listed and "Approve" not in listed
    assert row.expires_at.strftime("%d/%m/%Y") in listed and "Never" in listed.split("data-last-used>", 1)[1]
    assert _api(world, raw).get("/api/v1/integrations").status_code == 200
    used = _listing_row(client, row.id).split("data-last-used>", 1)[1]
    assert "Never" not in used.split("</td>", 1)[0]


def test_a_token_needs_a_scope_and_an_offered_expiry(world: World) -> None:
    client = world.admin_client(world.acme)
    none = _create(client, "No scope", [])
    assert none.status_code == 400 and "Choose at least one" in none.text and not SHOWN.search(none.text)
    odd = _create(client, "Forever", ["read"], "3650")
    assert odd.status_code == 400 and "30, 90, 180 or 365 days" in odd.text and not SHOWN.search(odd.text)
    bogus = _create(client, "Root", ["admin"])
    assert bogus.status_code == 400 and not SHOWN.search(bogus.text)
    with session_factory()() as session:
        assert session.scalar(select(ApiToken).where(ApiToken.name.in_(["No scope", "Forever", "Root"]))) is None


def test_a_read_only_administrator_may_create_read_tokens_only(world: World) -> None:
    _, client = _new_admin(world, role="read_only")
    page = client.get(TOKENS).text
    assert re.search(r'name="scopes" value="import"\s+disabled', page) and "read tokens only" in page
    refused = _create(client, "Sneaky import", ["read", "import"])
    assert refused.status_code == 400 and "read tokens only" in refused.text and not SHOWN.search(refused.text)
    raw = _token(client, "Read-only report", ["read"])
    assert _api(world, raw).get("/api/v1/members").status_code == 200


def test_each_scope_allows_its_routes_and_a_missing_one_is_403_naming_it(world: World) -> None:
    client = world.admin_client(world.acme)
    reader = _api(world, _token(client, "Reader", ["read"]))
    importer = _api(world, _token(client, "Importer", ["import"]))
    integration = world.acme.integration_id
    run_id = world.acme.run_ids[0]
    for path in ("/api/v1/integrations", f"/api/v1/integrations/{integration}/runs", f"/api/v1/runs/{run_id}",
                 f"/api/v1/runs/{run_id}/errors.csv", "/api/v1/members"):
        assert reader.get(path).status_code == 200, path
        refused = importer.get(path)
        assert refused.status_code == 403 and "'read' scope" in refused.json()["detail"], path
    no_import = reader.post(f"/api/v1/integrations/{integration}/runs", json={"dry_run": True})
    assert no_import.status_code == 403 and "'import' scope" in no_import.json()["detail"]
    for decision in ("approve", "reject"):
        denied = importer.post(f"/api/v1/runs/{world.held_run_id}/{decision}")
        assert denied.status_code == 403 and "'approve' scope" in denied.json()["detail"]
    started = importer.post(f"/api/v1/integrations/{integration}/runs", json={"dry_run": True})
    assert started.status_code == 202, started.text
    run = wait_for_run(started.json()["id"])  # finished, so the integration is free again
    assert run.trigger == "api" and run.dry_run


def test_the_approve_scope_decides_a_held_run(world: World) -> None:
    globex = sign_in(world.client(), world.globex.admin_email, PASSWORD)
    approver = _api(world, _token(globex, "Approver", ["approve"]))
    assert approver.get(f"/api/v1/runs/{world.held_run_id}").status_code == 403
    answer = approver.post(f"/api/v1/runs/{world.held_run_id}/approve")
    assert answer.status_code == 202, answer.text
    assert wait_for_decision(world.held_run_id).status != "held"


def test_expired_revoked_and_deactivated_owners_tokens_get_401(world: World) -> None:
    owner_id, owner = _new_admin(world, name="Leaving Soon")
    expiring, revoking, orphaned = (_token(owner, name, ["read"]) for name in ("Expiring", "Revoking", "Orphaned"))
    for raw in (expiring, revoking, orphaned):
        assert _api(world, raw).get("/api/v1/members").status_code == 200
    with session_scope() as session:
        session.execute(update(ApiToken).where(ApiToken.name == "Expiring")
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    revoke = post_form(owner, TOKENS, f"{TOKENS}/{_row('Revoking').id}/revoke")
    assert revoke.status_code == 303
    expired = _api(world, expiring).get("/api/v1/members")
    assert expired.status_code == 401 and expired.headers["www-authenticate"].startswith("Bearer")
    assert _api(world, revoking).get("/api/v1/members").status_code == 401
    assert _api(world, orphaned).get("/api/v1/members").status_code == 200
    with session_scope() as session:
        session.execute(update(AdminUser).where(AdminUser.id == owner_id).values(is_active=False))
    assert _api(world, orphaned).get("/api/v1/members").status_code == 401
    page = world.admin_client(world.acme)
    assert "Expired" in _listing_row(page, _row("Expiring").id)
    assert "Owner inactive" in _listing_row(page, _row("Orphaned").id)
    with session_scope() as session:  # reactivated: the token works again (it was never revoked)
        session.execute(update(AdminUser).where(AdminUser.id == owner_id).values(is_active=True))
    assert _api(world, orphaned).get("/api/v1/members").status_code == 200


def test_a_removed_owners_token_gets_401(world: World) -> None:
    _, owner = _new_admin(world)
    raw = _token(owner, "Owner removed", ["read"])
    assert _api(world, raw).get("/api/v1/integrations").status_code == 200
    with session_scope() as session:  # what deleting the administrator does (ON DELETE SET NULL)
        session.execute(update(ApiToken).where(ApiToken.name == "Owner removed").values(created_by_id=None))
    assert _api(world, raw).get("/api/v1/integrations").status_code == 401
    assert "a removed administrator" in _listing_row(world.admin_client(world.acme), _row("Owner removed").id)
