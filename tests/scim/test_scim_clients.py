"""Request sequences in the shapes Microsoft Entra ID's and Okta's published SCIM documentation show,
against a live ``hrsync serve`` on SQLite and PostgreSQL; then the members, invitations, leavers and
history that result, read through the CLI (``hrsync members``, ``hrsync runs``, ``hrsync run errors``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.scim.conftest import ENTERPRISE, PATCH_OP, USER, Scim

from hrsync.store.db import session_scope
from hrsync.store.models import MemberEvent, OutboxEmail


def _invitations(member_id: int) -> list[tuple[str, str]]:
    """(address, status) of the member's invitations, oldest first."""
    with session_scope() as session:
        return [tuple(row) for row in session.execute(select(OutboxEmail.to_address, OutboxEmail.status).where(
            OutboxEmail.member_id == member_id, OutboxEmail.kind == "invitation").order_by(OutboxEmail.id))]


def _history(scim: Scim) -> list[dict[str, Any]]:
    return scim.install.cli_json("runs", str(scim.integration_id))


def _patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def test_entra_id_sequence(scim: Scim) -> None:
    with scim.client() as entra:
        # Entra's "Test connection": a filter that matches nobody answers 200 with an empty list
        probe = entra.get("/Users", params={"filter": 'userName eq "non-existent-user@contoso.com"'})
        assert probe.status_code == 200 and probe.headers["content-type"].startswith("application/scim+json")
        assert probe.json()["totalResults"] == 0 and probe.json()["Resources"] == []

        # it looks the user up, does not find them, creates them
        assert entra.get("/Users", params={"filter": 'userName eq "ann.lee@contoso.com"'}).json()["totalResults"] == 0
        created = entra.post("/Users", json={
            "schemas": [USER, ENTERPRISE], "externalId": "annlee", "userName": "ann.lee@contoso.com",
            "active": True, "displayName": "Ann Lee",
            "emails": [{"primary": True, "type": "work", "value": "ann.lee@contoso.com"}],
            "meta": {"resourceType": "User"}, "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
            "title": "Analyst", "roles": [],
            ENTERPRISE: {"employeeNumber": "100009", "department": "Human Resources", "manager": {"value": "Ben Ode"}},
        })
        assert created.status_code == 201, created.text
        user = created.json()
        uid = user["id"]
        assert created.headers["Location"].endswith(f"/scim/v2/Users/{uid}")
        assert created.headers["ETag"] == user["meta"]["version"]
        assert user["userName"] == "ann.lee@contoso.com" and user["externalId"] == "annlee" and user["active"] is True
        assert user[ENTERPRISE] == {"employeeNumber": "100009", "department": "Human Resources",
                                    "manager": {"value": "Ben Ode"}}

        # found again by each filter Entra uses, and by id
        for expression in ('userName eq "ANN.LEE@contoso.com"', 'externalId eq "annlee"',
                           'emails[type eq "work"].value eq "ann.lee@contoso.com"',
                           'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "100009"',
                           'userName eq "ann.lee@contoso.com" and externalId eq "annlee"'):
            found = entra.get("/Users", params={"filter": expression}).json()
            assert [r["id"] for r in found["Resources"]] == [uid], expression
        assert entra.get(f"/Users/{uid}").json()["name"] == {"givenName": "Ann", "familyName": "Lee"}

        # the PATCH forms Entra sends: capitalised ops, a value-filtered path, the extension's URN path
        changed = entra.patch(f"/Users/{uid}", json=_patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "ann.smith@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Smith"},
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Finance"},
        ))
        assert changed.status_code == 200, changed.text
        assert changed.json()["emails"][0]["value"] == "ann.smith@contoso.com"
        # a path-less replace whose value holds dotted keys
        dotted = entra.patch(f"/Users/{uid}", json=_patch(
            {"op": "replace", "value": {"name.givenName": "Annie", "title": "Senior Analyst",
                                        f"{ENTERPRISE}:department": "Treasury"}}))
        assert dotted.status_code == 200, dotted.text
        member = scim.members()["100009"]
        assert (member["email"], member["first_name"], member["last_name"]) == (
            "ann.smith@contoso.com", "Annie", "Smith")
        assert member["attributes"]["department"] == "Treasury"
        assert member["attributes"]["job_title"] == "Senior Analyst"
        assert member["status"] == "invited"
        # one invitation to the first address, cancelled when the address changed; one to the new address
        assert _invitations(member["id"]) == [("ann.lee@contoso.com", "failed"), ("ann.smith@contoso.com", "queued")]

        # disable with Entra's string boolean: a leaver following the close-down, never deleted at once
        disabled = entra.patch(f"/Users/{uid}", json=_patch({"op": "Replace", "path": "active", "value": "False"}))
        assert disabled.status_code == 200 and disabled.json()["active"] is False
        member = scim.members()["100009"]
        assert member["status"] == "leaver" and member["leaving_date"] is not None
        assert entra.get("/Users", params={"filter": 'userName eq "ann.lee@contoso.com"'}).json()["Resources"][0][
            "active"] is False
        # enabled again within the 60 days: reinstated, no second welcome
        enabled = entra.patch(f"/Users/{uid}", json=_patch({"op": "Replace", "path": "active", "value": "True"}))
        assert enabled.status_code == 200 and enabled.json()["active"] is True
        assert scim.members()["100009"]["status"] == "active"
        assert len(_invitations(member["id"])) == 2

        # hard delete: 204, then 404 for the client; the member is a leaver, not deleted
        assert entra.delete(f"/Users/{uid}").status_code == 204
        gone = entra.get(f"/Users/{uid}")
        assert gone.status_code == 404 and gone.json()["status"] == "404"
        assert scim.members()["100009"]["status"] == "leaver"

    history = _history(scim)
    assert len(history) == 1 and history[0]["trigger"] == "scim"
    counts = [history[0][key] for key in ("created", "updated", "leavers", "reinstated", "errors")]
    assert counts == [1, 2, 2, 1, 0]
    with session_scope() as session:
        kinds = list(session.scalars(select(MemberEvent.kind).where(MemberEvent.member_id == member["id"])
                                     .order_by(MemberEvent.id)))
    assert kinds == ["created", "updated", "updated", "leaver", "reinstated", "leaver"]


