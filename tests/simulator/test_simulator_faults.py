"""Fault injection: each kind, its counters, and switching faults while serving."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from hrsync.simulator import Simulator

from .conftest import api


def test_rate_limit_answers_429_with_retry_after_seconds(client: httpx.Client, sim: Simulator) -> None:
    before = sim.stats.count(path_prefix="/v1/people", status=429)
    sim.faults.add("rate_limit", times=2, retry_after=7)
    statuses = [client.get("/people").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    response_body = client.get("/people").json()
    assert "data" in response_body
    assert sim.stats.count(path_prefix="/v1/people", status=429) - before == 2


def test_rate_limit_headers_and_body(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("rate_limit", retry_after=7)
    response = client.get("/people")
    assert response.headers["retry-after"] == "7"
    body = response.json()
    assert body["code"] == 429 and set(body) == {"name", "message", "code", "errors"}


def test_rate_limit_with_http_date(client: httpx.Client, sim: Simulator) -> None:
    when = (datetime.now(UTC) + timedelta(seconds=30)).replace(microsecond=0)
    sim.faults.add("rate_limit", retry_after=when)
    response = client.get("/people")
    assert response.status_code == 429
    assert parsedate_to_datetime(response.headers["retry-after"]) == when
    assert response.headers["retry-after"].endswith("GMT")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_use_the_documented_error_body(client: httpx.Client, sim: Simulator, status: int) -> None:
    sim.faults.add("server_error", status=status)
    response = client.get("/people")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == status and body["errors"] == [] and body["name"] and body["message"]
    assert client.get("/people").status_code == 200


def test_server_error_rejects_other_statuses(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="500, 502 or 503"):
        sim.faults.add("server_error", status=404)


def test_after_lets_requests_through_first(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("server_error", after=2, times=1)
    assert [client.get("/people").status_code for _ in range(4)] == [200, 200, 500, 200]


def test_times_none_affects_every_request_until_cleared(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("server_error", times=None, status=503)
    assert [client.get("/people").status_code for _ in range(3)] == [503, 503, 503]
    sim.faults.clear()
    assert client.get("/people").status_code == 200


def test_path_prefix_limits_which_requests_are_hit(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("server_error", path="/v1/jobs", times=None)
    assert client.get("/people").status_code == 200
    assert client.get("/jobs").status_code == 500
    sim.faults.clear()
    sim.faults.add("rate_limit", path="/v1", times=None)
    assert client.get("/locations").status_code == 429


def test_slow_delays_then_answers_normally(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("slow", delay=0.5)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/people", timeout=0.2)
    sim.faults.clear()
    sim.faults.add("slow", delay=0.3)
    response = client.get("/people", timeout=5)
    assert response.status_code == 200 and response.json()["data"]
    assert response.elapsed >= timedelta(seconds=0.3)


def test_truncated_body_is_broken_json_with_status_200(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("truncated")
    response = client.get("/people", params={"limit": 5})
    assert response.status_code == 200
    assert response.content.startswith(b'{"data":[')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert client.get("/people", params={"limit": 5}).json()["data"]


def test_grow_hires_people_just_before_answering(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    sim.faults.add("grow", count=5, after=1, times=2)
    with api(sim) as c:
        totals = [c.get("/people").json()["meta"]["pagination"]["total"] for _ in range(4)]
    assert totals == [50, 55, 60, 60]
    newest = sim.directory.people()[-1]
    assert newest["employmentStatus"] == "Current Staff" and newest["primaryEmailAddress"]


def test_shrink_removes_people_just_before_answering(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    sim.faults.add("shrink", count=3, times=2)
    with api(sim) as c:
        totals = [c.get("/people").json()["meta"]["pagination"]["total"] for _ in range(3)]
    assert totals == [47, 44, 44]
    assert sim.directory.total == 44


def test_shifting_directory_moves_people_across_pages(new_sim: object) -> None:
    """Between page 1 and page 2 people vanish, so a naive pager would skip someone."""
    sim = new_sim(people=50)  # type: ignore[operator]
    with api(sim) as c:
        page1 = [p["id"] for p in c.get("/people", params={"limit": 10, "page": 1}).json()["data"]]
        sim.faults.add("shrink", count=5)
        page2 = [p["id"] for p in c.get("/people", params={"limit": 10, "page": 2}).json()["data"]]
    survivors = set(sim.directory.ids())
    naive = [i for i in page1 + page2 if i in survivors]
    assert len(naive) < 20 and len(survivors) == 45


def test_faults_are_switchable_over_http(sim: Simulator, client: httpx.Client) -> None:
    admin = httpx.Client(base_url=f"{sim.url}/_sim")
    created = admin.post("/faults", json={"kind": "rate_limit", "times": 1, "retry_after": 3})
    assert created.status_code == 201 and created.json()["kind"] == "rate_limit"
    response = client.get("/people")
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    admin.post("/faults", json={"kind": "rate_limit", "retry_after": "Wed, 21 Oct 2037 07:28:00 GMT"})
    assert client.get("/people").headers["retry-after"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    admin.post("/faults", json={"kind": "server_error", "status": 502, "times": None})
    assert [f["kind"] for f in admin.get("/faults").json()["faults"]] == [
        "rate_limit",
        "rate_limit",
        "server_error",
    ]
    assert client.get("/people").status_code == 502
    assert admin.delete("/faults").status_code == 204
    assert client.get("/people").status_code == 200
    assert admin.post("/faults", json={"kind": "meteor"}).status_code == 400
    admin.close()


def test_stats_count_by_path_and_status(new_sim: object) -> None:
    sim = new_sim(people=50)  # type: ignore[operator]
    with api(sim) as c:
        c.get("/people")
        c.get("/people", params={"limit": 0})
        c.get("/jobs")
    httpx.get(f"{sim.base_url}/people")
    assert sim.stats.count(path_prefix="/v1/people", status=200) == 1
    assert sim.stats.count(path_prefix="/v1/people", status=400) == 1
    assert sim.stats.count(path_prefix="/v1/people", status=401) == 1
    assert sim.stats.count(path_prefix="/v1/jobs") == 1
    assert sim.stats.count(path_prefix="/v1") == 4
    stats = httpx.get(f"{sim.url}/_sim/stats").json()
    assert stats["total"] == 4
    assert {"path": "/v1/jobs", "status": 200, "count": 1} in stats["requests"]


# --- faults that misbehave without end (bounded reads) ----------------------------------------------


def _pagination(response: httpx.Response) -> dict[str, int]:
    return dict(response.json()["meta"]["pagination"])


def test_runaway_claims_more_pages_with_every_request(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("runaway", times=None, count=100)
    pages = [_pagination(client.get("/people", params={"limit": 100, "page": 1}))["total_pages"] for _ in range(3)]
    assert pages == [3, 4, 5]  # 200 people, then 100 more claimed per request
    beyond = client.get("/people", params={"limit": 100, "page": 6}).json()
    assert beyond["data"] == [] and beyond["meta"]["pagination"]["total_pages"] == 6


def test_same_page_answers_page_one_whatever_was_asked(client: httpx.Client, sim: Simulator) -> None:
    first = client.get("/people", params={"limit": 50, "page": 1}).json()["data"]
    sim.faults.add("same_page", times=None)
    third = client.get("/people", params={"limit": 50, "page": 3}).json()
    assert third["data"] == first and third["meta"]["pagination"]["current_page"] == 1


def test_nested_answers_json_too_deep_for_a_parser(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("nested", count=5000)
    response = client.get("/people")
    assert response.status_code == 200
    with pytest.raises(RecursionError):
        json.loads(response.content)
    assert client.get("/people").json()["data"], "times=1: the next answer is normal"


def test_oversized_pads_a_valid_answer(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("oversized", count=3 * 1024 * 1024)
    response = client.get("/people", params={"limit": 5})
    assert len(response.content) >= 3 * 1024 * 1024
    assert len(response.json()["data"]) == 5


def test_not_json_answers_an_html_page(client: httpx.Client, sim: Simulator) -> None:
    sim.faults.add("not_json")
    response = client.get("/people")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html") and response.text.startswith("<!doctype")


def test_new_kinds_are_armed_over_the_admin_api(sim: Simulator) -> None:
    with httpx.Client(base_url=f"{sim.url}/_sim") as admin:
        created = admin.post("/faults", json={"kind": "runaway", "times": None})
        assert created.status_code == 201 and created.json()["count"] == 100
        assert admin.post("/faults", json={"kind": "nested", "count": 0}).status_code == 400
