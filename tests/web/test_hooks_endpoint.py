"""``POST /hooks/intellihr/{token}`` on a portal served by real uvicorn: no session, no CSRF, a small body
limit, 404 for an unknown token, 202 and a queued hint for a known one; the dashboard says what is going
on, and the token never reaches the access log."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.sync.webhook_world import HookWorld, start_world
from tests.web.conftest import csrf_of

from hrsync.web.logfilter import redact_token_paths

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookWorld]:
    yield from start_world(tmp_path_factory.mktemp("endpoint"))


def _sign_in(world: HookWorld) -> httpx.Client:
    client = httpx.Client(base_url=world.base_url)
    page = client.get("/login")
    answer = client.post("/login", data={"email": "owner@hooks.test", "password": PASSWORD,
                                         "csrf_token": csrf_of(page.text), "next": "/integrations"})
    assert answer.status_code == 303, answer.text[:300]
    return client


def test_a_known_token_is_acknowledged_at_once_without_session_or_csrf(world: HookWorld) -> None:
    pending = {h.subject for h in world.hints()}  # a person another test left a hint for would coalesce
    person = next(p for p in world.sim.directory.ids() if f"person:{p}" not in pending)
    before = world.hint_count()
    answer = httpx.post(world.hook_url(), json={"id": person, "event": "person.updated",
                                                "timestamp": "2026-01-01T00:00:00+00:00",
                                                "links": {"self": f"{world.sim.base_url}/people/{person}"}})
    assert answer.status_code == 202 and answer.json() == {"queued": True}
    assert "set-cookie" not in answer.headers
    assert world.hint_count() == before + 1
    assert [h.subject for h in world.hints()][-1] == f"person:{person}"


def test_a_body_naming_nobody_is_acknowledged_and_ignored(world: HookWorld) -> None:
    before = world.hint_count()
    for body in (b"[]", b"null", b'{"event": "user.created", "id": "not-a-uuid"}'):
        answer = httpx.post(world.hook_url(), content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 202 and answer.json() == {"queued": False}, body
    assert world.hint_count() == before


def test_unknown_tokens_are_404_and_queue_nothing(world: HookWorld) -> None:
    before = world.hint_count()
    for token in ("x", "A" * 43, "A" * 500):
        answer = httpx.post(f"{world.base_url}/hooks/intellihr/{token}", json={"id": world.sim.directory.ids()[0],
                                                                               "event": "person.created"})
        assert answer.status_code == 404, token
    assert httpx.get(world.hook_url()).status_code == 405  # deliveries are POSTs only
    assert world.hint_count() == before


def test_a_known_token_under_another_kinds_path_is_404(world: HookWorld) -> None:
    """The route is ``/hooks/{kind}/{token}``: a token answers only under its own integration's kind."""
    before = world.hint_count()
    token = world.hook_url().rsplit("/", 1)[1]
    body = {"id": world.sim.directory.ids()[0], "event": "person.updated"}
    for kind in ("membership_file", "no-such-kind", "INTELLIHR"):
        answer = httpx.post(f"{world.base_url}/hooks/{kind}/{token}", json=body)
        assert answer.status_code == 404 and answer.json() == {"error": "not found"}, kind
    assert world.hint_count() == before
    assert httpx.post(world.hook_url(), json=body).status_code == 202  # the same token, its own kind


def test_the_token_is_checked_before_the_body_and_a_bad_body_is_400(world: HookWorld) -> None:
    before = world.hint_count()
    deep = b"[" * 30_000 + b"]" * 30_000  # within the size limit, far past the parser's nesting
    for body in (deep, b"not json", b"", b"\xff\xfe{}", b'{"id": '):
        for token in ("x", "A" * 43):  # a stranger learns nothing from the body: 404 whatever it is
            stranger = httpx.post(f"{world.base_url}/hooks/intellihr/{token}", content=body,
                                  headers={"Content-Type": "application/json"})
            assert stranger.status_code == 404, (token, body[:20])
        known = httpx.post(world.hook_url(), content=body, headers={"Content-Type": "application/json"})
        assert known.status_code == 400 and known.json() == {"error": "the body is not a JSON document"}, body[:20]
        assert "Traceback" not in known.text
    assert world.hint_count() == before


