"""``hrsync run undo RUN [--dry-run] [--json]`` through the command's entry point, against a real
simulator over HTTP: what it would do, doing it, the refusals (exit 2, one line), and an undo held
by the brake until ``hrsync run approve``."""

from __future__ import annotations

from typing import Any

from tests.sync.conftest import Install, database_url, install

__all__ = ["database_url", "install"]


def _current(install: Install) -> list[dict[str, Any]]:
    return [p for p in install.sim.directory.people()
            if p["employmentStatus"] == "Current Staff" and p.get("employeeNumber")]


def test_undo_a_run_from_the_command_line(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = install.members()
    people = [p for p in _current(install) if p["employeeNumber"] in before]
    install.sim.directory.change(people[0]["id"], firstName="Renamed")
    install.sim.directory.terminate(people[1]["id"])
    second = install.cli_json("import", str(integration))
    assert second["updated"] >= 1 and second["leavers"] == 1

    preview = install.cli_json("run", "undo", str(second["id"]), "--dry-run")
    assert preview["reinstated"] == 1 and preview["restored"] == second["updated"] and not preview["held"]
    assert "not recalled" in preview["note"]
    assert install.members() != before  # a dry run changes nothing

    undone = install.cli_json("run", "undo", str(second["id"]))
    assert undone["status"] in ("succeeded", "succeeded_with_errors")
    assert undone["undo_of"] == second["id"] and undone["reinstated"] == 1
    after = install.members()
    for employee_id in (people[0]["employeeNumber"], people[1]["employeeNumber"]):
        assert after[employee_id] == before[employee_id]
    text = install.cli("run", "undo", str(second["id"]))
    assert text.returncode == 2 and "already undone" in text.stderr and len(text.stderr.strip().splitlines()) == 1
    again = install.cli_json("run", "undo", str(undone["id"]), expect=2)
    assert "cannot be undone" in again["error"]
    history = install.cli_json("runs", str(integration))
    assert history[0]["trigger"] == "undo" and history[0]["id"] == undone["id"]


def test_a_dry_run_cannot_be_undone_and_a_big_undo_waits_for_approval(install: Install) -> None:
    integration = install.setup_integration()
    dry = install.cli_json("import", str(integration), "--dry-run")
    refused = install.cli_json("run", "undo", str(dry["id"]), expect=2)
    assert "dry run" in refused["error"]
    first = install.cli_json("import", str(integration))
    held = install.cli_json("run", "undo", str(first["id"]), expect=1)  # everyone a leaver: held
    assert held["status"] == "held" and held["leavers"] == first["created"] + first["pending"]
    assert {m["status"] for m in install.members().values()} <= {"invited", "active", "pending"}
    approved = install.cli_json("run", "approve", str(held["id"]))
    assert approved["status"] in ("succeeded", "succeeded_with_errors")
    assert {m["status"] for m in install.members().values()} == {"leaver"}
