"""Tenant isolation for the import history, import page, members, tokens and the JSON API: another
programme's integration, run, member, file or token is a 404 (never a 403, never its data), and
nothing of the other programme changes."""

from __future__ import annotations

from sqlalchemy import func, select
from tests.web.conftest_b import World, csrf_of, members_of, world

from hrsync.store import session_factory
from hrsync.store.models import ApiToken, ImportRun, Member

__all__ = ["world"]


def _snapshot() -> tuple[int, list[tuple[int, str]], list[object]]:
    with session_factory()() as session:
        runs = [(r.id, r.status) for r in session.scalars(select(ImportRun).order_by(ImportRun.id))]
        revoked = list(session.scalars(select(ApiToken.revoked_at).order_by(ApiToken.id)))
        return int(session.scalar(select(func.count()).select_from(Member)) or 0), runs, revoked


def test_another_programmes_pages_and_files_are_404_for_an_admin(world: World) -> None:
    g = world.globex
    g_run, held = g.run_ids[0], world.held_run_id
    g_member = members_of(g.programme_id)[0].id
    client = world.admin_client(world.acme)
    csrf = csrf_of(client.get("/members").text)
    before = _snapshot()
    gets = [
        f"/integrations/{g.integration_id}/runs",
        f"/integrations/{g.integration_id}/runs/{g_run}",
        f"/integrations/{g.integration_id}/runs/{g_run}/errors.csv",
        f"/integrations/{g.integration_id}/runs/{g_run}/warnings.csv",
        f"/integrations/{g.integration_id}/runs/{g_run}/progress",
        f"/integrations/{g.integration_id}/import",
        f"/integrations/{g.integration_id}/import?run={held}",
        # Acme's own integration with Globex's run: still not found.
        f"/integrations/{world.acme.integration_id}/runs/{g_run}",
        f"/integrations/{world.acme.integration_id}/runs/{g_run}/errors.csv",
        f"/integrations/{world.acme.integration_id}/runs/{g_run}/progress",
        f"/integrations/{world.acme.integration_id}/import?run={held}",
        f"/members/{g_member}",
    ]
    for path in gets:
        answer = client.get(path)
        assert answer.status_code == 404, (path, answer.status_code)
        assert "Employee ID,Name" not in answer.text  # no CSV leaked
    posts = [
        f"/integrations/{g.integration_id}/import",
        f"/integrations/{g.integration_id}/runs/{held}/approve",
        f"/integrations/{g.integration_id}/runs/{held}/reject",
        f"/integrations/{world.acme.integration_id}/runs/{held}/approve",
        f"/integrations/{world.acme.integration_id}/runs/{held}/reject",
        f"/settings/api-tokens/{g.token_id}/revoke",
    ]
    for path in posts:
        answer = client.post(path, data={"csrf_token": csrf})
        assert answer.status_code == 404, (path, answer.status_code)
    assert _snapshot() == before
    listing = client.get("/members", params={"q": members_of(g.programme_id)[0].employee_id})
    assert f'href="/members/{g_member}"' not in listing.text
    export = client.get("/members/export.csv").text
    acme_ids = {m.employee_id for m in members_of(world.acme.programme_id)}
    assert {line.split(",", 1)[0] for line in export.splitlines()[1:]} <= acme_ids
    tokens = client.get("/settings/api-tokens").text
    assert "Globex" not in tokens


def test_another_programmes_objects_are_404_through_the_api(world: World) -> None:
    g = world.globex
    g_run, held = g.run_ids[0], world.held_run_id
    g_member = members_of(g.programme_id)[0].id
    api = world.api(world.acme)
    before = _snapshot()
    for method, path in [
        ("GET", f"/api/v1/integrations/{g.integration_id}"),
        ("GET", f"/api/v1/integrations/{g.integration_id}/runs"),
        ("POST", f"/api/v1/integrations/{g.integration_id}/runs"),
        ("GET", f"/api/v1/runs/{g_run}"),
        ("GET", f"/api/v1/runs/{held}"),
        ("POST", f"/api/v1/runs/{held}/approve"),
        ("POST", f"/api/v1/runs/{held}/reject"),
        ("GET", f"/api/v1/runs/{g_run}/errors.csv"),
        ("GET", f"/api/v1/runs/{g_run}/warnings.csv"),
        ("GET", f"/api/v1/members/{g_member}"),
    ]:
        answer = api.request(method, path)
        assert answer.status_code == 404, (method, path, answer.status_code)
        assert answer.headers["content-type"].startswith("application/json")
    assert _snapshot() == before
    listed = api.get("/api/v1/integrations").json()
    assert [i["id"] for i in listed] == [world.acme.integration_id]
    members = api.get("/api/v1/members", params={"per_page": 200}).json()
    assert members["total"] == len(members_of(world.acme.programme_id))
    assert not {m["id"] for m in members["items"]} & {m.id for m in members_of(g.programme_id)}


def test_signed_out_visitors_are_sent_to_sign_in(world: World) -> None:
    a = world.acme
    anonymous = world.client()
    for path in [
        f"/integrations/{a.integration_id}/runs", f"/integrations/{a.integration_id}/runs/{a.run_ids[0]}",
        f"/integrations/{a.integration_id}/runs/{a.run_ids[0]}/errors.csv",
        f"/integrations/{a.integration_id}/runs/{a.run_ids[0]}/progress",
        f"/integrations/{a.integration_id}/import", "/members", "/members/export.csv", "/settings/api-tokens",
    ]:
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path
