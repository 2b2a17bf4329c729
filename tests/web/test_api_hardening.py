"""What the API fuzzer of issue 22 broke, one finding at a time, over real HTTP against the live portal:
ids and pages past 2^63-1 (API and the portal pages sharing its queries), lenient booleans, the body
read before the token, lost 404 messages, undocumented answers; and the guard that makes a new API
operation get the same treatment (``hrsync.web.api_auth.ApiRoute``)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from tests.web.conftest_b import CSRF_META, World, world

from hrsync.services.api_tokens import create_api_token
from hrsync.store import session_factory, session_scope
from hrsync.store.models import AdminUser, ImportRun
from hrsync.web.api_auth import ApiRoute, MissingResponseModel, MissingScope, ReadToken

__all__ = ["world"]

TOO_BIG = [2**63, 2**64 + 7, 10**40]  # 2^63-1 is the largest id a row can have
PATH_PARAM = re.compile(r"\{(\w+)\}")


def _runs_started() -> int:
    with session_factory()() as session:
        return int(session.scalar(select(func.count()).select_from(ImportRun).where(ImportRun.trigger == "api")) or 0)


def _read_token(world: World) -> str:
    with session_scope() as session:
        owner = session.get(AdminUser, world.acme.admin_id)
        raw, _ = create_api_token(session, world.acme.programme_id, "hardening, read", created_by=owner,
                                  scopes=("read",))
    return raw


def test_api_ids_and_pages_past_the_largest_id_are_422_never_500(world: World) -> None:
    client = world.api(world.acme)
    integration, run = world.acme.integration_id, world.acme.run_ids[0]
    for big in TOO_BIG:
        for method, path in [
            ("GET", f"/api/v1/integrations/{big}"), ("GET", f"/api/v1/integrations/{big}/runs"),
            ("POST", f"/api/v1/integrations/{big}/runs"), ("GET", f"/api/v1/integrations/{big}/trace?employee_id=1"),
            ("POST", f"/api/v1/integrations/{big}/trace/apply?employee_id=1"), ("GET", f"/api/v1/runs/{big}"),
            ("POST", f"/api/v1/runs/{big}/approve"), ("POST", f"/api/v1/runs/{big}/reject"),
            ("GET", f"/api/v1/runs/{big}/errors.csv"), ("GET", f"/api/v1/runs/{big}/warnings.csv"),
            ("GET", f"/api/v1/members/{big}"), ("GET", f"/api/v1/members?page={big}"),
            ("GET", f"/api/v1/integrations/{integration}/runs?page={big}"),
        ]:
            answer = client.request(method, path)
            assert answer.status_code == 422, (method, path, answer.status_code, answer.text[:300])
    # The last id and page the OpenAPI allows are answered (not found, an empty page), not refused.
    assert client.get(f"/api/v1/runs/{2**63 - 1}").json() == {"detail": f"Run {2**63 - 1} was not found."}
    page = client.get(f"/api/v1/integrations/{integration}/runs", params={"page": 1_000_000})
    assert page.status_code == 200 and page.json()["items"] == [] and page.json()["page"] == 1_000_000
    assert client.get(f"/api/v1/integrations/{integration}/runs", params={"page": 1_000_001}).status_code == 422
    assert client.get(f"/api/v1/runs/{run}").status_code == 200


def test_the_openapi_bounds_every_id_and_page(world: World) -> None:
    document = world.client().get("/api/v1/openapi.json").json()
    seen = 0
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if (parameter["name"].endswith("_id") and parameter["in"] == "path") or parameter["name"] == "page":
                    schema = parameter["schema"]
                    assert schema["type"] == "integer" and schema["minimum"] == 1, (path, parameter)
                    assert schema["maximum"] in (2**63 - 1, 1_000_000), (path, parameter)
                    seen += 1
    assert seen >= 13


def test_api_404s_name_what_was_not_found(world: World) -> None:
    client = world.api(world.acme)
    other_programmes_run = world.globex.run_ids[0]
    assert client.get("/api/v1/integrations/999").json() == {"detail": "Integration 999 was not found."}
    assert client.get("/api/v1/integrations/999/runs").json() == {"detail": "Integration 999 was not found."}
    assert client.post("/api/v1/integrations/999/runs").json() == {"detail": "Integration 999 was not found."}
    assert client.get(f"/api/v1/runs/{other_programmes_run}").json() == {
        "detail": f"Run {other_programmes_run} was not found."}
    assert client.post("/api/v1/runs/999/approve").json() == {"detail": "Run 999 was not found."}
    assert client.get("/api/v1/runs/999/errors.csv").json() == {"detail": "Run 999 was not found."}
    answer = client.get("/api/v1/members/999")
    assert answer.status_code == 404 and answer.json() == {"detail": "Member 999 was not found."}
    assert client.get("/api/v1/no-such-thing").json() == {"detail": "This page was not found."}


def test_dry_run_is_a_json_boolean_only(world: World) -> None:
    client = world.api(world.acme)
    path = f"/api/v1/integrations/{world.acme.integration_id}/runs"
    before = _runs_started()
    for lenient in (0, 1, "yes", "true", "false", "0", 1.0, None, [], {}):
        answer = client.post(path, json={"dry_run": lenient})
        assert answer.status_code == 422, (lenient, answer.status_code, answer.text[:300])
    assert client.post(path, json={"dry_run": True, "extra": 1}).status_code == 422
    assert _runs_started() == before  # nothing was started by a value that is not true or false


def test_the_token_and_its_scope_are_checked_before_the_body_or_parameters(world: World) -> None:
    path = f"/api/v1/integrations/{world.acme.integration_id}/runs"
    garbage = {"content": b'{"dry_run": tru', "headers": {"Content-Type": "application/json"}}
    not_utf8 = {"content": b'\xff\xfe{"dry_run": true}', "headers": {"Content-Type": "application/json"}}
    anonymous, reader, owner = world.api(None), world.client(
        headers={"Authorization": f"Bearer {_read_token(world)}"}), world.api(world.acme)
    for request in (garbage, not_utf8):
        answer = anonymous.post(path, **request)
        assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer"), answer.text
        assert reader.post(path, **request).status_code == 403  # the read scope cannot start an import
    assert anonymous.get(f"/api/v1/runs/{2**64}").status_code == 401
    assert anonymous.get("/api/v1/members", params={"page": "x"}).status_code == 401
    # With the right token, the body is read and refused as documented.
    assert owner.post(path, **garbage).status_code == 422
    bad = owner.post(path, **not_utf8)
    assert bad.status_code == 400 and bad.json() == {"detail": "There was an error parsing the body"}


def test_every_answer_is_documented_with_a_schema(world: World) -> None:
    document = world.client().get("/api/v1/openapi.json").json()
    operations = [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 13
    for path, method, operation in operations:
        responses = operation["responses"]
        assert {"401", "403", "413"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses and "422" in responses, (method, path)
        if "requestBody" in operation:
            assert "400" in responses, (method, path)
        for code, response in responses.items():
            content = response.get("content")
            assert content, (method, path, code)
            assert all(media.get("schema") for media in content.values()), (method, path, code)
    trace = document["paths"]["/api/v1/integrations/{integration_id}/trace"]["get"]["responses"]["200"]
    assert trace["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TraceOut"}
    body = document["components"]["schemas"]["StartRunIn"]
    assert body["additionalProperties"] is False and body["properties"]["dry_run"]["type"] == "boolean"


def test_an_address_answers_405_with_every_method_it_offers(world: World) -> None:
    answer = world.api(world.acme).request("OPTIONS", f"/api/v1/integrations/{world.acme.integration_id}/runs")
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "POST"}


def _portal_paths(world: World) -> list[tuple[str, str]]:
    """Every portal route with an id in its path (method, path template)."""
    found = []
    routes = [route for name in world.portal.app.state.routers
              for route in importlib.import_module(f"hrsync.web.{name}").router.routes]
    for route in routes:
        if not isinstance(route, APIRoute) or route.path.startswith("/api/"):
            continue
        names = PATH_PARAM.findall(route.path)
        if names and all(name.endswith("_id") for name in names):
            found += [(method, route.path) for method in sorted(route.methods) if method in ("GET", "POST")]
    return found


def test_portal_pages_answer_404_for_ids_past_the_largest_and_clamp_huge_pages(world: World) -> None:
    client = world.admin_client(world.acme)
    csrf = CSRF_META.search(client.get("/integrations").text)
    assert csrf is not None
    routes = _portal_paths(world)
    assert len(routes) > 30, routes  # dashboards, wizard steps, runs, undo, members, administrators, tokens...
    for big in TOO_BIG:
        for method, template in routes:
            path = PATH_PARAM.sub(str(big), template)
            answer = client.request(method, path, headers={"X-CSRF-Token": csrf.group(1)})
            # a form route may refuse its missing fields (422) before it looks the id up; never a 500
            expected = (404,) if method == "GET" else (404, 422)
            assert answer.status_code in expected, (method, path, answer.status_code, answer.text[:300])
    integration, run = world.acme.integration_id, world.acme.run_ids[0]
    for big in TOO_BIG:
        assert client.get(f"/integrations/{integration}/import", params={"run": big}).status_code == 404
        for path, params in [
            (f"/integrations/{integration}/runs", {"page": big}), ("/members", {"page": big}),
            ("/emails", {"page": big}),
            (f"/integrations/{integration}/runs/{run}", {"page": big, "errors_page": big, "warnings_page": big}),
        ]:
            answer = client.get(path, params=params)
            assert answer.status_code in (200, 404), (path, params, answer.status_code)
            assert answer.status_code == 200 or path == "/emails", (path, answer.status_code)


def test_an_api_operation_without_a_scope_or_a_response_schema_is_refused_when_declared() -> None:
    router = APIRouter(route_class=ApiRoute)

    def unguarded() -> dict[str, Any]:
        return {}

    with pytest.raises(MissingScope):
        router.add_api_route("/unguarded", unguarded, response_model=dict)

    def untyped(token: ReadToken) -> Any:
        return {}

    with pytest.raises(MissingResponseModel):
        router.add_api_route("/untyped", untyped, response_model=None)
    router.add_api_route("/fine", untyped, response_model=dict)  # scope and schema: accepted
