"""Single people, filters, jobs and reference lists over real HTTP."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from hrsync.simulator import Simulator

from .conftest import TODAY, all_people, api


def test_single_person_matches_the_list_entry(client: httpx.Client) -> None:
    listed = client.get("/people", params={"limit": 3}).json()["data"][2]
    body = client.get(f"/people/{listed['id']}").json()
    assert body["data"] == listed
    assert set(body["meta"]) == {"requestId"}


def test_person_ids_are_case_insensitive(client: httpx.Client) -> None:
    pid = client.get("/people", params={"limit": 1}).json()["data"][0]["id"]
    assert client.get(f"/people/{pid.upper()}").json()["data"]["id"] == pid


@pytest.mark.parametrize(
    "bad", ["abc", "123", "8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9X", "zzzzzzzz-ea6b-4425-8a87-3c256bb7b6f9"]
)
def test_malformed_person_id_is_400(client: httpx.Client, bad: str) -> None:
    response = client.get(f"/people/{bad}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "id must be a UUID"


def test_unknown_person_id_is_404_in_error_shape(client: httpx.Client) -> None:
    response = client.get("/people/8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9")
    assert response.status_code == 404
    assert response.json() == {
        "name": "NotFound",
        "code": 404,
        "errors": [],
        "message": "Person '8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9' was not found",
    }


def test_filter_by_employee_number(client: httpx.Client) -> None:
    data = client.get("/people", params={"filters[employeeNumber][eq]": "E000101"}).json()["data"]
    assert [p["employeeNumber"] for p in data] == ["E000101"]
    assert client.get("/people", params={"filters[employeeNumber][eq]": "nobody"}).json()["data"] == []


def test_filter_by_primary_email_ignores_case(client: httpx.Client) -> None:
    person = client.get("/people", params={"limit": 1, "page": 60}).json()["data"][0]
    email = person["primaryEmailAddress"]["email"]
    data = client.get("/people", params={"filters[primaryEmailAddress][eq]": email.upper()}).json()["data"]
    assert [p["id"] for p in data] == [person["id"]]


def test_filter_by_email_finds_both_people_of_a_duplicate(client: httpx.Client, sim: Simulator) -> None:
    original, duplicate = sim.directory.bad_records["duplicate_email"][:2]
    email = sim.directory.get(original)["primaryEmailAddress"]["email"]
    data = client.get("/people", params={"filters[primaryEmailAddress][eq]": email}).json()["data"]
    assert {p["id"] for p in data} == {original, duplicate}


def test_filter_by_name_matches_any_part_in_any_order(client: httpx.Client) -> None:
    person = client.get("/people", params={"limit": 1, "page": 77}).json()["data"][0]
    first, last = person["firstName"], person["lastName"]
    for value in (f"{first} {last}", f"{last} {first}", last.upper(), person["displayName"]):
        ids = [p["id"] for p in client.get("/people", params={"filters[name][eq]": value}).json()["data"]]
        assert person["id"] in ids, value
    everyone = all_people(client)
    expected = {
        p["id"]
        for p in everyone
        if p["lastName"].casefold() == last.casefold()
        or (p["firstName"] or "").casefold() == last.casefold()
        or (p["middleName"] or "").casefold() == last.casefold()
        or (p["preferredName"] or "").casefold() == last.casefold()
    }
    got = {p["id"] for p in all_people(client, **{"filters[name][eq]": last})}
    assert got == expected


def test_filter_updated_within_days(new_sim: object) -> None:
    sim = new_sim(people=120)  # type: ignore[operator]
    with api(sim) as c:
        before = {p["id"] for p in all_people(c, **{"filters[updatedWithin][eq]": "1"})}
        pid = next(p["id"] for p in all_people(c) if p["id"] not in before)
        sim.directory.change(pid, firstName="Renamed")
        after = {p["id"] for p in all_people(c, **{"filters[updatedWithin][eq]": "1"})}
        assert after == before | {pid}
        everyone = all_people(c, **{"filters[updatedWithin][eq]": "100000"})
        assert len(everyone) == 120


def test_filter_on_extended_leave(client: httpx.Client) -> None:
    everyone = all_people(client)
    on_leave = {p["id"] for p in everyone if any(j["isPrimaryJob"] and j["isOnExtendedLeave"] for j in p["jobs"])}
    got = {p["id"] for p in all_people(client, **{"filters[isOnExtendedLeave][eq]": "true"})}
    assert got == on_leave
    off = {p["id"] for p in all_people(client, **{"filters[isOnExtendedLeave][eq]": "false"})}
    assert off == {p["id"] for p in everyone} - on_leave


def test_filter_by_job_id(client: httpx.Client) -> None:
    person = next(p for p in all_people(client) if len(p["jobs"]) == 2)
    job_ids = ",".join(j["id"] for j in person["jobs"])
    data = client.get("/people", params={"filters[jobId][eq]": job_ids}).json()["data"]
    assert [p["id"] for p in data] == [person["id"]]


def test_person_job_summaries_are_newest_first_and_link_to_jobs(client: httpx.Client, sim: Simulator) -> None:
    person = next(p for p in all_people(client) if len(p["jobs"]) == 2)
    starts = [j["startDate"] for j in person["jobs"]]
    assert starts == sorted(starts, reverse=True)
    for summary in person["jobs"]:
        assert summary["link"] == f"{sim.base_url}/jobs/{summary['id']}"
        job = client.get(summary["link"]).json()["data"]
        assert job["person"]["id"] == person["id"]
        assert job["jobStatus"] == summary["jobStatus"]
        assert job["companyStartDate"].startswith(summary["startDate"])


def test_jobs_list_pages_every_job_of_everyone(client: httpx.Client) -> None:
    expected = {j["id"] for p in all_people(client) for j in p["jobs"]}
    seen: list[str] = []
    page = 1
    while True:
        body = client.get("/jobs", params={"limit": 100, "page": page}).json()
        seen.extend(j["id"] for j in body["data"])
        if page >= body["meta"]["pagination"]["total_pages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert body["meta"]["pagination"]["total"] == len(expected)


def test_jobs_filters(client: httpx.Client) -> None:
    person = next(p for p in all_people(client) if len(p["jobs"]) == 2)
    by_person = client.get("/jobs", params={"filters[personId][eq]": person["id"]}).json()["data"]
    assert {j["id"] for j in by_person} == {j["id"] for j in person["jobs"]}
    primary = client.get(
        "/jobs", params={"filters[personId][eq]": person["id"], "filters[isPrimaryJob][eq]": "true"}
    ).json()["data"]
    assert [j["isPrimaryJob"] for j in primary] == [True]
    past = client.get("/jobs", params={"filters[jobStatus][eq]": "Past Job", "limit": 100}).json()["data"]
    assert past and all(j["jobStatus"] == "Past Job" for j in past)
    recent = client.get("/jobs", params={"filters[updatedWithin][eq]": "1"}).json()
    assert recent["meta"]["pagination"]["total"] == 0
    assert client.get("/jobs", params={"filters[personId][eq]": "nope"}).status_code == 400


def test_job_detail_has_position_unit_location_and_supervisor(client: httpx.Client) -> None:
    people = all_people(client)
    person = people[20 * 7 + 1]  # reports to person 20
    primary = next(j for j in person["jobs"] if j["isPrimaryJob"])
    job = client.get(f"/jobs/{primary['id']}").json()["data"]
    assert job["positionTitle"]["name"] == primary["name"] == job["name"]
    assert job["businessUnit"]["name"] and job["businessEntity"]["name"] and job["location"]["name"]
    assert job["supervisorPerson"]["id"] == people[20]["id"]
    assert job["workType"] in {
        "Permanent",
        "Fixed Contract",
        "Unpaid",
        "Temporary/Casual",
        "Independent Contract",
    }
    assert job["person"]["employeeNumber"] == person["employeeNumber"]


def test_company_end_date_is_exclusive(new_sim: object) -> None:
    sim = new_sim(people=60)  # type: ignore[operator]
    pid = sim.directory.ids()[2]
    last_day = TODAY - timedelta(days=3)
    sim.directory.terminate(pid, last_day)
    with api(sim) as c:
        person = c.get(f"/people/{pid}").json()["data"]
        primary = next(j for j in person["jobs"] if j["isPrimaryJob"])
        assert primary["endDate"] == (last_day + timedelta(days=1)).isoformat()
        job = c.get(f"/jobs/{primary['id']}").json()["data"]
        assert job["companyEndDate"] == f"{(last_day + timedelta(days=1)).isoformat()}T00:00:00+00:00"
        assert job["jobStatus"] == "Past Job" and person["employmentStatus"] == "Past Staff"


def test_unknown_and_malformed_job_ids(client: httpx.Client) -> None:
    assert client.get("/jobs/8a5f3ea6-ea6b-4425-8a87-3c256bb7b6f9").status_code == 404
    assert client.get("/jobs/nope").status_code == 400


def test_reference_lists(client: httpx.Client) -> None:
    units = client.get("/business-units", params={"limit": 100}).json()
    assert units["meta"]["pagination"]["total"] == len(units["data"]) >= 5
    names = {u["name"] for u in units["data"]}
    assert "Engineering" in names
    one = client.get("/business-units", params={"filters[name][eq]": "Engineering"}).json()["data"]
    assert [u["name"] for u in one] == ["Engineering"]
    assert client.get(f"/business-units/{one[0]['id']}").json()["data"] == one[0]
    locations = client.get("/locations", params={"limit": 100}).json()["data"]
    assert {"Brisbane Office", "Auckland Office"} <= {loc["name"] for loc in locations}
    assert client.get(f"/locations/{locations[0]['id']}").json()["data"] == locations[0]
    titles = client.get("/position-titles", params={"limit": 5, "page": 2}).json()
    assert titles["meta"]["pagination"]["current_page"] == 2 and len(titles["data"]) == 5
    assert client.get("/locations", params={"limit": 101}).status_code == 400


def test_job_positions_come_from_the_reference_lists(client: httpx.Client) -> None:
    titles = {t["id"] for t in client.get("/position-titles", params={"limit": 100}).json()["data"]}
    units = {u["id"] for u in client.get("/business-units", params={"limit": 100}).json()["data"]}
    locations = {loc["id"] for loc in client.get("/locations", params={"limit": 100}).json()["data"]}
    for job in client.get("/jobs", params={"limit": 100}).json()["data"]:
        assert job["positionTitle"]["id"] in titles
        assert job["businessUnit"]["id"] in units
        assert job["location"]["id"] in locations


def test_custom_fields_cover_every_type_in_the_published_shapes(client: httpx.Client) -> None:
    people = all_people(client)
    types = {f["type"] for p in people for f in p["customFields"].values()}
    assert types == {"TEXT", "NUMBER", "SINGLE_SELECT", "MULTI_SELECT", "PEOPLE_DROPDOWN"}
    by_id = {p["id"]: p for p in people}
    seen_unset = {name: False for name in people[0]["customFields"]}
    for p in people:
        fields = p["customFields"]
        for name, entry in fields.items():
            seen_unset[name] |= entry["value"] is None
        badge = fields["badgeNumber"]["value"]
        assert badge is None or (isinstance(badge, str) and badge.isdigit())  # NUMBER as a string, "50"
        size = fields["tshirtSize"]["value"]
        assert size is None or (set(size) == {"id", "label"} and size["label"] in ("XS", "S", "M", "L", "XL", "XXL"))
        languages = fields["languagesSpoken"]["value"]
        assert languages is None or (
            set(languages) == {"ids", "labels"} and len(languages["ids"]) == len(languages["labels"]) >= 1
        )
        mentor = fields["mentor"]["value"]
        if mentor is not None:
            shown = mentor["options"]["person"]
            assert shown["id"] in by_id and shown["displayName"]
            assert shown["employeeNumber"] == by_id[shown["id"]]["employeeNumber"]
            assert shown["autoIncrementIntellihrId"] == str(by_id[shown["id"]]["autoIncrementIntellihrId"])
    assert all(seen_unset.values()), "every field is unset (null) for someone"
    multi = [p["customFields"]["languagesSpoken"]["value"] for p in people]
    assert any(m is not None and m["labels"] != sorted(m["labels"]) for m in multi), "labels keep their order"


def test_upcoming_people_start_in_the_future(client: httpx.Client) -> None:
    for p in all_people(client):
        primary = next((j for j in p["jobs"] if j["isPrimaryJob"]), None)
        if p["employmentStatus"] in ("Upcoming Staff", "Returning Staff"):
            assert primary is not None and date.fromisoformat(primary["startDate"]) > TODAY
        if p["employmentStatus"] == "Past Staff":
            assert primary is not None and date.fromisoformat(primary["endDate"]) <= TODAY
        if p["employmentStatus"] == "No Job Records":
            assert p["jobs"] == []
