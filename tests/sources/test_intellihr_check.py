"""check(): one cheap call that says clearly what is wrong with the subdomain or key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hrsync.sources.intellihr import IntelliHRSource

from .conftest import KEY, TENANT


def test_right_subdomain_and_key_pass(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1/people")
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        result = source.check()
    assert result.ok, result
    assert result.code is None
    assert sim.stats.count(path_prefix="/v1/people") == before + 1  # exactly one call


def test_subdomain_is_case_insensitive_and_trimmed(sim: Any) -> None:
    with IntelliHRSource(f"  {TENANT.upper()} ", KEY, base_url=sim.base_url) as source:
        assert source.check().ok


def test_wrong_key_is_bad_key(sim: Any) -> None:
    with IntelliHRSource(TENANT, "not-the-key", base_url=sim.base_url) as source:
        result = source.check()
    assert not result.ok
    assert result.code == "bad_key"
    assert "Public API Access Keys" in (result.reason or "")
    assert "not-the-key" not in (result.reason or "")


def test_unknown_tenant_is_reported_as_such(sim: Any) -> None:
    with IntelliHRSource("nosuchco", KEY, base_url=sim.base_url) as source:
        result = source.check()
    assert not result.ok
    assert result.code == "unknown_tenant"
    assert "nosuchco" in (result.reason or "")
    assert "subdomain" in (result.reason or "")


def test_invalid_subdomain_is_reported_without_any_request(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1")
    with IntelliHRSource("acme.intellihr.net.evil.test", KEY, base_url=sim.base_url) as source:
        result = source.check()
    assert not result.ok
    assert result.code == "invalid_subdomain"
    assert "is not an intelliHR address" in (result.reason or "")
    assert sim.stats.count(path_prefix="/v1") == before


def test_empty_key_is_reported_without_any_request(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1")
    with IntelliHRSource(TENANT, "   ", base_url=sim.base_url) as source:
        result = source.check()
    assert (result.ok, result.code) == (False, "bad_key")
    assert sim.stats.count(path_prefix="/v1") == before


def test_closed_port_is_unreachable(closed_port_url: str) -> None:
    with IntelliHRSource(TENANT, KEY, base_url=closed_port_url, time_budget=30) as source:
        result = source.check()
    assert not result.ok
    assert result.code == "unreachable"
    assert "127.0.0.1" in (result.reason or "")


def test_html_answer_is_not_intellihr(impostor: Callable[..., str]) -> None:
    with IntelliHRSource(TENANT, KEY, base_url=impostor()) as source:
        result = source.check()
    assert not result.ok
    assert result.code == "not_intellihr"
    assert "HRSYNC_INTELLIHR_BASE_URL" in (result.reason or "")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"hello": "world"}'),  # JSON, but no envelope
        (200, b'{"data": [], "meta": {}}'),  # envelope without pagination
        (404, b"<html>Not Found</html>"),
        (403, b"<html>Forbidden by proxy</html>"),
    ],
)
def test_json_or_errors_without_the_intellihr_envelope_are_not_intellihr(
    impostor: Callable[..., str], status: int, body: bytes
) -> None:
    content_type = "application/json" if body.startswith(b"{") else "text/html"
    with IntelliHRSource(TENANT, KEY, base_url=impostor(status, body, content_type)) as source:
        result = source.check()
    assert (result.ok, result.code) == (False, "not_intellihr"), result


def test_missing_auth_answer_401_is_bad_key(impostor: Callable[..., str]) -> None:
    body = (
        b'{"name":"NotAuthenticated","message":"Authorization header is missing or malformed",'
        b'"code":401,"errors":[]}'
    )
    with IntelliHRSource(TENANT, KEY, base_url=impostor(401, body, "application/json")) as source:
        result = source.check()
    assert (result.ok, result.code) == (False, "bad_key")


def test_a_403_that_names_neither_gets_the_combined_reason(impostor: Callable[..., str]) -> None:
    body = b'{"name":"Forbidden","message":"Access denied","code":403,"errors":[]}'
    with IntelliHRSource(TENANT, KEY, base_url=impostor(403, body, "application/json")) as source:
        result = source.check()
    assert not result.ok
    assert result.code == "bad_credentials"
    assert "check the subdomain and the key" in (result.reason or "")


def test_check_waits_out_a_brief_rate_limit(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1/people", status=429)
    sim.faults.add("rate_limit", times=1, retry_after=0)
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        assert source.check().ok
    assert sim.stats.count(path_prefix="/v1/people", status=429) - before == 1


def test_check_reports_a_rate_limit_longer_than_it_may_wait(sim: Any) -> None:
    sim.faults.add("rate_limit", times=5, retry_after=60)
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url) as source:
        result = source.check()
    assert (result.ok, result.code) == (False, "rate_limited")
    assert "60" in (result.reason or "")
