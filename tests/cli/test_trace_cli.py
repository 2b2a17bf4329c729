"""``hrsync trace INTEGRATION EMPLOYEE_ID [--apply] [--json]`` through the command's entry point,
against the simulator over HTTP (the installation of ``tests/sync/conftest.py``, SQLite)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.sync.conftest import Install, install

__all__ = ["install"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hrsync.db'}"


def _person(install: Install, emp: str) -> str:
    people = install.sim.directory.people()
    return next(p["id"] for p in people if p.get("employeeNumber") == emp)


def test_trace_explains_then_applies_one_leaver_as_a_single_run(install: Install) -> None:
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    members = install.members()
    emp = next(e for e, m in members.items() if m["status"] in ("invited", "active"))
    directory = install.sim.directory
    directory.terminate(_person(install, emp), directory.today - timedelta(days=3))

    traced = install.cli_json("trace", str(integration), emp)
    assert traced["found"] and traced["outcome"] == "leaver", traced["reason"]
    assert "exclusive end date" in traced["reason"]
    stages = [s["key"] for s in traced["stages"]]
    assert stages == ["record", "validation", "mapped", "scoping", "outcome", "closedown"]
    assert install.members()[emp]["status"] != "leaver"  # a trace changes nothing

    human = install.cli("trace", str(integration), emp, check=True).stdout
    assert "Close-down clock" in human and "Personal data deleted on" in human

    applied = install.cli_json("trace", str(integration), emp, "--apply")
    assert applied["run"]["status"] == "succeeded" and applied["run"]["leavers"] == 1
    assert applied["run"]["warnings"] == 0 and applied["run"]["unchanged"] == 0
    after = install.members()
    assert after[emp]["status"] == "leaver"
    assert sum(1 for m in after.values() if m["status"] == "leaver") == sum(
        1 for m in members.values() if m["status"] == "leaver") + 1  # nobody else
    runs = install.cli_json("runs", str(integration))
    assert any(r["trigger"] == "single" for r in (runs["items"] if isinstance(runs, dict) else runs))


def test_trace_of_nobody_exits_2_with_one_line(install: Install) -> None:
    integration = install.setup_integration()
    out = install.cli("trace", str(integration), "NOBODY-HERE")
    assert out.returncode == 2 and "Nobody with employee ID 'NOBODY-HERE'" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_applying_nobody_is_refused_and_holds_nothing(install: Install) -> None:
    """Issue 22: ``--apply`` for an employee ID the HR system does not know made a held one-person run
    ("the HR system returned nobody…"), which blocked every import and e-mailed the owners."""
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = install.members()
    outbox = install.cli_json("outbox", "status")
    runs = install.cli_json("runs", str(integration))

    out = install.cli("trace", str(integration), "NOBODY-HERE", "--apply")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Nobody with employee ID 'NOBODY-HERE'" in out.stderr
    assert "nothing was applied" in out.stderr.lower() and len(out.stderr.strip().splitlines()) == 1

    assert install.cli_json("runs", str(integration)) == runs  # no run at all, held or otherwise
    assert install.cli_json("outbox", "status") == outbox  # nobody e-mailed
    assert install.members() == before
    again = install.cli_json("import", str(integration))  # the next import is not blocked
    assert again["status"] in ("succeeded", "succeeded_with_errors"), again


def test_applying_a_person_whose_employee_id_another_door_owns_takes_nobody_over(install: Install) -> None:
    """Issue 23: a one-person run is an ordinary run, so it plans only the members its integration owns;
    a person carrying a hand-added member's employee ID is ``owned_elsewhere``, never a takeover."""
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    manual = install.cli_json("members", "add", "--programme", "Acme", "--employee-id", "MAN-7",
                              "--email", "manny7@acme.test", "--first-name", "Manny")
    install.sim.directory.hire(first_name="Mallory", last_name="Take", email="mallory7@example.com",
                               employee_number="MAN-7")

    traced = install.cli_json("trace", str(integration), "MAN-7")
    assert traced["found"] and traced["outcome"] == "skipped" and "added by hand" in traced["reason"], traced
    applied = install.cli_json("trace", str(integration), "MAN-7", "--apply")
    run = applied["run"]
    assert (run["created"], run["updated"], run["errors"]) == (0, 0, 1), run
    after = install.members()["MAN-7"]
    assert (after["id"], after["email"], after["first_name"], after["door"]) == \
        (manual["id"], "manny7@acme.test", "Manny", "manual")
