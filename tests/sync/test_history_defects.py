"""Ordinary sequences of HR changes that once broke an import, through the ``hrsync`` commands an
operator runs. Each test failed before its fix (see docs/reliability.md)."""

from __future__ import annotations

import re
import socket
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from hrsync.notify.catcher import MailCatcher
from hrsync.web.app import create_app

if TYPE_CHECKING:
    from conftest import Install

WELCOME_LINK = re.compile(r"/welcome/([A-Za-z0-9_\-]{20,})")
SUCCEEDED = ("succeeded", "succeeded_with_errors")
# Key order in the apply is engine-specific and is tested on both; the rest is engine-neutral and the
# model-based histories (test_history_model.py) cover it on PostgreSQL too.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _active(install: Install) -> list[dict[str, Any]]:
    """Active people who imported cleanly (the simulator seeds some bad records on purpose)."""
    d = install.sim.directory
    skipped = {i for ids in d.bad_records.values() for i in ids}
    return [p for p in d.people()
            if p["employmentStatus"] in ("Current Staff", "Exiting Staff") and p["id"] not in skipped]


def _email(person: dict[str, Any]) -> str:
    return str(person["primaryEmailAddress"]["email"])


def _import(install: Install, integration: int) -> dict[str, Any]:
    result: dict[str, Any] = install.cli_json("import", str(integration))
    assert result["status"] in SUCCEEDED, result
    return result


def test_two_people_swapping_addresses_are_both_updated(install: Install) -> None:
    integration = install.setup_integration()
    _import(install, integration)
    a, b = _active(install)[:2]
    d = install.sim.directory
    d.change(a["id"], primaryEmailAddress=_email(b))
    d.change(b["id"], primaryEmailAddress=_email(a))
    result = _import(install, integration)
    assert result["updated"] == 2 and result["errors"] == _import_errors_before(install, integration)
    members = install.members()
    assert members[a["employeeNumber"]]["email"] == _email(b)
    assert members[b["employeeNumber"]]["email"] == _email(a)


def _import_errors_before(install: Install, integration: int) -> int:
    """The errors of the first import (the simulator's seeded bad records), which every run repeats."""
    runs = install.cli_json("runs", str(integration))
    return int(runs[-1]["errors"])


def test_a_rotation_and_an_address_handed_to_a_new_hire_apply_in_one_import(install: Install) -> None:
    integration = install.setup_integration()
    _import(install, integration)
    a, b, c, leaver_of_address = _active(install)[:4]
    d = install.sim.directory
    d.change(a["id"], primaryEmailAddress=_email(b))
    d.change(b["id"], primaryEmailAddress=_email(c))
    d.change(c["id"], primaryEmailAddress=_email(a).upper())  # and a case change on the way
    d.change(leaver_of_address["id"], primaryEmailAddress="jane.doe@acme.test")
    hired = d.hire(first_name="Jane", last_name="Smith", email=_email(leaver_of_address), employee_number="JS-2")
    result = _import(install, integration)
    assert (result["created"], result["updated"]) == (1, 4)
    members = install.members()
    assert members[a["employeeNumber"]]["email"] == _email(b)
    assert members[b["employeeNumber"]]["email"] == _email(c)
    assert members[c["employeeNumber"]]["email"] == _email(a).upper()
    assert members[leaver_of_address["employeeNumber"]]["email"] == "jane.doe@acme.test"
    assert members[hired["employeeNumber"]]["email"] == _email(leaver_of_address)
    # importing the same directory again changes nothing
    again = _import(install, integration)
    assert again["created"] == again["updated"] == again["leavers"] == 0
    assert install.members() == members


@SQLITE_ONLY
def test_a_changed_employee_number_keeps_the_member(install: Install) -> None:
    integration = install.setup_integration()
    _import(install, integration)
    person = _active(install)[0]
    before = install.members()[person["employeeNumber"]]
    install.sim.directory.change(person["id"], employeeNumber="RENUMBERED-1")
    result = _import(install, integration)
    assert (result["created"], result["updated"]) == (0, 1)
    members = install.members()
    assert person["employeeNumber"] not in members
    after = members["RENUMBERED-1"]
    assert after["id"] == before["id"] and after["email"] == before["email"] and after["status"] == before["status"]


@SQLITE_ONLY
def test_approving_a_held_import_never_brings_back_a_member_deleted_during_the_hold(install: Install) -> None:
    integration = install.setup_integration()
    _import(install, integration)
    d = install.sim.directory
    people = _active(install)
    returning, victims = people[0], people[1:21]
    d.terminate(returning["id"], end_date=date.today() - timedelta(days=1))
    assert _import(install, integration)["leavers"] == 1
    d.rehire(returning["id"])
    for person in victims:
        d.terminate(person["id"])
    held = install.cli_json("import", str(integration), expect=1)
    assert held["status"] == "held" and held["reinstated"] == 1
    # the hold lasts until the leaver's 60-day window is over: the close-down deletes the member
    closedown = install.cli_json("closedown", "--today", (date.today() + timedelta(days=61)).isoformat())
    assert closedown["deleted"] == 1
    approved = install.cli_json("run", "approve", str(held["id"]))
    assert approved["status"] in SUCCEEDED
    assert approved["reinstated"] == 0 and approved["leavers"] == 20
    members = install.cli_json("members", "--programme", "Acme")
    tombstone = [m for m in members if m["status"] == "deleted"]
    assert len(tombstone) == 1 and tombstone[0]["email"] is None and tombstone[0]["employee_id"] is None
    assert returning["employeeNumber"] not in install.members()
    warnings = install.cli("run", "errors", str(held["id"]), "--warnings", check=True).stdout
    assert "held_change_skipped" in warnings and returning["employeeNumber"] in warnings
    # the next import sees the rehire as the new member it now is
    assert _import(install, integration)["created"] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@SQLITE_ONLY
def test_a_link_sent_to_an_address_the_member_no_longer_has_stops_working(install: Install) -> None:
    integration = install.setup_integration()
    with MailCatcher("127.0.0.1", _free_port()) as mail:
        install.env["HRSYNC_SMTP_URL"] = mail.url
        _import(install, integration)
        hired = install.sim.directory.hire(first_name="Aroha", last_name="Typo", email="aroah@acme.test",
                                           employee_number="TYPO-1")
        _import(install, integration)  # the invitation goes out to the mistyped address
        sent = [m for m in mail.messages if list(m.recipients) == ["aroah@acme.test"]]
        assert len(sent) == 1
        match = WELCOME_LINK.search(sent[0].text())
        assert match is not None
        token = match.group(1)
        with TestClient(create_app()) as client:
            assert client.get(f"/welcome/{token}").status_code == 200  # the link works until...
        install.sim.directory.change(hired["id"], primaryEmailAddress="aroha@acme.test")
        corrected = _import(install, integration)  # ...HR corrects the address
    assert corrected["updated"] == 1
    warnings = install.cli("run", "errors", str(corrected["id"]), "--warnings", check=True).stdout
    assert "links_revoked" in warnings and "TYPO-1" in warnings
    with TestClient(create_app()) as client:
        assert client.get(f"/welcome/{token}").status_code == 404
    assert install.members()["TYPO-1"]["status"] == "invited"
