"""The main job through the interface an operator touches: ``hrsync`` commands against the
simulator over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hrsync.simulator import BAD_KINDS

if TYPE_CHECKING:
    from conftest import Install

HRSYNC = str(Path(sys.executable).with_name("hrsync"))

COUNT_KEYS = {"id", "status", "created", "updated", "unchanged", "leavers", "reinstated", "pending", "errors",
              "warnings", "reason"}


def _active_people(install: Install) -> list[dict]:
    return [p for p in install.sim.directory.people() if p["employmentStatus"] in ("Current Staff", "Exiting Staff")]


def test_first_import_creates_members_invites_them_and_reports_bad_records(install: Install) -> None:
    integration = install.setup_integration()
    result = install.cli_json("import", str(integration))
    assert COUNT_KEYS <= set(result)
    assert result["status"] == "succeeded_with_errors" and result["reason"] is None
    members = install.members()
    people = install.sim.directory.people()
    skipped_ids = {i for kind in ("missing_email", "duplicate_email", "missing_employee_number",
                                  "duplicate_employee_number") for i in install.sim.directory.bad_records[kind]}
    # every valid active person is a member, invited (welcome e-mails are on by default)
    for person in people:
        if person["id"] in skipped_ids or person["employmentStatus"] not in ("Current Staff", "Exiting Staff"):
            continue
        member = members[person["employeeNumber"]]
        assert member["status"] == "invited"
        assert member["email"] == person["primaryEmailAddress"]["email"]
    assert result["created"] == sum(1 for m in members.values() if m["status"] == "invited")
    assert result["pending"] == sum(1 for m in members.values() if m["status"] == "pending")
    assert result["errors"] >= len(BAD_KINDS) - 2  # the name problems are warnings
    assert result["warnings"] >= 2
    # no inactive person became a member
    inactive = {p["employeeNumber"] for p in people if p["employmentStatus"] in ("Past Staff", "No Job Records")}
    assert not inactive & {k for k, m in members.items() if m["status"] != "leaver"}


def test_second_import_without_changes_changes_nothing(install: Install) -> None:
    integration = install.setup_integration()
    first = install.cli_json("import", str(integration))
    before = install.members()
    second = install.cli_json("import", str(integration))
    assert second["created"] == second["updated"] == second["leavers"] == second["pending"] == 0
    assert second["unchanged"] == first["created"] + first["pending"]
    assert install.members() == before


def test_changes_leavers_rehires_and_email_change_are_planned_and_applied(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    d = install.sim.directory
    skipped = {i for ids in d.bad_records.values() for i in ids}
    active = [p for p in _active_people(install) if p["id"] not in skipped]
    renamed, moved, leaving = active[0], active[1], active[2]
    d.change(renamed["id"], firstName="Zoë")
    d.change(moved["id"], primaryEmailAddress="new.address@acme.test")
    d.terminate(leaving["id"], end_date=date.today() - timedelta(days=3))
    hired = d.hire(first_name="Ngaio", last_name="Te Rangi", email="ngaio@acme.test", employee_number="N-1")
    result = install.cli_json("import", str(integration))
    assert (result["created"], result["updated"], result["leavers"]) == (1, 2, 1)
    members = install.members()
    assert members[renamed["employeeNumber"]]["first_name"] == "Zoë"
    assert members[moved["employeeNumber"]]["email"] == "new.address@acme.test"
    assert len([m for m in members.values() if m["email"] == "new.address@acme.test"]) == 1
    leaver = members[leaving["employeeNumber"]]
    assert leaver["status"] == "leaver"
    # the simulator stores last day + 1 (intelliHR's end date is exclusive); the member shows the last day
    stored_end = next(j["endDate"] for j in d.get(leaving["id"])["jobs"] if j["isPrimaryJob"])
    assert stored_end == (date.today() - timedelta(days=2)).isoformat()
    assert leaver["leaving_date"] == (date.today() - timedelta(days=3)).isoformat()
    assert members[hired["employeeNumber"]]["status"] == "invited"

    d.rehire(leaving["id"])
    again = install.cli_json("import", str(integration))
    assert again["reinstated"] == 1
    assert install.members()[leaving["employeeNumber"]]["status"] == "active"


def test_dry_run_reports_the_plan_and_changes_nothing(install: Install) -> None:
    integration = install.setup_integration()
    dry = install.cli_json("import", str(integration), "--dry-run")
    assert dry["created"] > 0 and dry["status"] in ("succeeded", "succeeded_with_errors")
    assert install.members() == {}
    real = install.cli_json("import", str(integration))
    assert {k: real[k] for k in ("created", "pending", "errors", "warnings")} == {
        k: dry[k] for k in ("created", "pending", "errors", "warnings")
    }


def test_mass_leavers_hold_the_run_until_an_administrator_decides(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = install.members()
    d = install.sim.directory
    victims = [p for p in _active_people(install) if p["employeeNumber"] in before][:20]
    for p in victims:
        d.terminate(p["id"])
    held = install.cli_json("import", str(integration), expect=1)
    assert held["status"] == "held" and "leavers" in held["reason"]
    assert install.members() == before  # nothing applied
    # while held, no other import starts: exit 2 naming the run that awaits a decision
    blocked = install.cli("import", str(integration))
    assert blocked.returncode == 2 and f"Run {held['id']} is held" in blocked.stderr
    rejected = install.cli_json("run", "reject", str(held["id"]))
    assert rejected["status"] == "rejected"
    assert install.members() == before
    held_again = install.cli_json("import", str(integration), expect=1)
    approved = install.cli_json("run", "approve", str(held_again["id"]))
    assert approved["status"] in ("succeeded", "succeeded_with_errors") and approved["leavers"] == 20
    after = install.members()
    assert all(after[p["employeeNumber"]]["status"] == "leaver" for p in victims)


def test_an_empty_directory_never_makes_everyone_a_leaver(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = install.members()
    for person_id in install.sim.directory.ids():
        install.sim.directory.remove(person_id)
    held = install.cli_json("import", str(integration), expect=1)
    assert held["status"] == "held" and "returned nobody" in held["reason"]
    assert install.members() == before


def test_a_failed_read_changes_no_member_and_says_why(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = install.members()
    install.sim.directory.terminate(install.sim.directory.people()[0]["id"])
    install.sim.faults.add("server_error", status=500, times=None, after=1)
    install.env["HRSYNC_IMPORT_TIME_BUDGET"] = "2"
    failed = install.cli_json("import", str(integration), expect=1)
    assert failed["status"] == "failed" and failed["reason"]
    assert install.members() == before


def test_a_revoked_key_fails_at_once_with_an_actionable_reason(install: Install) -> None:
    integration = install.setup_integration()
    revoked = install.cli_json("integration", "revoke", str(integration))
    assert revoked["status"] == "revoked"
    proc = install.cli("import", str(integration), "--json")
    assert proc.returncode == 2 and "re-authorize" in proc.stderr.lower()


def test_a_wrong_key_is_refused_before_anything_is_saved(install: Install) -> None:
    install.cli_json("programme", "add", "Acme", "--admin-email", "owner@acme.test")
    proc = install.cli("integration", "add", "--programme", "Acme", "--subdomain", "acme", "--api-key", "wrong",
                       "--json")
    assert proc.returncode == 2 and "key" in proc.stderr.lower()
    assert "wrong" not in proc.stderr and "wrong" not in proc.stdout
    bad = install.cli("integration", "add", "--programme", "Acme", "--subdomain", "not a label", "--api-key", "x")
    assert bad.returncode == 2 and "subdomain" in bad.stderr.lower()


def test_error_file_round_trips_through_a_strict_csv_reader(install: Install) -> None:
    integration = install.setup_integration()
    result = install.cli_json("import", str(integration))
    for flag, expected in (([], result["errors"]), (["--warnings"], result["warnings"])):
        proc = subprocess.run([HRSYNC, "run", "errors", str(result["id"]), *flag], env=install.env,
                              capture_output=True)  # bytes: no newline translation
        assert proc.returncode == 0
        assert proc.stdout.startswith(b"\xef\xbb\xbf")  # the same file as the portal's: UTF-8 with a BOM
        raw = proc.stdout.decode("utf-8-sig")
        assert raw.endswith("\r\n") and "\r\n" in raw
        rows = list(csv.reader(io.StringIO(raw, newline=""), strict=True))
        assert rows[0] == ["Employee ID", "Name", "intelliHR ID", "Field", "Problem", "Message", "Problem code"]
        assert len(rows) - 1 == expected
        assert all(len(r) == 7 and r[4] and r[5] and r[6] for r in rows[1:])
        assert all(r[1] for r in rows[1:] if r[0])  # a person with an employee ID is named beside it


def test_cli_speaks_json_and_exit_codes(install: Install) -> None:
    proc = install.cli("import", "999", "--json")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    runs = install.cli_json("runs", str(install.setup_integration()))
    assert runs == []
    usage = install.cli("import")
    assert usage.returncode == 2


def test_extra_mapped_fields_are_stored_updated_and_kept_on_blanks(install: Install) -> None:
    integration = install.setup_integration("--map", "preferred_name=preferredName", "--map", "job_title=job.name")
    install.cli_json("import", str(integration))
    d = install.sim.directory
    members = install.members()
    person = next(p for p in _active_people(install) if p["employeeNumber"] in members)
    before = members[person["employeeNumber"]]["attributes"]
    assert "job_title" in before
    d.change(person["id"], preferredName="Kiri")
    result = install.cli_json("import", str(integration))
    assert result["updated"] == 1
    after = install.members()[person["employeeNumber"]]["attributes"]
    assert after == {**before, "preferred_name": "Kiri"}  # the other attribute is kept as it was
    d.change(person["id"], preferredName=None)  # a blank in the HR system does not wipe the value
    blank = install.cli_json("import", str(integration))
    assert blank["updated"] == 0
    assert install.members()[person["employeeNumber"]]["attributes"]["preferred_name"] == "Kiri"
