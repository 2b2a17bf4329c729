"""Hiring, changing, terminating, rehiring and deleting people through the back door, and what each
operation of the API shows afterwards (including future-dated terminations and the changed list)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hrsync.simulator.bamboohr import BAD_RECORDS, BambooSimulator

from .conftest import TODAY, admin, api, by_id, report

FIELDS = ["employeeNumber", "workEmail", "status", "hireDate", "originalHireDate", "terminationDate", "firstName",
          "customShirtSize"]


def _directory_ids(sim: BambooSimulator) -> set[str]:
    with api(sim) as c:
        return {e["id"] for e in c.get("/employees/directory").json()["employees"]}


def _changed(sim: BambooSimulator, since: datetime) -> dict[str, str]:
    with api(sim) as c:
        body = c.get("/employees/changed", params={"since": since.isoformat()}).json()
    return {k: v["action"] for k, v in body["employees"].items()}


def test_hire_change_terminate_rehire_delete(new_bamboo: Callable[..., BambooSimulator]) -> None:
    sim = new_bamboo(people=30)
    since = datetime.now(UTC) - timedelta(seconds=1)
    with admin(sim) as back:
        hired = back.post("/people", json={"first_name": "Ana", "last_name": "López", "email": "ana@acme.example.com",
                                           "employee_number": "90001", "custom": {"customShirtSize": "M"}})
        assert hired.status_code == 201
        ana = hired.json()["id"]
        assert back.patch("/people/102", json={"workEmail": "new.address@acme.example.com", "jobTitle": "Director"}
                          ).status_code == 200
        assert back.post("/people/103/terminate", json={"date": (TODAY - timedelta(days=1)).isoformat()}
                         ).status_code == 200
        assert back.post("/people/104/terminate", json={"date": (TODAY + timedelta(days=10)).isoformat()}
                         ).status_code == 200
        assert back.delete("/people/105").status_code == 204
        assert back.patch("/people/106", json={"status": "Inactive"}).status_code == 400  # status follows dates
    with api(sim) as c:
        now = by_id(report(c, FIELDS)["employees"])
        future = by_id(report(c, FIELDS, only_current=False)["employees"])
    assert now[ana]["workEmail"] == "ana@acme.example.com" and now[ana]["customShirtSize"] == "M"
    assert now[ana]["status"] == "Active" and now[ana]["hireDate"] == TODAY.isoformat()
    assert now["102"]["workEmail"] == "new.address@acme.example.com"
    assert now["103"]["status"] == "Inactive" and now["103"]["terminationDate"] == "2026-03-01"
    # a termination dated in the future: still Active, and the date is a future-dated value
    assert now["104"]["status"] == "Active" and now["104"]["terminationDate"] == ""
    assert future["104"]["status"] == "Active" and future["104"]["terminationDate"] == "2026-03-12"
    assert "105" not in now
    assert _changed(sim, since) == {ana: "Inserted", "102": "Updated", "103": "Updated", "104": "Updated",
                                    "105": "Deleted"}
    directory = _directory_ids(sim)
    assert ana in directory and "104" in directory and "103" not in directory

    since = datetime.now(UTC)  # microseconds: the changes above come before it
    with admin(sim) as back:
        assert back.post("/people/103/rehire", json={"date": TODAY.isoformat()}).status_code == 200
    with api(sim) as c:
        again = by_id(report(c, FIELDS)["employees"])["103"]
    assert again["status"] == "Active" and again["terminationDate"] == "" and again["hireDate"] == TODAY.isoformat()
    assert again["originalHireDate"] == now["103"]["originalHireDate"] != again["hireDate"]
    assert _changed(sim, since) == {"103": "Updated"}
    assert "103" in _directory_ids(sim)


def test_unknown_people_and_fields_are_back_door_errors(new_bamboo: Callable[..., BambooSimulator]) -> None:
    sim = new_bamboo(people=5)
    with admin(sim) as back:
        assert back.get("/people/99999").status_code == 404
        assert back.patch("/people/101", json={"noSuchField": 1}).status_code == 400
        assert back.post("/people", json={"first_name": "A", "last_name": "B", "shoe": 9}).status_code == 400
        assert back.get("/nowhere").status_code == 404


def test_generation_is_reproducible_and_plants_leavers_and_bad_records(
    new_bamboo: Callable[..., BambooSimulator],
) -> None:
    one, two, other = new_bamboo(people=400, seed=7), new_bamboo(people=400, seed=7), new_bamboo(people=400, seed=8)
    reports = []
    for sim in (one, two, other):
        with api(sim) as c:
            reports.append(report(c, FIELDS, only_current=False)["employees"])
    assert reports[0] == reports[1] != reports[2]
    rows = by_id(reports[0])
    statuses = [r["status"] for r in rows.values()]
    assert statuses.count("Inactive") > 10
    assert any(r["status"] == "Active" and r["terminationDate"] > TODAY.isoformat() for r in rows.values())
    assert any(r["hireDate"] > TODAY.isoformat() for r in rows.values())  # people starting soon
    with admin(one) as back:
        bad = back.get("/bad-records").json()
    assert set(bad) == set(BAD_RECORDS.values())
    assert rows[bad["missing_email"][0]]["workEmail"] == ""
    assert rows[bad["missing_employee_number"][0]]["employeeNumber"] == ""
    original, copy = bad["duplicate_email"]
    assert rows[original]["workEmail"] != rows[copy]["workEmail"]
    assert rows[original]["workEmail"].lower() == rows[copy]["workEmail"].lower()  # the same address, cased apart
    first, second = bad["duplicate_employee_number"]
    assert rows[first]["employeeNumber"] == rows[second]["employeeNumber"]
    numbers = [r["employeeNumber"] for r in rows.values() if r["employeeNumber"]]
    assert len(numbers) - len(set(numbers)) == 1


def test_no_employee_numbers(new_bamboo: Callable[..., BambooSimulator]) -> None:
    sim = new_bamboo(people=20, employee_numbers=False)
    with api(sim) as c:
        rows = report(c, ["employeeNumber"])["employees"]
    assert rows and all(r["employeeNumber"] == "" for r in rows)
