"""/metrics: with HRSYNC_METRICS_TOKEN a bearer token from anywhere; without it loopback clients only."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import Portal

TOKEN = "scrape-7c1d9e0b5a2f48e6a3b1"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from hrsync.config import reset_settings_cache

    monkeypatch.setenv("HRSYNC_METRICS_TOKEN", TOKEN)
    reset_settings_cache()
    yield TOKEN
    monkeypatch.delenv("HRSYNC_METRICS_TOKEN")
    reset_settings_cache()


def _remote(portal: Portal) -> TestClient:
    """A client the app sees at a public address (Starlette's TestClient sets the ASGI client)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TestClient(portal.app, client=("203.0.113.9", 43210))


def test_without_a_token_loopback_scrapes_and_others_get_404(portal: Portal) -> None:
    local = portal.client().get("/metrics")  # real uvicorn on 127.0.0.1
    assert local.status_code == 200
    assert "hrsync_database_up 1.0" in local.text

    remote = _remote(portal).get("/metrics")
    assert remote.status_code == 404
    assert "hrsync_" not in remote.text
    assert _remote(portal).get("/healthz").status_code == 200  # only /metrics is restricted


def test_with_a_token_every_client_must_present_it(portal: Portal, token: str) -> None:
    for response in (portal.client().get("/metrics"),
                     portal.client().get("/metrics", headers={"Authorization": "Bearer wrong"}),
                     portal.client().get("/metrics", headers={"Authorization": f"Basic {token}"}),
                     _remote(portal).get("/metrics")):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert token not in response.text and "hrsync_" not in response.text

    for client in (portal.client(), _remote(portal)):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert "hrsync_database_up 1.0" in response.text
