"""Behind a load balancer: the real client address, HSTS, and a sign-in throttle shared by processes.

The portal is wrapped exactly as ``hrsync serve`` wraps it (``uvicorn.Config(app, **uvicorn_options())``,
whose ``load()`` adds uvicorn's proxy-headers middleware with ``HRSYNC_TRUSTED_PROXIES``); the
TestClient then plays the peer that connects: the balancer, or somebody else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Portal, csrf_of
from tests.web.serve_process import hrsync_serve

from hrsync.config import Settings, reset_settings_cache
from hrsync.services.throttle import SharedThrottle
from hrsync.web.logfilter import uvicorn_options

BALANCER = ("10.0.0.5", 40000)  # the load balancer's address, as the portal sees the connection
STRANGER = ("203.0.113.50", 40001)  # a client reaching the portal directly, not through the balancer


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """HRSYNC_TRUSTED_PROXIES names the balancer (a network, as an operator would write it)."""
    monkeypatch.setenv("HRSYNC_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/24")
    reset_settings_cache()
    yield
    monkeypatch.delenv("HRSYNC_TRUSTED_PROXIES")
    reset_settings_cache()


def _served_as_serve_does(app: Any, peer: tuple[str, int]) -> TestClient:
    config = uvicorn.Config(app, **uvicorn_options())
    config.load()
    return TestClient(config.loaded_app, client=peer, follow_redirects=False)


def _login(client: TestClient | httpx.Client, email: str, password: str,
           forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    page = client.get("/login", headers=headers)
    return client.post("/login", headers=headers, data={"email": email, "password": password,
                                                        "csrf_token": csrf_of(page.text)})


@pytest.mark.slow
def test_behind_a_trusted_balancer_twenty_failures_lock_only_that_client(portal: Portal, trusting: None) -> None:
    portal.reset_throttle()
    _, _, email = portal.new_admin()
    client = _served_as_serve_does(portal.app, BALANCER)
    for i in range(20):  # a spray across twenty addresses (no account reaches its own limit)
        response = _login(client, f"spray-{i}@example.com", "guess 1234567", forwarded_for="198.51.100.7")
        assert response.status_code == (429 if i == 19 else 400), i
    blocked = _login(client, email, PASSWORD, forwarded_for="198.51.100.7")
    assert blocked.status_code == 429 and "paused for 15 minutes" in blocked.text
    # Every other client of the same balancer still signs in, the administrator tried above included.
    other = _served_as_serve_does(portal.app, BALANCER)
    assert _login(other, email, PASSWORD, forwarded_for="198.51.100.8").status_code == 303
    third = _served_as_serve_does(portal.app, BALANCER)
    assert _login(third, "someone@example.com", "wrong password 1", forwarded_for="198.51.100.9").status_code == 400
    # A chain "client, balancer": uvicorn takes the first address that is not a trusted proxy.
    chained = _served_as_serve_does(portal.app, BALANCER)
    assert _login(chained, email, PASSWORD, forwarded_for="198.51.100.7, 10.0.0.6").status_code == 429
    portal.reset_throttle()


def test_an_untrusted_peers_forwarded_for_is_ignored(portal: Portal, trusting: None) -> None:
    portal.reset_throttle()
    original = portal.app.state.login_throttle
    portal.app.state.login_throttle = SharedThrottle(address_limit=3)  # default 20: same rule, faster
    try:
        _, _, email = portal.new_admin()
        client = _served_as_serve_does(portal.app, STRANGER)
        for i in range(3):  # a new X-Forwarded-For each time would escape the lock if it were believed
            response = _login(client, f"spray-{i}@example.com", "guess 1234567", forwarded_for=f"192.0.2.{i + 1}")
        assert response.status_code == 429
        assert _login(client, email, PASSWORD, forwarded_for="192.0.2.200").status_code == 429
        # the balancer's clients are not affected by the stranger's lock
        assert _login(_served_as_serve_does(portal.app, BALANCER), email, PASSWORD,
                      forwarded_for="192.0.2.1").status_code == 303
    finally:
        portal.app.state.login_throttle = original
        portal.reset_throttle()


def test_the_scheme_follows_x_forwarded_proto_only_from_a_trusted_proxy(portal: Portal, trusting: None) -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(f"{scope['scheme']} {scope['client'][0]}")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}
    _served_as_serve_does(app, BALANCER).get("/", headers=headers)
    _served_as_serve_does(app, STRANGER).get("/", headers=headers)
    assert seen == ["https 198.51.100.20", "http 203.0.113.50"]


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert Settings(trusted_proxies=" 10.0.0.0/8 ,192.168.1.10,::1").trusted_proxies == "10.0.0.0/8,192.168.1.10,::1"
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(trusted_proxies="balancer.internal")


def test_the_throttle_holds_across_two_apps_on_one_database(portal: Portal) -> None:
    from hrsync.web.app import create_app

    portal.reset_throttle()
    _, _, email = portal.new_admin()
    first = portal.client()  # the portal's own uvicorn
    second = TestClient(create_app(), follow_redirects=False)  # another app, same SQLite file
    for client in (first, second, first, second):
        assert _login(client, email, "wrong password 123").status_code == 400
    assert _login(second, email, "wrong password 123").status_code == 429  # the fifth, wherever it lands
    assert _login(first, email, PASSWORD).status_code == 429
    assert _login(second, email, PASSWORD).status_code == 429
    portal.reset_throttle()


@pytest.mark.slow
def test_the_throttle_holds_across_processes(portal: Portal, tmp_path: Path) -> None:
    portal.reset_throttle()
    _, _, email = portal.new_admin()
    with hrsync_serve(portal.data_dir, tmp_path) as served, httpx.Client(base_url=served.base_url) as other:
        for _ in range(3):
            assert _login(other, email, "wrong password 123").status_code == 400
        for _ in range(2):
            response = _login(portal.client(), email, "wrong password 123")
        assert response.status_code == 429
        assert _login(other, email, PASSWORD).status_code == 429
    portal.reset_throttle()


def test_the_lock_ends_after_fifteen_minutes_by_the_throttles_clock(portal: Portal) -> None:
    portal.reset_throttle()
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    original = portal.app.state.login_throttle
    portal.app.state.login_throttle = SharedThrottle(clock=lambda: now[0])
    try:
        _, _, email = portal.new_admin()
        for _ in range(5):
            response = _login(portal.client(), email, "wrong password 123")
        assert response.status_code == 429
        now[0] += timedelta(minutes=14, seconds=59)
        assert _login(portal.client(), email, PASSWORD).status_code == 429
        now[0] += timedelta(seconds=1)
        assert _login(portal.client(), email, PASSWORD).status_code == 303
        # failures spread wider than the window never add up to a lock
        for _ in range(8):
            assert _login(portal.client(), email, "wrong password 123").status_code == 400
            now[0] += timedelta(minutes=4)
    finally:
        portal.app.state.login_throttle = original
        portal.reset_throttle()


def test_a_member_and_an_administrator_with_one_address_are_counted_apart(portal: Portal) -> None:
    from hrsync.services.auth import account_key, address_key

    portal.reset_throttle()
    throttle = SharedThrottle()
    for _ in range(5):
        throttle.failure(account_key("Same@Example.com", "member"), address_key("198.51.100.1"))
    assert throttle.locked(account_key("same@example.com", "member"))
    assert not throttle.locked(account_key("same@example.com", "admin"), address_key("198.51.100.2"))
    throttle.success(account_key("same@example.com", "member"))
    assert not throttle.locked(account_key("same@example.com", "member"))
    portal.reset_throttle()


def _count_concurrently(url: str) -> int:
    """Forty failures of one key from two engines (two processes' pools) on eight threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import sessionmaker

    from hrsync.store.models import ThrottleBucket

    engines = [create_engine(url) for _ in range(2)]
    try:
        throttles = [SharedThrottle(lambda e=e: sessionmaker(bind=e), limit=1000) for e in engines]  # type: ignore[misc]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: throttles[i % 2].failure("account:admin:race@example.com"), range(40)))
        with sessionmaker(bind=engines[0])() as session:
            return int(session.scalar(select(ThrottleBucket.failures)) or 0)
    finally:
        for engine in engines:
            engine.dispose()


def test_concurrent_failures_are_all_counted_on_sqlite(tmp_path: Path) -> None:
    from hrsync.store.db import dispose_engines, upgrade

    url = f"sqlite:///{tmp_path / 'race.db'}"
    upgrade(url)
    dispose_engines()
    assert _count_concurrently(url) == 40


def test_concurrent_failures_are_all_counted_on_postgresql(postgres_url: str) -> None:
    from hrsync.store.db import dispose_engines, normalise_url, upgrade

    url = normalise_url(postgres_url)
    upgrade(url)
    dispose_engines()
    assert _count_concurrently(url) == 40
