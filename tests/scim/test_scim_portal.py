"""A SCIM integration in the portal an administrator already has: the integrations list, its page, its
history (one SCIM entry per hour, its error file) and a member's history, with no "None", no raw code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.scim.conftest import ENTERPRISE, USER, Scim
from tests.web.conftest import PASSWORD, csrf_of, sign_in_page

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_the_portal_shows_a_scim_integration_its_history_and_its_members(scim: Scim) -> None:
    with scim.client() as client:
        created = client.post("/Users", json={
            "schemas": [USER, ENTERPRISE], "userName": "lee@acme.test",
            "name": {"givenName": "Lee", "familyName": "Ho"},
            "emails": [{"value": "lee@acme.test", "type": "work"}], ENTERPRISE: {"employeeNumber": "L1"}})
        assert created.status_code == 201
        assert client.post("/Users", json={"schemas": [USER], "userName": "x@acme.test",
                                           "emails": [{"value": "lee@acme.test", "type": "work"}],
                                           "externalId": "X9"}).status_code == 409
    member_id = scim.members()["L1"]["id"]
    run = scim.install.cli_json("runs", str(scim.integration_id))[0]
    with httpx.Client(base_url=scim.served.base_url, timeout=60.0) as web:
        page = web.get("/login")
        signed = web.post("/login", data={"email": "owner@acme.test", "password": PASSWORD,
                                              "csrf_token": csrf_of(page.text), "next": "/integrations"})
        assert signed.status_code == 303
        # its optional name, given on its settings page (web/scim_setup.py): the list's card shows it
        setup = f"/integrations/{scim.integration_id}/setup/scim"
        named = web.post(setup, data={"csrf_token": csrf_of(web.get(setup).text), "label": "Entra ID, head office",
                                      "welcome_email": "on", "leaver_threshold": "10"})
        assert named.status_code == 303, named.text[:500]
        pages = {
            "list": web.get("/integrations", params={"tab": "mine"}),
            "integration": web.get(f"/integrations/{scim.integration_id}"),
            "history": web.get(f"/integrations/{scim.integration_id}/runs"),
            "run": web.get(f"/integrations/{scim.integration_id}/runs/{run['id']}"),
            "member": web.get(f"/members/{member_id}"),
        }
        errors = web.get(f"/integrations/{scim.integration_id}/runs/{run['id']}/errors.csv")
        explore = web.get("/integrations", params={"q": "scim"})
        # pause, resume and revoke from the integration's page: the token follows at once
        base = f"/integrations/{scim.integration_id}"

        def act(what: str) -> int:
            return web.post(f"{base}/{what}", data={"csrf_token": csrf_of(web.get(base).text)}).status_code

        with scim.client() as client:
            assert act("pause") == 303 and client.get("/Users").status_code == 401
            assert "SCIM is paused" in web.get(base).text
            assert act("resume") == 303 and client.get("/Users").status_code == 200
            assert "SCIM token stops working at once" in web.get(f"{base}/revoke").text
            assert act("revoke") == 303 and client.get("/Users").status_code == 401
        revoked = web.get(base).text
        assert "Access is revoked" in revoked and f"{base}/scim/rotate" not in revoked
        for sentence in ("its SCIM token is refused until it is resumed", "its SCIM token works again",
                         "the SCIM token was deleted"):  # the activity says what happened to a push door
            assert sentence in revoked, sentence
        assert "scheduled imports" not in revoked
    for name, answer in pages.items():
        assert answer.status_code == 200, (name, answer.text[:500])
        assert ">None<" not in answer.text and "None " not in answer.text, name
    assert "SCIM 2.0 (Entra ID, Okta)" in pages["list"].text
    assert "<span data-integration-label>Entra ID, head office</span> · " in pages["list"].text  # name, then address
    assert "SCIM (changes sent by the identity provider in one hour)" in pages["history"].text
    # an hour of SCIM changes is not an import anybody started
    assert "SCIM changes #1" in pages["run"].text and "Import #" not in pages["run"].text
    assert errors.status_code == 200 and "lee@acme.test" in errors.text and "already belongs" in errors.text
    assert "/integrations/new/scim" in explore.text  # its card starts the SCIM set-up (web/scim_setup.py)


@SQLITE_ONLY
def test_the_scim_integration_page_at_a_laptop_and_a_phone_size(scim: Scim, browser: Any, artifacts_dir: Path) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    sign_in_page(page, scim.served.base_url, "owner@acme.test", f"/integrations/{scim.integration_id}")
    assert page.locator("[data-scim-base]").inner_text().endswith("/scim/v2")
    text = page.inner_text("body")
    assert scim.token[:12] in text and scim.token not in text  # the token's start, never the token
    assert "None" not in text
    assert page.locator(f'a.btn[href="/integrations/{scim.integration_id}/import"]').count() == 0
    for name, (width, height) in {"laptop": (1366, 900), "phone": (390, 844)}.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts_dir / f"scim-integration-{name}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (name, overflow)
    context.close()
