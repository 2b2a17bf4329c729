"""people() and fields(): every person once, normalised; what can be mapped."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from hrsync.sources.base import DEFAULT_STATUS_MAP, FieldGroup, Lifecycle, SourceError
from hrsync.sources.intellihr import IntelliHRSource

from .conftest import KEY, TENANT
from .helpers import raw_list

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture(scope="module")
def raw(sim: Any) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in raw_list(sim.base_url)}


@pytest.fixture(scope="module")
def read(sim: Any) -> dict[str, Any]:
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        people = list(source.people())
    assert len(people) == len({p.source_id for p in people})
    return {p.source_id: p for p in people}


def test_everyone_is_read_once(read: dict[str, Any], raw: dict[str, dict[str, Any]]) -> None:
    assert set(read) == set(raw)
    assert len(raw) == 200


def test_standard_values_are_normalised(read: dict[str, Any], raw: dict[str, dict[str, Any]]) -> None:
    for pid, person in read.items():
        r = raw[pid]
        v = person.values
        for key in ("firstName", "lastName", "displayName", "gender", "employmentStatus"):
            expected = r[key] if isinstance(r[key], str) and r[key].strip() else None
            assert v[key] == expected, (key, r[key])
        email = r["primaryEmailAddress"]
        assert v["primaryEmailAddress"] == (email["email"] if email and email["email"].strip() else None)
        phone = r["primaryPhoneNumber"]
        assert v["primaryPhoneNumber"] == (phone["fullNumber"] if phone else None)
        assert v["autoIncrementIntellihrId"] == str(r["autoIncrementIntellihrId"])
        assert v["isSupervisor"] == ("true" if r["isSupervisor"] else "false")
        assert v["dateOfBirth"] is None or DATE.fullmatch(v["dateOfBirth"])
        primary = [a for a in r["addresses"] if a.get("isPrimary")] or r["addresses"]
        assert v["address.postcode"] == (primary[0]["postcode"] or None if primary else None)
        assert person.employment_status == r["employmentStatus"]
        assert person.updated_at == r["updatedAt"]
        for value in v.values():
            assert value is None or (isinstance(value, str) and value.strip())


def test_blank_email_is_none_not_empty(read: dict[str, Any], raw: dict[str, dict[str, Any]]) -> None:
    missing = [pid for pid, r in raw.items() if not r["primaryEmailAddress"]]
    assert missing, "the simulator promises a person without an e-mail"
    assert all(read[pid].values["primaryEmailAddress"] is None for pid in missing)


def test_primary_job_gives_dates_and_summary(read: dict[str, Any], raw: dict[str, dict[str, Any]]) -> None:
    with_end = 0
    for pid, person in read.items():
        jobs = raw[pid]["jobs"]
        primaries = [j for j in jobs if j["isPrimaryJob"]]
        if not jobs:
            assert person.job_start_date is None and person.values["job.name"] is None
            continue
        ranked = sorted(
            primaries or jobs,
            key=lambda j: {"Current Job": 0, "Ending Job": 0, "Future Job": 1}.get(j["jobStatus"], 2),
        )
        job = ranked[0]
        assert person.values["job.name"] == job["name"]
        assert person.values["job.jobStatus"] == job["jobStatus"]
        assert person.values["job.startDate"] == (job["startDate"][:10] if job["startDate"] else None)
        start = date.fromisoformat(job["startDate"][:10]) if job["startDate"] else None
        assert person.job_start_date == start
        if job["endDate"]:
            with_end += 1
            # exclusive as intelliHR stores it: passed through, not shifted
            assert person.job_end_date == date.fromisoformat(job["endDate"][:10])
            assert person.values["job.endDate"] == job["endDate"][:10]
        assert person.extras["primaryJobId"] == job["id"]
        assert "job.positionTitle" not in person.values  # not asked for
    assert with_end > 0


def test_default_status_map(read: dict[str, Any]) -> None:
    seen = {p.employment_status for p in read.values()}
    assert seen == set(DEFAULT_STATUS_MAP), "every status occurs in a 200-person directory"
    for person in read.values():
        assert person.lifecycle is DEFAULT_STATUS_MAP[person.employment_status]


def test_status_map_override_changes_lifecycle(sim: Any) -> None:
    overrides = {"Exiting Staff": Lifecycle.INACTIVE, "Returning Staff": Lifecycle.ACTIVE}
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url, status_map=overrides) as source:
        people = list(source.people())
        assert source.status_map["Current Staff"] is Lifecycle.ACTIVE  # the rest stays default
    by_status = {p.employment_status: p.lifecycle for p in people}
    assert by_status["Exiting Staff"] is Lifecycle.INACTIVE
    assert by_status["Returning Staff"] is Lifecycle.ACTIVE
    assert by_status["Upcoming Staff"] is Lifecycle.PENDING


def test_custom_values_are_text_by_type(read: dict[str, Any], raw: dict[str, dict[str, Any]]) -> None:
    seen: set[str] = set()
    for pid, person in read.items():
        assert not person.field_problems
        for api_name, entry in raw[pid]["customFields"].items():
            value = person.values[f"custom.{api_name}"]
            given = entry["value"]
            if given is None:
                assert value is None
                continue
            seen.add(entry["type"])
            if entry["type"] == "SINGLE_SELECT":
                assert value == given["label"]
            elif entry["type"] == "MULTI_SELECT":
                assert value == ", ".join(given["labels"])  # in the order intelliHR sent them
            elif entry["type"] == "PEOPLE_DROPDOWN":
                assert value == given["options"]["person"]["displayName"]
                number = person.values[f"custom.{api_name}.employeeNumber"]
                assert number == given["options"]["person"]["employeeNumber"]
            else:
                assert value == given  # TEXT, NUMBER ("50"): the string as sent
    assert seen == {"TEXT", "NUMBER", "SINGLE_SELECT", "MULTI_SELECT", "PEOPLE_DROPDOWN"}


def test_fields_lists_standard_and_custom_fields(sim: Any, raw: dict[str, dict[str, Any]]) -> None:
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        fields = source.fields()
    keys = [f.key for f in fields]
    assert len(keys) == len(set(keys))
    for key in ("employeeNumber", "primaryEmailAddress", "firstName", "lastName", "address.postcode",
                "job.startDate", "job.endDate", "job.positionTitle", "job.manager", "job.location"):
        assert key in keys
    by_key = {f.key: f for f in fields}
    assert by_key["job.positionTitle"].needs_job_details
    assert not by_key["job.startDate"].needs_job_details
    custom_defs = next(iter(raw.values()))["customFields"]
    kinds = {"TEXT": "text", "NUMBER": "number", "SINGLE_SELECT": "select", "MULTI_SELECT": "multiselect",
             "PEOPLE_DROPDOWN": "person"}
    assert custom_defs
    for api_name, entry in custom_defs.items():
        field = by_key[f"custom.{api_name}"]
        assert field.group is FieldGroup.CUSTOM
        assert field.label == entry["name"]
        assert field.kind == kinds[entry["type"]]
        if entry["type"] == "PEOPLE_DROPDOWN":
            number = by_key[f"custom.{api_name}.employeeNumber"]
            assert number.group is FieldGroup.CUSTOM and number.label == f"{entry['name']}: employee number"


def test_job_details_come_from_jobs_without_a_request_per_person(sim: Any) -> None:
    jobs = {j["id"]: j for j in raw_list(sim.base_url, "jobs", **{"filters[isPrimaryJob][eq]": "true"})}
    before = sim.stats.count(path_prefix="/v1/jobs")
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        people = list(source.people(include_job_details=True))
    job_requests = sim.stats.count(path_prefix="/v1/jobs") - before
    assert job_requests <= 5, job_requests  # a couple of pages, not 200 single reads
    checked = 0
    for person in people:
        job = jobs.get(person.extras["primaryJobId"])
        if job is None:
            assert person.values["job.positionTitle"] is None
            continue
        checked += 1
        v = person.values
        assert v["job.positionTitle"] == job["positionTitle"]["name"]
        assert v["job.businessUnit"] == job["businessUnit"]["name"]
        assert v["job.businessEntity"] == job["businessEntity"]["name"]
        assert v["job.location"] == job["location"]["name"]
        assert v["job.workType"] == job["workType"]
        assert v["job.workClass"] == job["workClass"]
        supervisor = job["supervisorPerson"]
        assert v["job.manager"] == (supervisor["displayName"] if supervisor else None)
    assert checked > 150


def test_progress_is_reported_up_to_the_total(sim: Any) -> None:
    calls: list[tuple[int, int | None]] = []
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        count = sum(1 for _ in source.people(on_progress=lambda done, total: calls.append((done, total))))
    assert calls[-1] == (count, count)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def _one_person_page(status: str) -> bytes:
    person = {"id": "8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9", "displayName": "A B", "lastName": "B",
              "employmentStatus": status, "jobs": [], "customFields": {}}
    page = {"data": [person], "meta": {"pagination": {"total": 1, "count": 1, "per_page": 100,
                                                      "current_page": 1, "total_pages": 1}}, "links": {}}
    return json.dumps(page).encode()


def test_an_unmapped_status_stops_the_import_with_its_name(impostor: Callable[..., str]) -> None:
    url = impostor(200, _one_person_page("Contractor"), "application/json")
    with IntelliHRSource(TENANT, KEY, base_url=url) as source, pytest.raises(SourceError) as err:
        list(source.people())
    assert err.value.code == "unknown_status"
    assert "'Contractor'" in err.value.reason


def test_an_overridden_map_may_cover_a_new_status(impostor: Callable[..., str]) -> None:
    url = impostor(200, _one_person_page("Contractor"), "application/json")
    with IntelliHRSource(TENANT, KEY, base_url=url, status_map={"Contractor": Lifecycle.ACTIVE}) as source:
        [person] = list(source.people())
    assert person.lifecycle is Lifecycle.ACTIVE


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"data": {}, "meta": {"pagination": {"total": 0, "total_pages": 0}}}, "'data' list"),
        ({"data": [], "meta": {"requestId": "x"}}, "meta.pagination"),
        ({"data": [], "meta": {"pagination": {"total": "3", "total_pages": 1}}}, "meta.pagination.total"),
        ({"data": [{"name": "no id"}], "meta": {"pagination": {"total": 1, "total_pages": 1}}}, "'id'"),
        ([1, 2, 3], "not a JSON object"),
    ],
)
def test_an_unexpected_shape_is_an_error_naming_the_request(
    impostor: Callable[..., str], body: object, says: str
) -> None:
    url = impostor(200, json.dumps(body).encode(), "application/json")
    with IntelliHRSource(TENANT, KEY, base_url=url) as source, pytest.raises(SourceError) as err:
        list(source.people())
    assert err.value.code == "unexpected_shape"
    assert says in err.value.reason
    assert err.value.request == "GET /people page 1"
    assert "GET /people page 1" in str(err.value)


def test_invalid_settings_make_people_fail_before_any_request(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1")
    with IntelliHRSource("-bad-", KEY, base_url=sim.base_url) as source, pytest.raises(SourceError) as err:
        next(iter(source.people()))
    assert err.value.code == "invalid_subdomain"
    assert sim.stats.count(path_prefix="/v1") == before
