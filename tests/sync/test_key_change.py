"""Changing the unique key of a live integration (employee number → intelliHR ID) keeps every member:
each is relinked through its stored intelliHR person id, never duplicated or made a leaver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.sync.test_history_defects import SQLITE_ONLY

if TYPE_CHECKING:
    from conftest import Install


@SQLITE_ONLY
def test_switching_the_key_to_the_intellihr_id_relinks_every_member(install: Install) -> None:
    integration = install.setup_integration()
    first = install.cli_json("import", str(integration))
    before = {m["id"]: m for m in install.cli_json("members", "--programme", "Acme")}
    install.cli_json("integration", "edit", str(integration), "--map", "employee_id=autoIncrementIntellihrId")
    switched = install.cli_json("import", str(integration))
    assert switched["status"] in ("succeeded", "succeeded_with_errors"), switched
    assert switched["leavers"] == 0 and switched["updated"] == first["created"] + first["pending"]
    by_person = {p["employeeNumber"]: p for p in install.sim.directory.people()}
    after = {m["id"]: m for m in install.cli_json("members", "--programme", "Acme")}
    for member_id, old in before.items():
        new = after[member_id]  # the same member, not a new one
        assert new["email"] == old["email"] and new["status"] == old["status"]
        assert new["employee_id"] == str(by_person[old["employee_id"]]["autoIncrementIntellihrId"])
    keys = [m["employee_id"] for m in after.values()]
    assert len(keys) == len(set(keys))
    # people skipped before only for their employee number are new members now, nobody else is
    assert len(after) - len(before) == switched["created"] + switched["pending"]
