"""Every operation the BambooHR simulator serves, checked against BambooHR's published OpenAPI document.

Two layers: a real JSON-Schema validator (openapi-schema-validator's OAS 3.1 dialect) on the response
schema each operation documents, and the request schema on what the tests send; and the promises the
documented descriptions make that a schema cannot say (the directory holds only Active employees and its
keys are its fieldset's; the report holds everyone, active and inactive, with one key per requested field
and unknown fields silently left out; the changed list is keyed by employee ID).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator

from hrsync.simulator.bamboohr import ALL_FIELDS, CUSTOM_FIELDS, BambooSimulator

from .conftest import api, by_id, report

SPEC_PATH = Path(__file__).resolve().parents[2] / "data" / "bamboohr" / "bamboohr-public-api-subset.json"
REPORT_FIELDS = ["employeeNumber", "firstName", "lastName", "preferredName", "workEmail", "status", "hireDate",
                 "terminationDate", "department", "jobTitle", "location", "supervisor", "supervisorEId",
                 "customShirtSize", "4003"]


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def _inline(node: Any) -> Any:
    """The schema with its ``#/components/...`` references replaced by what they point at."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = spec()
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _inline(target)
        return {k: _inline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v) for v in node]
    return node


def response_schema(path: str, method: str = "get") -> dict[str, Any]:
    documented = spec()["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    schema: dict[str, Any] = _inline(documented["schema"])
    return schema


def check(path: str, body: Any, method: str = "get") -> None:
    OAS31Validator(response_schema(path, method)).validate(body)


def test_the_vendored_document_is_bamboohrs() -> None:
    doc = spec()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"][0]["url"] == "https://{companyDomain}.bamboohr.com"
    assert doc["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}


def test_directory_holds_active_employees_with_their_fieldset(bamboo: BambooSimulator) -> None:
    with api(bamboo) as c:
        body = c.get("/employees/directory").json()
        everyone = by_id(report(c, ["status", "hireDate"])["employees"])
    check("/api/v1/employees/directory", body)
    keys = {f["id"] for f in body["fields"]} | {"id"}
    assert all(set(e) == keys for e in body["employees"])
    assert all(e["canUploadPhoto"] in (0, 1) for e in body["employees"])
    listed = {e["id"] for e in body["employees"]}
    active = {i for i, row in everyone.items() if row["status"] == "Active" and row["hireDate"] <= "2026-03-02"}
    assert listed == active
    assert len(everyone) > len(listed)  # inactive people exist and the directory leaves them out


def test_custom_report_has_everyone_and_one_key_per_known_field(bamboo: BambooSimulator) -> None:
    request = {"title": "test", "fields": [*REPORT_FIELDS, "noSuchField"]}
    OAS31Validator(_inline(spec()["components"]["schemas"]["RequestCustomReport"])).validate(request)
    with api(bamboo) as c:
        body = report(c, request["fields"])
    check("/api/v1/reports/custom", body, "post")
    assert [f["id"] for f in body["fields"]] == REPORT_FIELDS
    assert all(set(e) == {"id", *REPORT_FIELDS} for e in body["employees"])
    assert len(body["employees"]) == bamboo.company.total
    assert {e["status"] for e in body["employees"]} == {"Active", "Inactive"}
    assert all(e["terminationDate"] for e in body["employees"] if e["status"] == "Inactive")


def test_meta_fields_lists_standard_and_custom_fields(bamboo: BambooSimulator) -> None:
    with api(bamboo) as c:
        body = c.get("/meta/fields").json()
    check("/api/v1/meta/fields", body)
    assert len({str(f["id"]) for f in body}) == len(body) == len(ALL_FIELDS)
    aliases = [f["alias"] for f in body if "alias" in f]
    assert len(set(aliases)) == len(aliases)
    assert {"employeeNumber", "workEmail", "status", "hireDate", "terminationDate", "supervisor"} <= set(aliases)
    custom = {f.id for f in CUSTOM_FIELDS}
    assert custom <= {f["id"] for f in body}
    assert any("alias" not in f for f in body if f["id"] in custom)  # asked for by its number only


def test_changed_employees_are_keyed_by_id(bamboo: BambooSimulator) -> None:
    with api(bamboo) as c:
        body = c.get("/employees/changed", params={"since": "2026-02-01T00:00:00+0000"}).json()
    check("/api/v1/employees/changed", body)
    assert body["employees"]
    latest = datetime.fromisoformat(body["latest"])
    for key, entry in body["employees"].items():
        assert key == entry["id"]
        assert entry["action"] in ("Inserted", "Updated", "Deleted")
        moment = datetime.fromisoformat(entry["lastChanged"])
        assert datetime.fromisoformat("2026-02-01T00:00:00+00:00") <= moment <= latest


def test_get_employee_returns_the_fields_asked_for(bamboo: BambooSimulator) -> None:
    with api(bamboo) as c:
        body = c.get("/employees/101", params={"fields": "firstName,workEmail,status,terminationDate,bogus"}).json()
        plain = c.get("/employees/101").json()
    check("/api/v1/employees/{id}", body)
    assert set(body) == {"id", "firstName", "workEmail", "status", "terminationDate"}
    assert body["id"] == "101" and body["status"] in ("Active", "Inactive")
    assert set(plain) == {"id", "firstName", "lastName"}  # the documented default: firstName,lastName


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/employees/changed", {}, 400),  # since is required
        ("/employees/changed", {"since": "yesterday"}, 400),
        ("/employees/changed", {"since": "2026-01-01T00:00:00Z", "type": "moved"}, 400),
        ("/employees/99999", {}, 404),
        ("/employees/101", {"fields": ",".join(["firstName"] * 401)}, 400),
    ],
)
def test_documented_refusals(bamboo: BambooSimulator, path: str, params: dict[str, str], status: int) -> None:
    with api(bamboo) as c:
        r = c.get(path, params=params)
    assert r.status_code == status
    assert r.headers["X-BambooHR-Error-Message"]


def test_report_format_comes_from_format_or_an_exact_accept(bamboo: BambooSimulator) -> None:
    body = {"fields": ["firstName"]}
    with api(bamboo, headers={}) as c:
        assert c.post("/reports/custom", params={"format": "json"}, json=body).status_code == 200
        assert c.post("/reports/custom", params={"format": "bogus"}, json=body).status_code == 404
        assert c.post("/reports/custom", json=body, headers={"Accept": "application/json"}).status_code == 200
        assert c.post("/reports/custom", json=body, headers={"Accept": "*/*"}).status_code == 404
        csv = c.post("/reports/custom", params={"format": "CSV"}, json=body)
        too_many = c.post("/reports/custom", params={"format": "json"}, json={"fields": ["firstName"] * 401})
    assert csv.status_code == 200 and csv.text.splitlines()[0] == "id,First Name"
    assert too_many.status_code == 400
