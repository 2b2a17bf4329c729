"""Authentication, tenants and routing answers (401, 403, 404, 405, 501)."""

from __future__ import annotations

import httpx
import pytest

from hrsync.simulator import Simulator

NOT_AUTHENTICATED = {
    "name": "NotAuthenticated",
    "message": "Authorization header is missing or malformed",
    "code": 401,
    "errors": [],
}
BAD_KEY = {
    "name": "Forbidden",
    "message": "The API key is not valid for this tenant",
    "code": 403,
    "errors": [],
}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Tenant": "demo"},
        {"Authorization": "sim-demo-key", "Tenant": "demo"},
        {"Authorization": "Basic c2ltLWRlbW8ta2V5", "Tenant": "demo"},
        {"Authorization": "Bearer", "Tenant": "demo"},
        {"Authorization": "Bearer a b", "Tenant": "demo"},
    ],
)
def test_missing_or_malformed_authorization_is_401(sim: Simulator, headers: dict[str, str]) -> None:
    response = httpx.get(f"{sim.base_url}/people", headers=headers)
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize(("tenant", "shown"), [(None, ""), ("acme", "acme"), ("", "")])
def test_missing_or_unknown_tenant_is_403_naming_it(sim: Simulator, tenant: str | None, shown: str) -> None:
    headers = {"Authorization": "Bearer sim-demo-key"}
    if tenant is not None:
        headers["Tenant"] = tenant
    response = httpx.get(f"{sim.base_url}/people", headers=headers)
    assert response.status_code == 403
    assert response.json() == {
        "name": "Forbidden",
        "message": f"Tenant '{shown}' was not found",
        "code": 403,
        "errors": [],
    }


def test_wrong_key_is_403_with_its_own_message(sim: Simulator) -> None:
    response = httpx.get(f"{sim.base_url}/people", headers={"Authorization": "Bearer wrong", "Tenant": "demo"})
    assert response.status_code == 403
    assert response.json() == BAD_KEY


def test_header_names_and_tenant_case_do_not_matter(sim: Simulator) -> None:
    response = httpx.get(f"{sim.base_url}/people", headers={"authorization": "Bearer sim-demo-key", "tenant": "DEMO"})
    assert response.status_code == 200
    assert (
        httpx.get(
            f"{sim.base_url}/people", headers={"AUTHORIZATION": "bearer sim-demo-key", "TENANT": "demo"}
        ).status_code
        == 200
    )


def test_every_v1_endpoint_requires_auth(sim: Simulator) -> None:
    pid = sim.directory.ids()[0]
    for path in ("/people", f"/people/{pid}", "/jobs", "/business-units", "/locations", "/position-titles"):
        assert httpx.get(f"{sim.base_url}{path}").status_code == 401, path


def test_methods_the_api_does_not_offer_are_405(client: httpx.Client) -> None:
    for method, path in (
        ("PUT", "/people"),
        ("DELETE", "/people"),
        ("DELETE", "/jobs"),
        ("PUT", "/locations"),
        ("HEAD", "/people"),
        ("OPTIONS", "/people"),
    ):
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert "GET" in response.headers["allow"]
    assert client.put("/people").json()["name"] == "MethodNotAllowed"


def test_spec_operations_that_are_not_simulated_are_501(client: httpx.Client) -> None:
    response = client.post("/people", json={"lastName": "X"})
    assert response.status_code == 501
    assert set(response.json()) == {"name", "message", "code", "errors"}
    assert client.get("/webhook-events").status_code == 501  # /webhooks is simulated (test_sim_webhooks.py)


def test_unknown_paths_are_404(client: httpx.Client, sim: Simulator) -> None:
    assert client.get("/nothing-here").status_code == 404
    assert httpx.get(f"{sim.url}/v2/people").status_code == 404
