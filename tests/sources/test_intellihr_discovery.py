"""fields() discovers custom fields from /custom-field-definitions; job custom fields are read from /jobs."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from hrsync.domain.fields import mapping_needs_job_details, needs_job_details
from hrsync.sources.base import FieldGroup
from hrsync.sources.intellihr import IntelliHRSource
from hrsync.sources.intellihr.normalise import StatusMapper, job_details_values, normalise_person

from .conftest import KEY, TENANT
from .helpers import raw_list

KINDS = {"TEXT": "text", "NUMBER": "number", "SINGLE_SELECT": "select", "MULTI_SELECT": "multiselect",
         "PEOPLE_DROPDOWN": "person"}
DEFINITIONS = "/v1/custom-field-definitions"


@pytest.fixture(scope="module")
def definitions(sim: Any) -> list[dict[str, Any]]:
    return raw_list(sim.base_url, "custom-field-definitions")


def _key(d: dict[str, Any]) -> str:
    return ("custom." if d["modelType"] == "PERSON" else "job.custom.") + d["apiName"]


def test_custom_fields_come_from_the_definitions_with_human_names(sim: Any, definitions: list[dict[str, Any]]) -> None:
    people_before = sim.stats.count(path_prefix="/v1/people")
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        fields = source.fields()
    assert sim.stats.count(path_prefix="/v1/people") == people_before  # no sampling of people
    by_key = {f.key: f for f in fields}
    assert len(by_key) == len(fields)
    enabled = [d for d in definitions if d["isEnabled"] and d["modelType"] in ("PERSON", "JOB")]
    disabled = [d for d in definitions if not d["isEnabled"]]
    assert disabled and any(d["modelType"] == "JOB" for d in enabled) and any(d["isSensitive"] for d in enabled)
    expected = {_key(d) for d in enabled} | {_key(d) + ".employeeNumber" for d in enabled
                                              if d["type"] == "PEOPLE_DROPDOWN"}
    offered = {f.key for f in fields if f.group in (FieldGroup.CUSTOM, FieldGroup.JOB_CUSTOM)}
    assert offered == expected
    for d in enabled:
        field = by_key[_key(d)]
        assert field.label == d["name"] and field.label != d["apiName"]
        assert field.kind == KINDS[d["type"]]
        assert field.sensitive is d["isSensitive"]
        is_job = d["modelType"] == "JOB"
        assert field.group is (FieldGroup.JOB_CUSTOM if is_job else FieldGroup.CUSTOM)
        assert field.needs_job_details is is_job
        assert needs_job_details(field.key) is is_job  # the import reads /jobs exactly for job fields
    for d in disabled:
        assert _key(d) not in by_key
    assert mapping_needs_job_details({"custom.x": "job.custom.jobCostCode"})


def test_every_page_of_definitions_is_read_and_bounded(sim: Any) -> None:
    # a listing that claims ever more pages (whose extra pages are empty): read page after page, then stop
    sim.faults.add("runaway", path=DEFINITIONS, times=None, count=250)
    before = sim.stats.count(path_prefix=DEFINITIONS)
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        fields = source.fields()
    pages = sim.stats.count(path_prefix=DEFINITIONS) - before
    assert 3 <= pages <= 50, pages
    assert any(f.key == "job.custom.jobCostCode" for f in fields)


@pytest.mark.parametrize(("kind", "status"), [("refused", 404), ("refused", 403), ("server_error", 500)])
def test_people_are_sampled_when_the_definitions_are_refused_or_fail(
    sim: Any, caplog: pytest.LogCaptureFixture, kind: str, status: int
) -> None:
    sim.faults.add(kind, path=DEFINITIONS, times=None, status=status)
    people_before = sim.stats.count(path_prefix="/v1/people")
    caplog.set_level(logging.WARNING, logger="hrsync.sources.intellihr")
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url, time_budget=1.0) as source:
        fields = source.fields()
    assert sim.stats.count(path_prefix=DEFINITIONS, status=status) >= 1
    assert sim.stats.count(path_prefix="/v1/people") > people_before
    person = raw_list(sim.base_url, "people", limit="1")[0]
    keys = {f.key for f in fields}
    assert {f"custom.{name}" for name in person["customFields"]} <= keys
    assert not any(key.startswith("job.custom.") for key in keys)  # only definitions tell job fields
    lines = [r.getMessage() for r in caplog.records if "sampling people" in r.getMessage()]
    assert len(lines) == 1 and "custom field definitions could not be read" in lines[0]
    assert KEY not in caplog.text


def test_job_custom_fields_are_read_from_jobs_by_type(sim: Any) -> None:
    jobs = {j["id"]: j for j in raw_list(sim.base_url, "jobs", **{"filters[isPrimaryJob][eq]": "true"})}
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        everything = list(source.people(include_job_details=True))
        wanted = {p.source_id: p for p in source.people(include_job_details=True,
                                                        fields=["job.custom.shiftPattern", "firstName"])}
    seen: dict[str, set[str]] = {"shiftPattern": set(), "jobCostCode": set()}
    for person in everything:
        job = jobs.get(person.extras["primaryJobId"])
        if job is None:
            continue
        assert not person.field_problems
        for api_name, entry in job["customFields"].items():
            value = entry["value"]
            expected = value["label"] if isinstance(value, dict) else value
            assert person.values[f"job.custom.{api_name}"] == expected, (api_name, value)
            if expected is not None:
                seen[api_name].add(expected)
        assert wanted[person.source_id].values["job.custom.shiftPattern"] == person.values["job.custom.shiftPattern"]
        assert "job.custom.jobCostCode" not in wanted[person.source_id].values
    assert all(len(values) > 1 for values in seen.values()), seen


def test_a_job_custom_field_in_an_unknown_shape_is_a_problem_naming_the_field() -> None:
    job = {"id": "j1", "customFields": {
        "shiftPattern": {"definitionId": "d1", "name": "Shift pattern", "type": "RATING",
                         "value": {"score": 4, "outOf": 5}},
        "jobCostCode": {"definitionId": "d2", "name": "Job cost code", "type": "TEXT", "value": "JC-1"},
    }}
    details = job_details_values(job)
    raw = {"id": "p1", "employmentStatus": "Current Staff", "jobs": [], "customFields": {}}
    for wanted in (None, frozenset({"job.custom.shiftPattern", "job.custom.jobCostCode"})):
        person = normalise_person(raw, StatusMapper(None), details, wanted)
        assert person.values["job.custom.jobCostCode"] == "JC-1"
        assert "job.custom.shiftPattern" not in person.values  # never a silent blank
        problem = person.field_problems["job.custom.shiftPattern"]
        assert "'Shift pattern' (shiftPattern)" in problem and "RATING" in problem and "job custom field" in problem
    unmapped = normalise_person(raw, StatusMapper(None), details, frozenset({"job.custom.jobCostCode"}))
    assert not unmapped.field_problems  # a field nobody maps warns nobody
