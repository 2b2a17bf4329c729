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


@SQLITE_ONLY
def test_switching_the_key_when_old_numbers_equal_other_peoples_intellihr_ids_pairs_nobody_wrongly(
    install: Install,
) -> None:
    """Employee number 1001 is not intelliHR ID 1001: matched by the new key values, members would be
    paired with strangers (their addresses and names swapped); matched by HR record, nobody is."""
    d = install.sim.directory
    skipped = {i for ids in d.bad_records.values() for i in ids}
    people = [p for p in d.people() if p["id"] not in skipped][:12]
    # each of these people gets the next one's intelliHR ID as their employee number
    for person, other in zip(people, people[1:] + people[:1], strict=True):
        d.change(person["id"], employeeNumber=str(other["autoIncrementIntellihrId"]))
    integration = install.setup_integration()
    install.cli_json("import", str(integration))
    before = {m["id"]: m for m in install.cli_json("members", "--programme", "Acme")}
    install.cli_json("integration", "edit", str(integration), "--map", "employee_id=autoIncrementIntellihrId")
    switched = install.cli_json("import", str(integration))
    assert switched["status"] in ("succeeded", "succeeded_with_errors"), switched
    assert switched["leavers"] == 0
    by_email = {p["primaryEmailAddress"]["email"]: p for p in d.people() if p["primaryEmailAddress"]}
    after = {m["id"]: m for m in install.cli_json("members", "--programme", "Acme")}
    for member_id, old in before.items():
        new = after[member_id]
        assert (new["email"], new["first_name"], new["status"]) == (old["email"], old["first_name"], old["status"])
        assert new["employee_id"] == str(by_email[old["email"]]["autoIncrementIntellihrId"])
    # and the import after that is an ordinary one: nothing changes
    again = install.cli_json("import", str(integration))
    assert again["created"] == again["updated"] == again["leavers"] == 0
