"""Throttling as BambooHR documents it (503 today, 429 with Retry-After announced) and other faults."""

from __future__ import annotations

import httpx
import pytest

from hrsync.simulator.bamboohr import BambooSimulator

from .conftest import admin, api


def test_rate_limit_is_429_with_retry_after_then_recovers(bamboo: BambooSimulator) -> None:
    with admin(bamboo) as back:
        assert back.post("/faults", json={"kind": "rate_limit", "times": 2, "retry_after": 7}).status_code == 201
    with api(bamboo) as c:
        answers = [c.get("/meta/fields") for _ in range(3)]
    assert [r.status_code for r in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7"


def test_throttled_is_503_with_or_without_retry_after(bamboo: BambooSimulator) -> None:
    bamboo.faults.add("throttled", times=1)
    bamboo.faults.add("throttled", after=1, times=1, retry_after=3)
    with api(bamboo) as c:
        first, second, third = (c.get("/employees/directory") for _ in range(3))
    assert first.status_code == 503 and "Retry-After" not in first.headers
    assert second.status_code == 503 and second.headers["Retry-After"] == "3"
    assert third.status_code == 200


def test_faults_can_target_one_operation_and_wait(bamboo: BambooSimulator) -> None:
    bamboo.faults.add("server_error", path=f"/api/gateway.php/{bamboo.company.domain}/v1/reports", after=1, times=1)
    with api(bamboo) as c:
        statuses = [c.post("/reports/custom?format=json", json={"fields": ["firstName"]}).status_code
                    for _ in range(3)]
        assert c.get("/meta/fields").status_code == 200
    assert statuses == [200, 500, 200]


def test_body_faults(bamboo: BambooSimulator) -> None:
    bamboo.faults.add("truncated", times=1)
    bamboo.faults.add("not_json", after=1, times=1)
    with api(bamboo) as c:
        cut = c.get("/meta/fields")
        html = c.get("/meta/fields")
    with pytest.raises(ValueError):
        cut.json()
    assert html.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("kind", ["runaway", "same_page", "grow", "no_such_fault"])
def test_faults_that_mean_nothing_here_are_refused(bamboo: BambooSimulator, kind: str) -> None:
    with admin(bamboo) as back:
        r = back.post("/faults", json={"kind": kind, "count": 3})
    assert r.status_code == 400


def test_stats_count_requests_by_path_and_status(bamboo: BambooSimulator) -> None:
    bamboo.stats.reset()
    httpx.get(f"{bamboo.company_url}/meta/fields")  # no key: 401
    with api(bamboo) as c:
        c.get("/meta/fields")
    with admin(bamboo) as back:
        stats = back.get("/stats").json()
    path = f"/api/gateway.php/{bamboo.company.domain}/v1/meta/fields"
    assert {(r["path"], r["status"], r["count"]) for r in stats["requests"]} == {(path, 401, 1), (path, 200, 1)}
