"""The SCIM door's protocol rules over real HTTP: tokens (rotated, paused, revoked), errors, ETags,
attributes, the per-token rate, and a burst of concurrent creates of one person."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.scim.conftest import ENTERPRISE, PATCH_OP, USER, Scim, start_scim
from tests.sync.conftest import Install

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _user(n: int | str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER, ENTERPRISE], "userName": f"user{n}@acme.test", "externalId": f"x{n}",
            "name": {"givenName": "Kim", "familyName": "Park"},
            "emails": [{"value": f"user{n}@acme.test", "type": "work", "primary": True}],
            ENTERPRISE: {"employeeNumber": f"E{n}"}, **extra}


@SQLITE_ONLY
def test_the_token_is_required_rotated_and_dies_with_the_integration(scim: Scim) -> None:
    with httpx.Client(base_url=scim.base_url) as anonymous:
        refused = anonymous.get("/Users")
        assert refused.status_code == 401 and refused.json()["status"] == "401"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    with scim.client("scim_not-a-real-token") as wrong:
        assert wrong.get("/ServiceProviderConfig").status_code == 401
    with scim.client() as client:
        assert client.get("/ServiceProviderConfig").status_code == 200

    rotated = scim.install.cli_json("integration", "rotate-token", str(scim.integration_id))
    assert rotated["token"].startswith("scim_") and rotated["token"] != scim.token
    with scim.client() as old, scim.client(rotated["token"]) as new:
        assert old.get("/Users").status_code == 401
        assert new.get("/Users").status_code == 200
        scim.install.cli_json("integration", "pause", str(scim.integration_id))
        assert new.get("/Users").status_code == 401
        scim.install.cli_json("integration", "resume", str(scim.integration_id))
        assert new.get("/Users").status_code == 200
        scim.install.cli_json("integration", "revoke", str(scim.integration_id))
        assert new.get("/Users").status_code == 401
    # the token is in no log of the server, nor stored in the clear
    assert rotated["token"] not in scim.served.logs() and scim.token not in scim.served.logs()
    shown = scim.install.cli_json("integration", "show", str(scim.integration_id))
    assert rotated["token"] not in str(shown)


@SQLITE_ONLY
def test_refusals_are_scim_errors(scim: Scim) -> None:
    with scim.client() as client:
        for bad, scim_type in (('title eq "x"', "invalidFilter"), ('userName co "a"', "invalidFilter"),
                               ("userName eq", "invalidFilter")):
            answer = client.get("/Users", params={"filter": bad})
            assert answer.status_code == 400 and answer.json()["scimType"] == scim_type, bad
            assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert client.get("/Users/999999").status_code == 404
        assert client.get("/Users/" + "not-a-number").status_code == 404
        assert client.get("/Groups").status_code == 404
        assert client.post("/Schemas", json={}).status_code == 405
        broken = client.post("/Users", content=b"{not json")
        assert broken.status_code == 400 and broken.json()["scimType"] == "invalidSyntax"
        no_name = client.post("/Users", json={"schemas": [USER], "emails": [{"value": "a@acme.test"}]})
        assert no_name.status_code == 400 and "userName" in no_name.json()["detail"]
        bad_email = client.post("/Users", json=_user(1, emails=[{"value": "not an address", "type": "work"}]))
        assert bad_email.status_code == 400 and "Email" in bad_email.json()["detail"]
        no_id = client.post("/Users", json={"schemas": [USER], "userName": "kim@acme.test",
                                            "emails": [{"value": "kim@acme.test", "type": "work"}]})
        assert no_id.status_code == 400 and "Employee ID" in no_id.json()["detail"]

        uid = client.post("/Users", json=_user(2)).json()["id"]
        taken = client.post("/Users", json=_user(3, userName="USER2@acme.test"))
        assert taken.status_code == 409 and taken.json()["scimType"] == "uniqueness"
        same_id = client.post("/Users", json=_user(4, **{ENTERPRISE: {"employeeNumber": "E2"}}))
        assert same_id.status_code == 409 and "Employee ID" in same_id.json()["detail"]
        bad_op = client.patch(f"/Users/{uid}", json={"schemas": [PATCH_OP], "Operations": [{"op": "move"}]})
        assert bad_op.status_code == 400 and bad_op.json()["scimType"] == "invalidSyntax"
        read_only = client.patch(f"/Users/{uid}", json={"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "id", "value": "7"}]})
        assert read_only.status_code == 400 and read_only.json()["scimType"] == "mutability"
        not_bool = client.patch(f"/Users/{uid}", json={"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "active", "value": "maybe"}]})
        assert not_bool.status_code == 400
    assert [m["employee_id"] for m in scim.members().values()] == ["E2"]


@SQLITE_ONLY
def test_etags_and_attribute_selection(scim: Scim) -> None:
    with scim.client() as client:
        created = client.post("/Users", json=_user(5, title="Chef"))
        uid, etag = created.json()["id"], created.headers["ETag"]
        assert etag.startswith('W/"') and client.get(f"/Users/{uid}").headers["ETag"] == etag
        assert client.get(f"/Users/{uid}", headers={"If-None-Match": etag}).status_code == 304
        stale = client.patch(f"/Users/{uid}", headers={"If-Match": 'W/"stale"'}, json={
            "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Cook"}]})
        assert stale.status_code == 412
        fresh = client.patch(f"/Users/{uid}", headers={"If-Match": etag}, json={
            "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Cook"}]})
        assert fresh.status_code == 200 and fresh.headers["ETag"] != etag

        only = client.get(f"/Users/{uid}", params={"attributes": "userName,name.familyName"}).json()
        assert set(only) == {"schemas", "id", "meta", "userName", "name"} and only["name"] == {"familyName": "Park"}
        without = client.get("/Users", params={"excludedAttributes": f"emails,{ENTERPRISE}:employeeNumber"}).json()
        user = without["Resources"][0]
        assert "emails" not in user and "employeeNumber" not in user[ENTERPRISE] and user["title"] == "Cook"
        searched = client.post("/Users/.search", json={"filter": 'userName eq "user5@acme.test"',
                                                        "attributes": ["userName"]}).json()
        assert searched["totalResults"] == 1 and set(searched["Resources"][0]) == {"schemas", "id", "meta", "userName"}


@pytest.fixture
def slow_scim(install: Install, tmp_path: Path) -> Iterator[Scim]:
    yield from start_scim(install, tmp_path, HRSYNC_SCIM_RATE_PER_MINUTE="6")


@SQLITE_ONLY
def test_past_the_rate_the_answer_is_429_with_retry_after(slow_scim: Scim) -> None:
    with slow_scim.client() as client:
        assert client.get("/Users").status_code == 200  # the bucket holds one request at 6 a minute
        limited = client.get("/Users")
        assert limited.status_code == 429 and limited.json()["status"] == "429"
        assert 1 <= int(limited.headers["Retry-After"]) <= 10


def test_a_burst_of_concurrent_creates_of_one_person_makes_one_member(scim: Scim) -> None:
    tries = 12
    barrier = threading.Barrier(tries)
    statuses: list[int] = []

    def create() -> None:
        with scim.client() as client:
            barrier.wait()
            statuses.append(client.post("/Users", json=_user(7)).status_code)

    threads = [threading.Thread(target=create) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * (tries - 1), statuses
    assert [m["employee_id"] for m in scim.members().values()] == ["E7"]
    with scim.client() as client:
        assert client.get("/Users", params={"filter": 'userName eq "user7@acme.test"'}).json()["totalResults"] == 1


@SQLITE_ONLY
def test_another_doors_member_is_never_taken_over_and_the_manual_door_cannot_edit_a_scim_member(scim: Scim) -> None:
    hand = scim.install.cli_json("members", "add", "--programme", "Acme", "--employee-id", "H1",
                                 "--email", "hand@acme.test", "--first-name", "Hana")
    with scim.client() as client:
        same_address = client.post("/Users", json=_user("x", emails=[{"value": "HAND@acme.test", "type": "work"}]))
        assert same_address.status_code == 409 and same_address.json()["scimType"] == "uniqueness"
        assert "owned by the administrators (added by hand)" in same_address.json()["detail"]
        same_id = client.post("/Users", json=_user("y", **{ENTERPRISE: {"employeeNumber": "H1"}}))
        assert same_id.status_code == 409
        # the SCIM door lists only its own members
        assert client.get("/Users", params={"filter": 'emails[type eq "work"].value eq "hand@acme.test"'}).json()[
            "totalResults"] == 0
        created = client.post("/Users", json=_user(8, active=False))  # created inactive: pending, no e-mail
        assert created.status_code == 201 and created.json()["active"] is False
    members = scim.members()
    assert members["H1"]["first_name"] == "Hana" and members["H1"]["email"] == "hand@acme.test"
    assert members["E8"]["status"] == "pending"
    refused = scim.install.cli("members", "edit", str(members["E8"]["id"]), "--first-name", "Someone", "--json")
    assert refused.returncode == 2 and "owned by" in refused.stderr
    with scim.client() as client:
        started = client.patch(f"/Users/{created.json()['id']}", json={
            "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": True}]})
        assert started.status_code == 200 and started.json()["active"] is True
    assert scim.members()["E8"]["status"] == "invited"
    assert hand["id"] != members["E8"]["id"]