def test_okta_sequence(scim: Scim) -> None:
    with scim.client() as okta:
        # Okta: does the user exist? (userName, with paging parameters)
        query = {"filter": 'userName eq "dana.ray@example.com"', "startIndex": "1", "count": "100"}
        assert okta.get("/Users", params=query).json()["totalResults"] == 0
        created = okta.post("/Users", json={
            "schemas": [USER], "userName": "dana.ray@example.com", "name": {"givenName": "Dana", "familyName": "Ray"},
            "emails": [{"primary": True, "value": "dana.ray@example.com", "type": "work"}],
            "displayName": "Dana Ray", "locale": "en-US", "externalId": "00u1ab2cd3EF4GH5ij6k", "groups": [],
            "password": "1mz050nq", "active": True,
        })
        assert created.status_code == 201, created.text
        uid = created.json()["id"]
        # no employeeNumber: the employee ID falls back to externalId
        member = scim.members()["00u1ab2cd3EF4GH5ij6k"]
        assert member["email"] == "dana.ray@example.com" and member["status"] == "invited"

        # a full PUT update (Okta's profile push)
        put = okta.put(f"/Users/{uid}", json={
            "schemas": [USER], "id": uid, "userName": "dana.ray@example.com",
            "name": {"givenName": "Dana", "familyName": "Ray-Chen"},
            "emails": [{"primary": True, "value": "dana.ray@example.com", "type": "work"}],
            "externalId": "00u1ab2cd3EF4GH5ij6k", "active": True, "title": "Engineer",
        })
        assert put.status_code == 200, put.text
        assert put.json()["name"]["familyName"] == "Ray-Chen" and put.json()["title"] == "Engineer"

        # deactivate: Okta's path-less replace
        off = okta.patch(f"/Users/{uid}", json=_patch({"op": "replace", "value": {"active": False}}))
        assert off.status_code == 200 and off.json()["active"] is False
        assert scim.members()["00u1ab2cd3EF4GH5ij6k"]["status"] == "leaver"
        on = okta.patch(f"/Users/{uid}", json=_patch({"op": "replace", "value": {"active": True}}))
        assert on.status_code == 200 and on.json()["active"] is True
        assert scim.members()["00u1ab2cd3EF4GH5ij6k"]["status"] == "active"

        # a second user claiming Dana's address: 409 uniqueness, recorded in the history's error file
        clash = okta.post("/Users", json={
            "schemas": [USER], "userName": "someone.else@example.com", "externalId": "00u9zz",
            "emails": [{"primary": True, "value": "DANA.RAY@example.com", "type": "work"}], "active": True})
        assert clash.status_code == 409 and clash.json()["scimType"] == "uniqueness", clash.text

        # paging: a stable order, startIndex is 1-based
        for n in range(3):
            assert okta.post("/Users", json={
                "schemas": [USER], "userName": f"p{n}@example.com", "externalId": f"00up{n}",
                "emails": [{"value": f"p{n}@example.com", "type": "work"}]}).status_code == 201
        first = okta.get("/Users", params={"startIndex": "1", "count": "2"}).json()
        second = okta.get("/Users", params={"startIndex": "3", "count": "2"}).json()
        assert first["totalResults"] == second["totalResults"] == 4
        ids = [r["id"] for r in first["Resources"] + second["Resources"]]
        assert len(set(ids)) == 4 and ids == sorted(ids, key=int)
        assert (first["itemsPerPage"], second["startIndex"]) == (2, 3)

    history = _history(scim)
    assert history[0]["errors"] == 1 and history[0]["created"] == 4
    errors = scim.install.cli("run", "errors", str(history[0]["id"]), check=True).stdout
    assert "dana.ray@example.com" in errors.lower() and "00u9zz" in errors


