"""Every kind of simulator answer, checked against the public intelliHR OpenAPI spec.

Two layers: a real JSON-Schema validator (openapi-schema-validator's OAS 3.0 dialect, resolving the
spec's own ``$ref``s) on the response schema each operation documents; and a completeness walk,
because the spec's schemas list properties without ``required`` or ``additionalProperties``: every
documented property must be present (except ``links.prev``/``links.next`` at the edges), no
undocumented property may appear, enums written in descriptions ("Enum: `A`, `B`") must hold, and
UUID / RFC 3339 / URL titled strings must parse.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from hrsync.simulator import EMPLOYMENT_STATUSES, Simulator

from .conftest import AUTH, KEY, TENANT, TODAY

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "intellihr" / "intellihr-public-api-v1.json"
SPEC_URI = "urn:intellihr-public-api-v1"
EDGE_LINKS = {"prev", "next"}
_ENUM_RE = re.compile(r"Enum: ((?:`[^`]+`(?:, )?)+)")


@cache
def spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():  # pragma: no cover - vendored in tests/data/intellihr/
        pytest.fail(f"spec not found at {SPEC_PATH}")
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    _null_alternatives(loaded)
    return loaded


def _null_alternatives(node: Any) -> None:
    """``nullable`` beside ``oneOf`` (a custom field's ``value``) means "or null" to the spec's authors, but
    OAS 3.0.3 lets ``nullable`` act only next to ``type``, so validators refuse null there. Say it
    explicitly: null is one more alternative."""
    if isinstance(node, dict):
        if node.get("nullable") is True and "oneOf" in node and "type" not in node:
            node["oneOf"] = [*node["oneOf"], {"enum": [None]}]
        for child in node.values():
            _null_alternatives(child)
    elif isinstance(node, list):
        for child in node:
            _null_alternatives(child)


@cache
def registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT4.create_resource(spec())
    loaded: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return loaded


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema(path: str, status: int, method: str = "get") -> dict[str, Any]:
    """The schema the spec documents for (path, status); errors the operation does not list use the
    shared error responses (400/403/404 are documented globally, not per operation)."""
    responses = spec()["paths"][path][method]["responses"]
    if str(status) in responses:
        response = resolve(responses[str(status)])
    elif f"Error{status}" in spec()["components"]["responses"]:
        response = resolve(spec()["components"]["responses"][f"Error{status}"])
    else:
        return resolve({"$ref": "#/components/schemas/error"})
    return resolve(response["content"]["application/json"]["schema"])


def validate(path: str, response: httpx.Response, method: str = "get") -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    schema = response_schema(path, response.status_code, method)
    ref_schema = {"$ref": f"{SPEC_URI}#{_pointer_of(schema)}"}
    errors = sorted(OAS30Validator(ref_schema, registry=registry()).iter_errors(body), key=lambda e: e.path)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    walk_documented(body, schema, "$")
    check_custom_shapes(body, "$")
    return body


#: The value shape each documented custom field type carries (besides null), per the spec's examples.
_SHAPES: dict[str, Callable[[Any], bool]] = {
    "SINGLE_SELECT": lambda v: isinstance(v, dict) and set(v) == {"id", "label"},
    "MULTI_SELECT": lambda v: isinstance(v, dict) and set(v) == {"ids", "labels"} and len(v["ids"]) == len(v["labels"]),
    "PEOPLE_DROPDOWN": lambda v: isinstance(v, dict) and set(v) == {"options"},
}


def check_custom_shapes(node: Any, where: str) -> None:
    """The schema lets any custom field carry any of the shapes; the shape must match the field's type."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "customFields" and isinstance(value, dict):
                for name, entry in value.items():
                    shape = _SHAPES.get(entry["type"], lambda v: isinstance(v, str))
                    assert entry["value"] is None or shape(entry["value"]), f"{where}.{key}.{name}: {entry}"
            else:
                check_custom_shapes(value, f"{where}.{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            check_custom_shapes(item, f"{where}[{n}]")


@cache
def _pointers() -> dict[int, str]:
    out: dict[int, str] = {}
    for name, schema in spec()["components"]["schemas"].items():
        out[id(schema)] = f"/components/schemas/{name}"
    return out


def _pointer_of(schema: dict[str, Any]) -> str:
    return _pointers()[id(schema)]


def walk_documented(instance: Any, schema: dict[str, Any], where: str) -> None:
    schema = resolve(schema)
    if isinstance(instance, dict) and "properties" in schema:
        documented = set(schema["properties"])
        undocumented = set(instance) - documented
        assert not undocumented, f"{where}: undocumented fields {sorted(undocumented)}"
        missing = documented - set(instance) - EDGE_LINKS
        assert not missing, f"{where}: documented fields missing {sorted(missing)}"
        for key, value in instance.items():
            walk_documented(value, schema["properties"][key], f"{where}.{key}")
    elif isinstance(instance, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, value in instance.items():
            walk_documented(value, schema["additionalProperties"], f"{where}.{key}")
    elif isinstance(instance, list) and "items" in schema:
        for n, item in enumerate(instance):
            walk_documented(item, schema["items"], f"{where}[{n}]")
    elif isinstance(instance, str):
        found = _ENUM_RE.search(schema.get("description", ""))
        if found:
            allowed = re.findall(r"`([^`]+)`", found.group(1))
            assert instance in allowed, f"{where}: {instance!r} not in {allowed}"
        title = schema.get("title")
        try:
            if title == "UUIDv4":
                assert str(uuid.UUID(instance)) == instance and uuid.UUID(instance).version == 4, where
            elif title == "RFC3339 datetime":
                assert datetime.fromisoformat(instance).tzinfo is not None, f"{where}: {instance!r}"
            elif title == "URL":
                assert instance.startswith("http"), where
        except ValueError as exc:
            raise AssertionError(f"{where}: {instance!r} is not a valid {title}") from exc


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(people=300, seed=3, tenant=TENANT, api_key=KEY, today=TODAY) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers=AUTH, timeout=10) as c:
        yield c
    sim.faults.clear()


def test_the_validator_rejects_a_wrong_answer() -> None:
    """Guard: the machinery above must be able to fail."""
    wrong = httpx.Response(200, json={"data": [{"id": "x", "lastName": 5}], "meta": {}, "links": {}})
    with pytest.raises(AssertionError):
        validate("/people", wrong)
    extra = httpx.Response(200, json={"data": {"id": "8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9"}, "meta": {}})
    with pytest.raises(AssertionError, match="missing"):
        validate("/people/{id}", extra)


def test_the_validator_rejects_bad_enums_and_extra_fields(client: httpx.Client) -> None:
    good = client.get("/people", params={"limit": 1}).json()
    validate("/people", httpx.Response(200, json=good))
    mutations: tuple[Callable[[dict[str, Any]], object], ...] = (
        lambda p: p.update(gender="Robot"),
        lambda p: p.update(employmentStatus="Active"),
        lambda p: p.update(createdAt="yesterday"),
        lambda p: p.update(surname="x"),
        lambda p: p["jobs"][0].update(jobStatus="Done") if p["jobs"] else p.update(gender="?"),
        lambda p: p["customFields"]["costCentre"].update(name=None),
        lambda p: p["customFields"]["badgeNumber"].update(value=50),  # NUMBER travels as "50"
        lambda p: p["customFields"]["languagesSpoken"].update(value=["English"]),  # the old invented shape
        lambda p: p["customFields"]["mentor"].update(value={"id": p["id"], "displayName": "x"}),  # ditto
        lambda p: p["customFields"]["tshirtSize"].update(value={"ids": [], "labels": []}),  # another type's shape
        lambda p: p["customFields"]["costCentre"].update(value={"id": "a", "label": "b"}),
    )
    for mutate in mutations:
        bad = json.loads(json.dumps(good))
        mutate(bad["data"][0])
        with pytest.raises(AssertionError):
            validate("/people", httpx.Response(200, json=bad))


def test_people_list_pages(client: httpx.Client) -> None:
    statuses: set[str] = set()
    for page in (1, 2, 3):
        body = validate("/people", client.get("/people", params={"limit": 100, "page": page}))
        statuses |= {p["employmentStatus"] for p in body["data"]}
    assert statuses == set(EMPLOYMENT_STATUSES)
    validate("/people", client.get("/people", params={"limit": 7, "page": 2, "sort": "-createdAt"}))
    validate("/people", client.get("/people", params={"filters[name][eq]": "nobody at all"}))


def test_single_people_of_every_status_and_bad_kind(client: httpx.Client, sim: Simulator) -> None:
    ids = {pid for kind_ids in sim.directory.bad_records.values() for pid in kind_ids}
    first_of_status: dict[str, str] = {}
    for p in sim.directory.people():
        first_of_status.setdefault(p["employmentStatus"], p["id"])
    ids |= set(first_of_status.values())
    ids |= set(sim.directory.ids()[::25])
    assert len(first_of_status) == len(EMPLOYMENT_STATUSES)
    for pid in sorted(ids):
        validate("/people/{id}", client.get(f"/people/{pid}"))


def test_changed_and_hired_people(client: httpx.Client, new_sim_local: Simulator) -> None:
    d = new_sim_local.directory
    ids = d.ids()
    d.change(ids[3], primaryEmailAddress=None, primaryPhoneNumber=None, customFields={"mentor": None})
    d.terminate(ids[4])
    d.rehire(ids[4])
    hired = d.hire(first_name="Ana", last_name="Lopez", email="ana@x.example", status="Returning Staff")
    with httpx.Client(base_url=new_sim_local.base_url, headers=AUTH) as c:
        for pid in (ids[3], ids[4], hired["id"]):
            validate("/people/{id}", c.get(f"/people/{pid}"))
        validate("/people", c.get("/people", params={"limit": 100}))
        validate("/jobs", c.get("/jobs", params={"filters[personId][eq]": ids[4]}))


@pytest.fixture
def new_sim_local() -> Iterator[Simulator]:
    with Simulator(people=60, seed=9, tenant=TENANT, api_key=KEY, today=TODAY) as simulator:
        yield simulator


def test_jobs_list_and_single_jobs(client: httpx.Client) -> None:
    statuses: set[str] = set()
    page, sample = 1, []
    while True:
        body = validate("/jobs", client.get("/jobs", params={"limit": 100, "page": page}))
        statuses |= {j["jobStatus"] for j in body["data"]}
        sample.extend(body["data"][::20])
        if page >= body["meta"]["pagination"]["total_pages"]:
            break
        page += 1
    assert statuses == {"Past Job", "Future Job", "Ending Job", "Current Job"}
    for job in sample:
        validate("/jobs/{id}", client.get(f"/jobs/{job['id']}"))
    validate("/jobs", client.get("/jobs", params={"filters[isPrimaryJob][eq]": "true", "limit": 3}))


def test_reference_lists_and_singles(client: httpx.Client) -> None:
    units = validate("/business-units", client.get("/business-units", params={"limit": 100}))
    validate("/business-units/{id}", client.get(f"/business-units/{units['data'][0]['id']}"))
    locations = validate("/locations", client.get("/locations", params={"limit": 3, "page": 2}))
    validate("/locations/{id}", client.get(f"/locations/{locations['data'][0]['id']}"))
    validate("/position-titles", client.get("/position-titles", params={"limit": 100}))


def test_error_answers(client: httpx.Client, sim: Simulator) -> None:
    assert validate("/people", client.get("/people", params={"limit": 0}))["code"] == 400
    assert validate("/people/{id}", client.get("/people/not-a-uuid"))["code"] == 400
    unknown = client.get("/people/8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9")
    assert validate("/people/{id}", unknown)["code"] == 404
    assert validate("/jobs/{id}", client.get("/jobs/8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9"))["code"] == 404
    assert validate("/people", httpx.get(f"{sim.base_url}/people"))["code"] == 401
    forbidden = httpx.get(f"{sim.base_url}/people", headers={"Authorization": "Bearer nope", "Tenant": "demo"})
    assert validate("/people", forbidden)["code"] == 403
    unknown_tenant = httpx.get(f"{sim.base_url}/people", headers={**AUTH, "Tenant": "other"})
    assert validate("/people", unknown_tenant)["code"] == 403
    assert validate("/people", client.put("/people"))["code"] == 405
    for status in (500, 502, 503):
        sim.faults.add("server_error", status=status, path="/v1/jobs")
        assert validate("/jobs", client.get("/jobs"))["code"] == status
    sim.faults.add("rate_limit", path="/v1/people")
    assert validate("/people", client.get("/people"))["code"] == 429


def test_custom_field_definitions_list_filters_pages_and_singles(client: httpx.Client, sim: Simulator) -> None:
    everything = validate("/custom-field-definitions", client.get("/custom-field-definitions", params={"limit": 100}))
    defs = everything["data"]
    assert {(d["modelType"], d["isEnabled"]) for d in defs} == {
        ("PERSON", True),
        ("PERSON", False),
        ("JOB", True),
        ("JOB", False),
    }
    assert {d["type"] for d in defs} == {"TEXT", "NUMBER", "SINGLE_SELECT", "MULTI_SELECT", "PEOPLE_DROPDOWN"}
    paged: list[dict[str, Any]] = []
    for page in (1, 2, 3, 4, 5):
        body = validate(
            "/custom-field-definitions", client.get("/custom-field-definitions", params={"limit": 2, "page": page})
        )
        paged.extend(body["data"])
    assert paged == defs  # five pages of two cover all nine definitions once, in order
    for model in ("PERSON", "JOB"):
        for enabled in ("true", "false"):
            params = {"filters[modelType][eq]": model, "filters[isEnabled][eq]": enabled, "limit": 100}
            body = validate("/custom-field-definitions", client.get("/custom-field-definitions", params=params))
            expected = [d for d in defs if d["modelType"] == model and str(d["isEnabled"]).lower() == enabled]
            assert body["data"] == expected and expected
    person = client.get("/people", params={"limit": 1}).json()["data"][0]
    enabled_person = {d["apiName"] for d in defs if d["modelType"] == "PERSON" and d["isEnabled"]}
    assert set(person["customFields"]) == enabled_person  # records carry the enabled fields
    job = client.get("/jobs", params={"limit": 1}).json()["data"][0]
    assert set(job["customFields"]) == {d["apiName"] for d in defs if d["modelType"] == "JOB" and d["isEnabled"]}
    for d in defs:
        single = validate("/custom-field-definitions/{id}", client.get(f"/custom-field-definitions/{d['id']}"))
        assert single["data"] == d
    missing = client.get("/custom-field-definitions/8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9")
    assert validate("/custom-field-definitions/{id}", missing)["code"] == 404
    for bad in ({"filters[modelType][eq]": "ROBOT"}, {"filters[isEnabled][eq]": "maybe"}, {"filters[type][eq]": "x"}):
        assert validate("/custom-field-definitions", client.get("/custom-field-definitions", params=bad))["code"] == 400
    assert (
        validate("/custom-field-definitions", httpx.get(f"{sim.base_url}/custom-field-definitions"))["code"] == 401
    )


def test_jobs_carry_custom_fields_of_their_own(client: httpx.Client) -> None:
    jobs = validate("/jobs", client.get("/jobs", params={"limit": 100}))["data"]
    shifts = [j["customFields"]["shiftPattern"]["value"] for j in jobs]
    codes = [j["customFields"]["jobCostCode"]["value"] for j in jobs]
    assert {s["label"] for s in shifts if s} == {"Day", "Night", "Rotating"}
    assert None in codes and any(isinstance(c, str) for c in codes)


def test_a_tenant_without_employee_numbers() -> None:
    with Simulator(people=60, seed=5, tenant=TENANT, api_key=KEY, today=TODAY, employee_numbers=False) as s:
        with httpx.Client(base_url=s.base_url, headers=AUTH) as c:
            people = validate("/people", c.get("/people", params={"limit": 100}))["data"]
            jobs = validate("/jobs", c.get("/jobs", params={"limit": 100}))["data"]
    assert len(people) == 60 and all(p["employeeNumber"] is None for p in people)
    assert len({p["autoIncrementIntellihrId"] for p in people}) == 60
    assert all(j["person"]["employeeNumber"] is None for j in jobs)
    mentors = [p["customFields"]["mentor"]["value"] for p in people if p["customFields"]["mentor"]["value"]]
    assert mentors and all(m["options"]["person"]["employeeNumber"] is None for m in mentors)


def test_a_future_custom_field_type_is_the_only_departure_from_the_spec() -> None:
    """``future_types=True`` serves a RATING field with an object value: the spec refuses exactly that."""
    with Simulator(people=20, seed=5, tenant=TENANT, api_key=KEY, today=TODAY, future_types=True) as s:
        with httpx.Client(base_url=s.base_url, headers=AUTH) as c:
            body = c.get("/people", params={"limit": 100}).json()
    ratings = [p["customFields"]["wellbeingRating"] for p in body["data"]]
    assert {r["type"] for r in ratings} == {"RATING"} and any(isinstance(r["value"], dict) for r in ratings)
    with pytest.raises(AssertionError, match="wellbeingRating"):
        validate("/people", httpx.Response(200, json=body))
    for p in body["data"]:
        del p["customFields"]["wellbeingRating"]
    validate("/people", httpx.Response(200, json=body))
