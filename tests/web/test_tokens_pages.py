"""Settings → API tokens: created and shown once, stored only as a hash, listed, revoked."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select
from tests.web.conftest_b import World, post_form, world

from hrsync.store import session_factory
from hrsync.store.models import ActivityLog, ApiToken, PortalSession

__all__ = ["world"]

TOKENS = "/settings/api-tokens"
SHOWN = re.compile(r"data-new-token>(hrs_[A-Za-z0-9_\-]+)<")


def test_a_new_token_is_shown_once_stored_as_a_hash_and_works(world: World) -> None:
    client = world.admin_client(world.acme)
    posted = post_form(client, TOKENS, TOKENS, {"name": "Payroll sync", "scopes": "read"})
    assert posted.status_code == 303 and posted.headers["location"] == TOKENS  # Post/Redirect/Get
    created = client.get(TOKENS)
    assert created.headers["cache-control"] == "no-store"
    match = SHOWN.search(created.text)
    assert match, created.text[:2000]
    raw = match.group(1)
    with session_factory()() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == "Payroll sync"))
        assert row is not None and row.programme_id == world.acme.programme_id
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest() and raw not in row.token_hash
        assert raw.startswith(row.prefix)
        sessions = [str(data) for (data,) in session.execute(select(PortalSession.data))]
        assert not any(raw in data for data in sessions)  # it crossed the redirect encrypted, and is gone now
        assert session.scalar(select(func.count()).select_from(ApiToken)
                              .where(ApiToken.name == "Payroll sync")) == 1
    listing = client.get(TOKENS)  # a reload: the token is not shown again, and no second one is made
    assert "Payroll sync" in listing.text and raw not in listing.text and f"{row.prefix}…" in listing.text
    assert listing.text.count("Payroll sync") == created.text.count("Payroll sync") - 1  # the "shown once" box
    api = world.client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/integrations")
    assert api.status_code == 200 and [i["id"] for i in api.json()] == [world.acme.integration_id]
    assert "Never" not in client.get(TOKENS).text.split("Payroll sync", 1)[1].split("</tr>", 1)[0]


def test_a_token_needs_a_name(world: World) -> None:
    answer = post_form(world.admin_client(world.acme), TOKENS, TOKENS, {"name": "   "})
    assert answer.status_code == 400 and "Give the token a name" in answer.text
    assert not SHOWN.search(answer.text)


def test_revoking_stops_the_token_and_is_logged(world: World) -> None:
    client = world.admin_client(world.acme)
    assert post_form(client, TOKENS, TOKENS, {"name": "Nightly report", "scopes": "read"}).status_code == 303
    raw = SHOWN.search(client.get(TOKENS).text).group(1)  # type: ignore[union-attr]
    with session_factory()() as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "Nightly report"))
    revoked = post_form(client, TOKENS, f"{TOKENS}/{token_id}/revoke")
    assert revoked.status_code == 303
    assert "Revoked" in client.get(TOKENS).text
    assert world.client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/members").status_code == 401
    with session_factory()() as session:
        assert session.scalar(select(ActivityLog).where(ActivityLog.action == "revoked_api_token")) is not None


def test_forms_without_csrf_are_refused_and_the_nav_address_redirects(world: World) -> None:
    client = world.admin_client(world.acme)
    assert client.post(TOKENS, data={"name": "sneaky"}).status_code == 403
    with session_factory()() as session:
        assert session.scalar(select(ApiToken).where(ApiToken.name == "sneaky")) is None
    alias = client.get("/tokens")
    assert alias.status_code == 307 and alias.headers["location"] == TOKENS
    assert world.client().get(TOKENS).status_code == 303  # signed out → sign-in page