def test_a_mass_deactivation_is_held_for_an_owner_and_the_answers_say_so(scim: Scim) -> None:
    """20 users; the default threshold (10%, at least 5 leavers) lets 4 deactivations through in an
    hour, holds the 5th and every one after it (202, the User still active) in one held run, which
    the owner is e-mailed about and approves like a held import."""
    ids = []
    with scim.client() as client:
        for n in range(20):
            created = client.post("/Users", json={
                "schemas": [USER], "userName": f"m{n}@acme.test", "externalId": f"M{n}",
                "emails": [{"value": f"m{n}@acme.test", "type": "work"}]})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        off = _patch({"op": "replace", "path": "active", "value": False})
        answers = [client.patch(f"/Users/{uid}", json=off) for uid in ids[:6]]
        assert [a.status_code for a in answers] == [200] * 4 + [202] * 2
        assert [a.json()["active"] for a in answers] == [False] * 4 + [True] * 2
        deleted = client.delete(f"/Users/{ids[6]}")
        assert deleted.status_code == 202 and client.get(f"/Users/{ids[6]}").status_code == 200
        # the 6th is activated again in the identity provider meanwhile: it leaves the held run
        back = client.patch(f"/Users/{ids[5]}", json=_patch({"op": "replace", "path": "active", "value": True}))
        assert back.status_code == 200

    statuses = {m["employee_id"]: m["status"] for m in scim.members().values()}
    assert [statuses[f"M{n}"] for n in range(8)] == ["leaver"] * 4 + ["invited"] * 4
    held = [r for r in _history(scim) if r["status"] == "held"]
    assert len(held) == 1 and held[0]["leavers"] == 2
    with session_scope() as session:
        told = session.scalars(select(OutboxEmail.subject).where(OutboxEmail.run_id == held[0]["id"])).all()
    assert told, "the owner is e-mailed about the held run"

    approved = scim.install.cli_json("run", "approve", str(held[0]["id"]))
    assert approved["status"].startswith("succeeded") and approved["leavers"] == 2
    statuses = {m["employee_id"]: m["status"] for m in scim.members().values()}
    assert (statuses["M4"], statuses["M5"], statuses["M6"]) == ("leaver", "invited", "leaver")
