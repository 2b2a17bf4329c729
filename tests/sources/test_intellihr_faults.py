"""What real APIs do: rate limits, failures, slowness, cut-off pages, refused keys."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hrsync.sources.base import AuthError, SourceError
from hrsync.sources.intellihr import IntelliHRSource

from .conftest import KEY, TENANT

WAIT = re.compile(r"retrying in ([0-9.]+) s")


def _read_ids(sim: Any, **options: Any) -> list[str]:
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url, **options) as source:
        return [p.source_id for p in source.people()]


def _waits(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [float(m.group(1)) for r in caplog.records if (m := WAIT.search(r.getMessage()))]


def test_429_with_retry_after_seconds_is_waited_out(sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hrsync.sources.intellihr")
    before = sim.stats.count(path_prefix="/v1/people", status=429)
    sim.faults.add("rate_limit", times=2, retry_after=1)
    started = time.monotonic()
    ids = _read_ids(sim, concurrency=1)
    elapsed = time.monotonic() - started
    assert len(ids) == len(set(ids)) == 200
    assert sim.stats.count(path_prefix="/v1/people", status=429) - before == 2
    waits = _waits(caplog)
    assert len(waits) == 2 and all(w >= 1.0 for w in waits), waits
    assert elapsed >= 2.0  # the server's Retry-After was honoured, not hammered


def test_429_with_retry_after_http_date_is_waited_out(sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hrsync.sources.intellihr")
    sim.faults.add("rate_limit", times=1, retry_after=datetime.now(UTC) + timedelta(seconds=3))
    ids = _read_ids(sim)
    assert len(set(ids)) == 200
    [wait] = _waits(caplog)
    assert 1.0 <= wait <= 3.5, wait  # a date 3 s ahead, to the second: between 2 and 3 s from now


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(sim: Any, status: int) -> None:
    before = sim.stats.count(path_prefix="/v1/people", status=status)
    sim.faults.add("server_error", times=2, status=status)
    ids = _read_ids(sim)
    assert len(ids) == len(set(ids)) == 200
    assert sim.stats.count(path_prefix="/v1/people", status=status) - before == 2


def test_slow_answers_time_out_and_are_retried(sim: Any) -> None:
    sim.faults.add("slow", times=2, delay=1.5)
    ids = _read_ids(sim, timeout=0.4)
    assert len(ids) == len(set(ids)) == 200


def test_a_cut_off_page_is_read_again(sim: Any) -> None:
    sim.faults.add("truncated", times=1)
    ids = _read_ids(sim)
    assert len(ids) == len(set(ids)) == 200


def test_a_page_that_stays_cut_off_fails_naming_the_request(sim: Any) -> None:
    sim.faults.add("truncated", times=50)
    with pytest.raises(SourceError) as err:
        _read_ids(sim, concurrency=1)
    assert err.value.code == "malformed_response"
    assert err.value.request == "GET /people page 1"
    assert "3 times in a row" in err.value.reason


def test_a_spent_time_budget_fails_the_import_clearly(sim: Any) -> None:
    sim.faults.add("server_error", times=1000, status=503)
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        _read_ids(sim, time_budget=1.5)
    assert err.value.code == "unavailable"
    assert re.search(r"kept failing or rate-limiting for [0-9.]+ seconds", err.value.reason)
    assert time.monotonic() - started >= 0.5  # it did retry before giving up


def test_a_retry_after_beyond_the_budget_fails_at_once(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1/people", status=429)
    sim.faults.add("rate_limit", times=1000, retry_after=60)
    with pytest.raises(SourceError) as err:
        _read_ids(sim, time_budget=5, concurrency=1)
    assert err.value.code == "rate_limited"
    assert "kept rate-limiting" in err.value.reason and "60" in err.value.reason
    assert sim.stats.count(path_prefix="/v1/people", status=429) - before == 1


@pytest.mark.parametrize(
    ("tenant", "key", "status", "code"),
    [(TENANT, "wrong-key", 403, "bad_key"), ("elsewhere", KEY, 403, "unknown_tenant")],
)
def test_refused_credentials_fail_at_once_without_retries(
    sim: Any, tenant: str, key: str, status: int, code: str
) -> None:
    before = sim.stats.count(path_prefix="/v1", status=status)
    with IntelliHRSource(tenant, key, base_url=sim.base_url) as source, pytest.raises(AuthError) as err:
        list(source.people())
    assert err.value.code == code
    assert "re-authorize" in err.value.reason
    assert sim.stats.count(path_prefix="/v1", status=status) - before == 1


def test_the_key_never_appears_in_errors_or_logs(sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-live-very-secret-0123456789"
    sim.faults.add("server_error", times=2, status=502)
    with IntelliHRSource(TENANT, secret, base_url=sim.base_url) as source:
        assert secret not in repr(source)
        with pytest.raises(AuthError) as err:
            list(source.people())
        result = source.check()
    assert not result.ok
    assert secret not in str(err.value) and secret not in (result.reason or "")
    assert secret not in caplog.text
    assert "Bearer" not in caplog.text
