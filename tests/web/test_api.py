"""The JSON API under /api/v1: bearer tokens, integrations, runs (start, progress, decisions,
files) and members, over real HTTP against the live portal and its embedded import worker."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from tests.web.conftest_b import World, leave, wait_for_decision, wait_for_run, world

from hrsync.store import session_factory
from hrsync.store.models import ApiToken, ImportIssue, ImportRun

__all__ = ["world"]


def test_every_route_needs_a_valid_bearer_token(world: World) -> None:
    run_id = world.acme.run_ids[0]
    routes = [
        ("GET", "/api/v1/integrations"),
        ("GET", f"/api/v1/integrations/{world.acme.integration_id}"),
        ("GET", f"/api/v1/integrations/{world.acme.integration_id}/runs"),
        ("POST", f"/api/v1/integrations/{world.acme.integration_id}/runs"),
        ("GET", f"/api/v1/runs/{run_id}"),
        ("POST", f"/api/v1/runs/{run_id}/approve"),
        ("POST", f"/api/v1/runs/{run_id}/reject"),
        ("GET", f"/api/v1/runs/{run_id}/errors.csv"),
        ("GET", f"/api/v1/runs/{run_id}/warnings.csv"),
        ("GET", "/api/v1/members"),
    ]
    anonymous = world.api(None)
    for headers in ({}, {"Authorization": "Bearer hrs_not-a-real-token"}, {"Authorization": world.acme.token},
                    {"Authorization": f"Basic {world.acme.token}"}):
        for method, path in routes:
            answer = anonymous.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.status_code)
            assert answer.headers["www-authenticate"].startswith("Bearer")
    with session_factory()() as session:
        assert session.scalar(select(ImportRun).where(ImportRun.trigger == "api")) is None


def test_a_revoked_token_is_refused(world: World) -> None:
    from hrsync.services.api_tokens import create_api_token, revoke_api_token
    from hrsync.store import session_scope
    from hrsync.store.models import AdminUser

    with session_scope() as session:
        owner = session.get(AdminUser, world.acme.admin_id)
        assert owner is not None
        raw, token = create_api_token(session, world.acme.programme_id, "short-lived", created_by=owner)
        token_id = token.id
    client = world.client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/v1/integrations").status_code == 200
    with session_scope() as session:
        revoke_api_token(session, world.acme.programme_id, token_id)
    assert client.get("/api/v1/integrations").status_code == 401


def test_integrations_are_listed_for_the_tokens_programme_only(world: World) -> None:
    answer = world.api(world.acme).get("/api/v1/integrations")
    assert answer.status_code == 200
    body = answer.json()
    assert [i["id"] for i in body] == [world.acme.integration_id]
    assert body[0]["status"] == "live" and body[0]["api_key_last4"] == "-key"
    assert "api_key" not in body[0] and "secret_encrypted" not in body[0] and "api_key_encrypted" not in body[0]
    assert body[0]["last_run"]["id"] == world.acme.run_ids[-1]
    one = world.api(world.acme).get(f"/api/v1/integrations/{world.acme.integration_id}")
    assert one.status_code == 200 and one.json()["id"] == world.acme.integration_id


def test_last_used_is_stamped_when_a_token_is_used(world: World) -> None:
    world.api(world.globex).get("/api/v1/integrations")
    with session_factory()() as session:
        token = session.get(ApiToken, world.globex.token_id)
        assert token is not None and token.last_used_at is not None


def test_runs_are_listed_newest_first_with_paging(world: World) -> None:
    client = world.api(world.globex)
    page = client.get(f"/api/v1/integrations/{world.globex.integration_id}/runs", params={"per_page": 1})
    assert page.status_code == 200
    body = page.json()
    assert body["total"] == len(world.globex.run_ids) and body["pages"] == body["total"]
    assert [r["id"] for r in body["items"]] == [max(world.globex.run_ids)]
    second = client.get(f"/api/v1/integrations/{world.globex.integration_id}/runs",
                        params={"per_page": 1, "page": 2}).json()
    assert [r["id"] for r in second["items"]] == [sorted(world.globex.run_ids)[-2]]
    assert client.get(f"/api/v1/integrations/{world.globex.integration_id}/runs",
                      params={"per_page": 0}).status_code == 422


def test_run_shows_status_progress_and_counts(world: World) -> None:
    run_id = world.acme.run_ids[0]
    body = world.api(world.acme).get(f"/api/v1/runs/{run_id}").json()
    with session_factory()() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
    assert body["status"] == run.status == "succeeded_with_errors"
    assert body["progress"] == {"phase": "done", "label": "Finished with errors", "processed": run.processed,
                                "total": run.total, "percent": 100, "finished": True, "held": False}
    assert body["counts"]["created"] == run.created and body["counts"]["errors"] == run.errors > 0
    assert body["links"]["errors_csv"] == f"/api/v1/runs/{run_id}/errors.csv"


def test_issue_files_are_strict_csv_matching_the_stored_issues(world: World) -> None:
    run_id = world.acme.run_ids[0]
    client = world.api(world.acme)
    for name, severity in (("errors", "error"), ("warnings", "warning")):
        answer = client.get(f"/api/v1/runs/{run_id}/{name}.csv")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.headers["content-disposition"].startswith("attachment;")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline=""), strict=True))
        with session_factory()() as session:
            stored = session.scalars(select(ImportIssue.message).where(
                ImportIssue.run_id == run_id, ImportIssue.severity == severity).order_by(ImportIssue.id)).all()
        assert rows[0] == ["Employee ID", "Name", "intelliHR ID", "Field", "Problem", "Message", "Problem code"]
        assert [r[5] for r in rows[1:]] == list(stored)
        assert all(line.endswith("\r\n") for line in answer.text.splitlines(keepends=True))


def test_start_a_dry_run_then_follow_it_and_a_second_start_conflicts(world: World) -> None:
    client = world.api(world.acme)
    path = f"/api/v1/integrations/{world.acme.integration_id}/runs"
    started = client.post(path, json={"dry_run": True})
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["dry_run"] is True and run["trigger"] == "api" and run["status"] in ("queued", "running")
    blocked = client.post(path, json={"dry_run": False})
    if blocked.status_code == 409:  # the first one was still active
        assert blocked.json() == {"detail": blocked.json()["detail"], "code": "blocked", "run_id": run["id"]}
    else:  # it finished in between: this second one is a real run; let it finish too
        assert blocked.status_code == 202
        wait_for_run(blocked.json()["id"])
    finished = wait_for_run(run["id"])
    assert finished.status in ("succeeded", "succeeded_with_errors")
    body = client.get(f"/api/v1/runs/{run['id']}").json()
    assert body["progress"]["percent"] == 100 and body["progress"]["finished"] is True
    assert client.post(path, json={"dry_run": "maybe"}).status_code == 422
    assert client.post(path, json={"unknown": 1}).status_code == 422


def test_a_held_run_is_approved_through_the_api(world: World) -> None:
    leave(world.sim, 80, 6)
    client = world.api(world.globex)
    path = f"/api/v1/integrations/{world.globex.integration_id}/runs"
    # The fixture left a held run: starting another is refused with its id.
    refused = client.post(path)
    assert refused.status_code == 409
    assert refused.json()["run_id"] == world.held_run_id and refused.json()["code"] == "blocked"
    queued = client.post(f"/api/v1/runs/{world.held_run_id}/approve")
    assert queued.status_code == 202, queued.text
    assert queued.json()["pending_decision"] == "approve"
    wait_for_decision(world.held_run_id)  # a worker applies the decision
    approved = client.get(f"/api/v1/runs/{world.held_run_id}")
    assert approved.json()["status"] in ("succeeded", "succeeded_with_errors")
    assert approved.json()["counts"]["leavers"] >= 6
    again = client.post(f"/api/v1/runs/{world.held_run_id}/reject")
    assert again.status_code == 409 and again.json()["code"] == "state"


def test_members_are_searched_filtered_and_paged(world: World) -> None:
    client = world.api(world.acme)
    everyone = client.get("/api/v1/members", params={"per_page": 200}).json()
    assert everyone["total"] > 50
    assert len(everyone["items"]) == min(200, everyone["total"])
    invited = client.get("/api/v1/members", params={"status": "invited", "per_page": 200}).json()
    assert invited["total"] > 0 and {m["status"] for m in invited["items"]} == {"invited"}
    someone = invited["items"][3]
    found = client.get("/api/v1/members", params={"q": someone["employee_id"]}).json()
    assert [m["id"] for m in found["items"]] == [someone["id"]]
    by_mail = client.get("/api/v1/members", params={"q": someone["email"].upper()}).json()
    assert someone["id"] in [m["id"] for m in by_mail["items"]]
    page2 = client.get("/api/v1/members", params={"per_page": 10, "page": 2}).json()
    page1 = client.get("/api/v1/members", params={"per_page": 10, "page": 1}).json()
    assert not {m["id"] for m in page1["items"]} & {m["id"] for m in page2["items"]}
    assert client.get("/api/v1/members", params={"status": "bogus"}).status_code == 422
    one = client.get(f"/api/v1/members/{someone['id']}")
    assert one.status_code == 200 and one.json()["email"] == someone["email"]


def test_openapi_describes_every_api_route_with_bearer_auth(world: World) -> None:
    doc = world.client().get("/api/v1/openapi.json")
    assert doc.status_code == 200
    spec = doc.json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/integrations", "get"), ("/api/v1/integrations/{integration_id}", "get"),
        ("/api/v1/integrations/{integration_id}/runs", "get"), ("/api/v1/integrations/{integration_id}/runs", "post"),
        ("/api/v1/runs/{run_id}", "get"), ("/api/v1/runs/{run_id}/approve", "post"),
        ("/api/v1/runs/{run_id}/reject", "post"), ("/api/v1/runs/{run_id}/errors.csv", "get"),
        ("/api/v1/runs/{run_id}/warnings.csv", "get"), ("/api/v1/members", "get"),
    ]:
        assert method in paths[path], (path, method)
        assert paths[path][method]["security"] == [{"HTTPBearer": []}], (path, method)
    assert "RunOut" in spec["components"]["schemas"]
    assert spec["paths"]["/api/v1/runs/{run_id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/RunOut"}
    assert not [p for p in paths if not p.startswith("/api/")], "portal pages leaked into the API document"
