"""Changing the directory while it serves: from Python and through the /_sim admin endpoints."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest

from .conftest import TODAY, all_people, api


def test_hire_appears_last_with_a_current_job(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    hired = sim.directory.hire(
        first_name="Ana",
        last_name="López-García",
        email="ana@acme.example",
        employee_number="E900001",
        custom={"tshirtSize": "M"},
    )
    with api(sim) as c:
        people = all_people(c)
    assert len(people) == 51 and people[-1]["id"] == hired["id"]
    assert people[-1]["createdAt"] > people[-2]["createdAt"]
    newest = people[-1]
    assert newest["primaryEmailAddress"] == {"email": "ana@acme.example", "isPersonal": False}
    assert newest["employeeNumber"] == "E900001" and newest["employmentStatus"] == "Current Staff"
    assert newest["customFields"]["tshirtSize"]["value"]["label"] == "M"
    assert [j["jobStatus"] for j in newest["jobs"]] == ["Current Job"]


@pytest.mark.parametrize(
    "status",
    ["Current Staff", "Exiting Staff", "Upcoming Staff", "Returning Staff", "Past Staff", "No Job Records"],
)
def test_hire_in_any_status(new_sim: object, status: str) -> None:
    sim = new_sim(people=0)  # type: ignore[operator]
    person = sim.directory.hire(first_name="Kim", last_name="Lee", status=status)
    assert person["employmentStatus"] == status
    assert person["primaryEmailAddress"] is None and person["employeeNumber"] is None


def test_change_uses_api_field_names(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    pid = sim.directory.ids()[5]
    before = sim.directory.get(pid)
    sim.directory.change(
        pid,
        firstName="Ana",
        employeeNumber="X1",
        primaryEmailAddress="a@x.com",
        customFields={"badgeNumber": 7},
    )
    with api(sim) as c:
        after = c.get(f"/people/{pid}").json()["data"]
    assert after["firstName"] == "Ana" and after["employeeNumber"] == "X1"
    assert after["primaryEmailAddress"] == {"email": "a@x.com", "isPersonal": False}
    assert after["emailAddresses"][0]["email"] == "a@x.com"
    assert after["customFields"]["badgeNumber"]["value"] == "7"  # NUMBER travels as a string
    assert after["updatedAt"] > before["updatedAt"]
    sim.directory.change(pid, primaryEmailAddress=None)
    assert sim.directory.get(pid)["primaryEmailAddress"] is None


def test_change_rejects_unknown_fields_without_changing_anything(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    pid = sim.directory.ids()[5]
    before = sim.directory.get(pid)
    with pytest.raises(ValueError, match="cannot be changed"):
        sim.directory.change(pid, firstName="Zed", salary=1)
    assert sim.directory.get(pid) == before


def test_terminate_then_rehire(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    pid = sim.directory.ids()[1]
    gone = sim.directory.terminate(pid)
    assert gone["employmentStatus"] == "Past Staff"
    primary = next(j for j in gone["jobs"] if j["isPrimaryJob"])
    assert primary["endDate"] == TODAY.isoformat()  # last day yesterday, stored exclusive
    assert primary["jobStatus"] == "Past Job"
    back = sim.directory.rehire(pid)
    assert back["employmentStatus"] == "Current Staff"
    assert back["jobs"][0]["isPrimaryJob"] and back["jobs"][0]["jobStatus"] == "Current Job"
    assert back["jobs"][0]["startDate"] == TODAY.isoformat()
    assert sum(j["isPrimaryJob"] for j in back["jobs"]) == 1
    leaver = sim.directory.ids()[2]
    sim.directory.terminate(leaver, TODAY - timedelta(days=30))
    later = sim.directory.rehire(leaver, TODAY + timedelta(days=10))
    assert later["employmentStatus"] == "Returning Staff"


def test_terminate_with_a_future_last_day_is_exiting(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    person = sim.directory.terminate(sim.directory.ids()[1], TODAY + timedelta(days=5))
    assert person["employmentStatus"] == "Exiting Staff"
    assert next(j for j in person["jobs"] if j["isPrimaryJob"])["jobStatus"] == "Ending Job"


def test_remove_makes_person_vanish_everywhere(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    pid = sim.directory.ids()[10]
    job_id = sim.directory.get(pid)["jobs"][0]["id"]
    sim.directory.remove(pid)
    with api(sim) as c:
        assert c.get(f"/people/{pid}").status_code == 404
        assert c.get(f"/jobs/{job_id}").status_code == 404
        assert pid not in {p["id"] for p in all_people(c)}
        assert c.get("/people").json()["meta"]["pagination"]["total"] == 49
    with pytest.raises(KeyError):
        sim.directory.get(pid)


def test_admin_endpoints_do_what_the_python_api_does(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    admin = httpx.Client(base_url=f"{sim.url}/_sim", timeout=10)
    info = admin.get("").json()
    assert info["tenant"] == "demo" and info["people"] == 50 and info["baseUrl"] == sim.base_url
    hired = admin.post(
        "/people",
        json={
            "first_name": "Wiremu",
            "last_name": "Te Whiu",
            "email": "w@x.example",
            "employee_number": "E777",
            "status": "Upcoming Staff",
            "start_date": (TODAY + timedelta(days=3)).isoformat(),
        },
    )
    assert hired.status_code == 201
    pid = hired.json()["id"]
    assert sim.directory.get(pid)["employmentStatus"] == "Upcoming Staff"
    changed = admin.patch(f"/people/{pid}", json={"preferredName": "Wi", "primaryEmailAddress": "wi@x.example"})
    assert changed.json()["displayName"] == "Wi (Wiremu) Te Whiu"
    assert admin.get(f"/people/{pid}").json()["primaryEmailAddress"]["email"] == "wi@x.example"
    other = sim.directory.ids()[3]
    ended = admin.post(f"/people/{other}/terminate", json={"end_date": (TODAY - timedelta(days=2)).isoformat()})
    assert ended.json()["employmentStatus"] == "Past Staff"
    assert admin.post(f"/people/{other}/rehire", json={}).json()["employmentStatus"] == "Current Staff"
    assert admin.delete(f"/people/{pid}").status_code == 204
    assert admin.get(f"/people/{pid}").status_code == 404
    assert admin.patch(f"/people/{other}", json={"nope": 1}).status_code == 400
    assert admin.post("/people", json={"first_name": "A"}).status_code == 400
    assert admin.post("/people", content=b"{not json").status_code == 400
    bad = admin.get("/bad-records").json()
    assert bad == sim.directory.bad_records
    with api(sim) as c:
        assert c.get("/people").json()["meta"]["pagination"]["total"] == 50
    admin.close()


def test_pages_stay_well_formed_while_the_directory_changes(new_sim: object) -> None:
    sim = new_sim(people=300)  # type: ignore[operator]
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            n = 0
            while not stop.is_set():
                ids = sim.directory.ids()
                sim.directory.change(ids[n % len(ids)], firstName=f"Changed{n}")
                sim.directory.hire(first_name="New", last_name=f"Person{n}", email=f"n{n}@x.example")
                sim.directory.remove(ids[(n * 7) % len(ids)])
                n += 1
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            with api(sim) as c:
                for page in range(1, 15):
                    body = c.get("/people", params={"limit": 25, "page": page}).json()
                    assert body["meta"]["pagination"]["count"] == len(body["data"])
                    c.get("/jobs", params={"limit": 25, "page": page}).raise_for_status()
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=churn)
    readers = [threading.Thread(target=read) for _ in range(4)]
    writer.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    stop.set()
    writer.join()
    assert errors == []
    assert sim.stats.count(path_prefix="/v1", status=200) == 4 * 14 * 2
