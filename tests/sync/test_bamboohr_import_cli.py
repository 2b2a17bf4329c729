"""BambooHR through the same door as intelliHR, through the interface an operator touches: ``hrsync``
commands against the BambooHR simulator over HTTP, 5,000 people, on SQLite and on PostgreSQL. Connect,
map (the kind's default mapping), publish, import; change, terminate (today and ahead of time), hire and
rehire people in the simulator; import again: counts, members, leavers, invitations and history."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from hrsync.simulator.bamboohr import BambooSimulator, Employee
from hrsync.store.db import upgrade

from .conftest import Install, _activate, session_scope, spawns_cli

KEY = "bamboo-cli-key-5678"
PEOPLE = 5000


@pytest.fixture
def bamboo_install(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Install]:
    with BambooSimulator(people=PEOPLE, seed=5, company="acme", api_key=KEY) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
        env.update(HRSYNC_DATA_DIR=str(tmp_path / "data"), HRSYNC_DATABASE_URL=database_url,
                   HRSYNC_BAMBOOHR_BASE_URL=sim.base_url, HRSYNC_IMPORT_TIME_BUDGET="20")
        _activate(env)
        upgrade()
        yield Install(env=env, sim=sim, url=database_url, spawn=spawns_cli(request))  # type: ignore[arg-type]
        _activate({})


def _expected(sim: BambooSimulator) -> tuple[dict[str, Employee], dict[str, Employee]]:
    """(invited, pending) members by employee number: Active people, hired or to be hired, without a bad record."""
    company = sim.company
    today = date.today()
    bad = {int(i) for ids in company.bad_records().values() for i in ids}
    invited, pending = {}, {}
    for e in company.employees.values():
        if e.id in bad or e.status(today) != "Active" or e.employee_number is None:
            continue
        (pending if e.hire_date > today else invited)[e.employee_number] = e
    return invited, pending


def test_bamboohr_connect_publish_import_and_follow_changes(bamboo_install: Install) -> None:
    install, sim = bamboo_install, bamboo_install.sim
    assert isinstance(sim, BambooSimulator)
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    kinds = {k["kind"]: k for k in install.cli_json("integration", "kinds")["kinds"]}
    assert [(f["name"], f["secret"]) for f in kinds["bamboohr"]["settings"]] == [("company_domain", False),
                                                                                   ("api_key", True)]
    refused = install.cli("integration", "add", "--programme", "Acme", "--source", "bamboohr",
                          "--setting", "company_domain=acme", "--api-key", "-", stdin="not-the-key\n")
    assert refused.returncode != 0 and "BambooHR refused the API key" in refused.stderr
    created = install.cli_json("integration", "add", "--programme", "Acme", "--source", "bamboohr",
                               "--setting", "company_domain=https://acme.bamboohr.com/home", "--api-key", "-",
                               stdin=KEY + "\n")
    integration = str(created["id"])
    shown = install.cli("integration", "show", integration, "--json")
    assert KEY not in shown.stdout
    described = install.cli_json("integration", "show", integration)
    assert described["kind"] == "bamboohr" and described["settings"] == {"company_domain": "acme"}
    assert described["mapping"] == {"employee_id": "employeeNumber", "email": "workEmail",
                                    "first_name": "firstName", "last_name": "lastName"}
    second = install.cli("integration", "add", "--programme", "Acme", "--source", "bamboohr",
                         "--setting", "company_domain=ACME", "--api-key", "-", stdin=KEY + "\n")
    assert second.returncode != 0 and "already connected" in second.stderr

    install.cli_json("integration", "publish", integration)
    first = install.cli_json("import", integration)
    invited, pending = _expected(sim)
    assert first["status"] == "succeeded_with_errors"
    assert (first["created"], first["pending"]) == (len(invited), len(pending))
    assert first["errors"] == sum(len(ids) for ids in sim.company.bad_records().values())
    members = install.members()
    assert {k for k, m in members.items() if m["status"] == "invited"} == set(invited)
    assert {k for k, m in members.items() if m["status"] == "pending"} == set(pending)
    some = invited[sorted(invited)[40]]
    assert members[some.employee_number]["email"] == some.work_email
    assert members[some.employee_number]["first_name"] == some.first_name
    invitations = _invitations(install)
    assert set(invitations) == {e.work_email.lower() for e in invited.values() if e.work_email}
    # (pre-hires are invited from their start date, by the scheduler)
    assert invitations[some.work_email.lower()] == "queued"

    today = date.today()
    active = [invited[k] for k in sorted(invited)]
    renamed, moved, leaving, later, boomerang = active[100], active[101], active[102], active[103], active[104]
    with install_admin(sim) as back:
        assert back.patch(f"/people/{renamed.id}", json={"firstName": "Zoë"}).status_code == 200
        assert back.patch(f"/people/{moved.id}", json={"workEmail": "moved.person@acme.test"}).status_code == 200
        assert back.post(f"/people/{leaving.id}/terminate",
                         json={"date": (today - timedelta(days=3)).isoformat()}).status_code == 200
        assert back.post(f"/people/{later.id}/terminate",
                         json={"date": (today + timedelta(days=20)).isoformat()}).status_code == 200
        assert back.post(f"/people/{boomerang.id}/terminate", json={}).status_code == 200
        hired = back.post("/people", json={"first_name": "Ngaio", "last_name": "Te Rangi", "email": "ngaio@acme.test",
                                           "employee_number": "N-1"}).json()
    again = install.cli_json("import", integration)
    assert (again["created"], again["updated"], again["leavers"], again["reinstated"]) == (1, 2, 2, 0)
    members = install.members()
    assert members[renamed.employee_number]["first_name"] == "Zoë"
    assert members[moved.employee_number]["email"] == "moved.person@acme.test"
    assert members[leaving.employee_number]["status"] == "leaver"
    assert members[leaving.employee_number]["leaving_date"] == (today - timedelta(days=3)).isoformat()
    assert members[boomerang.employee_number]["status"] == "leaver"
    assert members[boomerang.employee_number]["leaving_date"] == today.isoformat()
    assert members[later.employee_number]["status"] == "invited"  # leaves on the date, not before
    assert members["N-1"]["status"] == "invited" and hired["status"] == "Active"
    assert _invitations(install)["ngaio@acme.test"] == "queued"

    # one person, looked up live: trace explains, --apply imports only them
    traced_one = active[105]
    with install_admin(sim) as back:
        assert back.post(f"/people/{traced_one.id}/terminate", json={}).status_code == 200
    traced = install.cli_json("trace", integration, traced_one.employee_number or "")
    assert traced["found"] and traced["outcome"] == "leaver", traced["reason"]
    assert install.members()[traced_one.employee_number]["status"] == "invited"  # a trace changes nothing
    applied = install.cli_json("trace", integration, traced_one.employee_number or "", "--apply")
    assert applied["run"]["leavers"] == 1 and applied["run"]["unchanged"] == 0
    assert install.members()[traced_one.employee_number]["status"] == "leaver"
    nobody = install.cli("trace", integration, "NOBODY-HERE")
    assert nobody.returncode == 2 and "Nobody with employee ID 'NOBODY-HERE'" in nobody.stderr

    with install_admin(sim) as back:
        assert back.post(f"/people/{boomerang.id}/rehire", json={}).status_code == 200
    third = install.cli_json("import", integration)
    assert (third["created"], third["leavers"], third["reinstated"]) == (0, 0, 1)
    assert install.members()[boomerang.employee_number]["status"] == "active"

    history = install.cli_json("runs", integration)
    assert [r["id"] for r in history] == [third["id"], applied["run"]["id"], again["id"], first["id"]]
    assert [(r["created"], r["leavers"], r["reinstated"]) for r in history] == [(0, 0, 1), (0, 1, 0), (1, 2, 0),
                                                                                (len(invited), 0, 0)]
    assert [r["trigger"] for r in history] == ["cli", "single", "cli", "cli"]


def _invitations(install: Install) -> dict[str, str]:
    """Queued and sent invitation e-mails, by address (the outbox, as the mail sender reads it)."""
    from sqlalchemy import select

    from hrsync.store.models import OutboxEmail

    _activate(install.env)
    with session_scope() as session:
        rows = session.execute(select(OutboxEmail.to_address, OutboxEmail.status)
                               .where(OutboxEmail.kind == "invitation")).all()
    return {address.lower(): status for address, status in rows}


def install_admin(sim: BambooSimulator):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.Client(base_url=f"{sim.url}/_sim", timeout=30)