def test_a_large_body_is_refused_before_it_is_read(world: HookWorld) -> None:
    answer = httpx.post(world.hook_url(), content=b"{" + b" " * (65 * 1024) + b"}",
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


def test_the_dashboard_shows_the_state_and_the_last_delivery(world: HookWorld) -> None:
    httpx.post(world.hook_url(), json={"id": world.sim.directory.ids()[0], "event": "person.updated"})
    client = _sign_in(world)
    try:
        page = client.get(f"/integrations/{world.integration_id}").text
    finally:
        client.close()
    assert 'data-webhooks="registered"' in page
    assert "data-webhook-last" in page and "Last delivery" in page
    row = page.split('data-webhooks="registered"', 1)[1].split("</dd>", 1)[0]  # the source's and product's names
    assert "intelliHR tells Reward Manager about changes" in row and "hrsync" not in row, row
    token = world.hook_url().rsplit("/", 1)[1]
    assert token not in page


def test_the_token_is_redacted_from_log_lines(world: HookWorld) -> None:
    url = world.hook_url()
    token = url.rsplit("/", 1)[1]
    line = f'127.0.0.1:5000 - "POST /hooks/intellihr/{token} HTTP/1.1" 202'
    assert token not in redact_token_paths(line) and "/hooks/intellihr/…" in redact_token_paths(line)
    for path in (f"/hooks/another-kind/{token}", f"/hooks/{token}", f"/hooks/a/b/{token}"):  # any kind, or none
        assert token not in redact_token_paths(f'"POST {path} HTTP/1.1" 404'), path
    assert "/hooks/another-kind/…" in redact_token_paths(f'"POST /hooks/another-kind/{token} HTTP/1.1" 404')


@pytest.mark.parametrize(("setting", "base", "intellihr", "on"), [
    ("auto", "https://rewards.example.com", "https://api.intellihr.io/v1", True),
    ("auto", "http://127.0.0.1:8000", "https://api.intellihr.io/v1", False),
    ("auto", "http://10.1.2.3:8000", "https://api.intellihr.io/v1", False),
    ("auto", "http://hrsync.localhost", "https://api.intellihr.io/v1", False),
    ("auto", "http://127.0.0.1:8000", "http://127.0.0.1:9000/v1", True),  # the demo: the simulator is local too
    ("on", "http://127.0.0.1:8000", "https://api.intellihr.io/v1", True),
    ("off", "https://rewards.example.com", "https://api.intellihr.io/v1", False),
])
def test_when_webhooks_are_on(monkeypatch: pytest.MonkeyPatch, setting: str, base: str, intellihr: str,
                              on: bool) -> None:
    from hrsync.config import reset_settings_cache
    from hrsync.services.webhooks import mode
    from hrsync.sources.registry import kind_of

    monkeypatch.setenv("HRSYNC_WEBHOOKS", setting)
    monkeypatch.setenv("HRSYNC_BASE_URL", base)
    monkeypatch.setenv("HRSYNC_INTELLIHR_BASE_URL", intellihr)
    reset_settings_cache()
    try:
        enabled, why = mode(kind_of("intellihr"))  # the kind says whether its source is local
    finally:
        monkeypatch.undo()
        reset_settings_cache()
    assert enabled is on
    assert (why is None) is on
    if why:
        assert why.count(". ") == 0 and why.endswith(".")  # one sentence


def test_with_webhooks_off_nothing_is_subscribed_and_the_dashboard_says_why(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    worlds = start_world(tmp_path_factory.mktemp("off"), HRSYNC_WEBHOOKS="off")
    world = next(worlds)
    try:
        assert world.sim.webhooks.subscriptions() == []
        client = _sign_in(world)
        try:
            page = client.get(f"/integrations/{world.integration_id}").text
        finally:
            client.close()
        assert 'data-webhooks="off"' in page and "HRSYNC_WEBHOOKS=off" in page
    finally:
        worlds.close()
