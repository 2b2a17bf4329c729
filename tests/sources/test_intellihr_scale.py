"""The issue's "done when": 10,000 people, each read exactly once under injected 429s and 5xx.

Also prints what reading costs next to merely paging the same API with httpx (run with ``-s``);
the numbers go in reports, never in asserts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from hrsync.sources.intellihr import IntelliHRSource

from .conftest import KEY, TENANT
from .helpers import HEADERS, raw_list

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_sim() -> Iterator[Any]:
    from hrsync.simulator import Simulator

    with Simulator(people=10_000, seed=7, tenant=TENANT, api_key=KEY, port=0) as simulator:
        yield simulator


def test_ten_thousand_people_exactly_once_under_429s_and_5xx(big_sim: Any) -> None:
    expected = {p["id"] for p in raw_list(big_sim.base_url)}
    assert len(expected) == 10_000
    before = {s: big_sim.stats.count(path_prefix="/v1/people", status=s) for s in (429, 500, 502, 503)}
    big_sim.faults.add("rate_limit", times=3, after=5, retry_after=1)
    big_sim.faults.add("server_error", times=2, after=20, status=500)
    big_sim.faults.add("server_error", times=2, after=40, status=502)
    big_sim.faults.add("server_error", times=2, after=60, status=503)
    try:
        progress: list[int] = []
        with IntelliHRSource(TENANT, KEY, base_url=big_sim.base_url) as source:
            ids = [p.source_id for p in source.people(on_progress=lambda done, total: progress.append(done))]
    finally:
        big_sim.faults.clear()
    assert len(ids) == 10_000
    assert set(ids) == expected
    assert progress[-1] == 10_000
    injected = {s: big_sim.stats.count(path_prefix="/v1/people", status=s) - before[s] for s in before}
    assert injected == {429: 3, 500: 2, 502: 2, 503: 2}, injected


SERVE = """
import sys, time
from hrsync.simulator import Simulator
with Simulator(people=10_000, seed=7, tenant=sys.argv[1], api_key=sys.argv[2], port=0) as sim:
    print(sim.base_url, flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@pytest.fixture(scope="module")
def remote_sim() -> Iterator[str]:
    """The simulator in its own process, as the real API would be: it must not share our GIL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, TENANT, KEY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def test_reading_costs_about_what_paging_costs(remote_sim: str) -> None:
    """Prints people() against bare httpx paging (same pages, same concurrency), best of 2, alternated."""

    def page_only(concurrency: int) -> float:
        started = time.perf_counter()
        with httpx.Client(base_url=remote_sim + "/", headers=HEADERS, timeout=30) as client:

            def get(page: int) -> int:
                r = client.get("people", params={"page": page, "limit": 100, "sort": "createdAt"})
                return len(r.json()["data"])

            first = client.get("people", params={"page": 1, "limit": 100, "sort": "createdAt"}).json()
            pages = first["meta"]["pagination"]["total_pages"]
            with ThreadPoolExecutor(concurrency) as pool:
                count = len(first["data"]) + sum(pool.map(get, range(2, pages + 1)))
        assert count == 10_000
        return time.perf_counter() - started

    def read(concurrency: int) -> float:
        started = time.perf_counter()
        with IntelliHRSource(TENANT, KEY, base_url=remote_sim, concurrency=concurrency) as source:
            count = sum(1 for _ in source.people())
        assert count == 10_000
        return time.perf_counter() - started

    page_only(4)  # warm up
    for concurrency in (1, 4):
        paging, reading = [], []
        for _ in range(2):
            paging.append(page_only(concurrency))
            reading.append(read(concurrency))
        print(
            f"\n10,000 people, concurrency {concurrency}: paging with httpx {min(paging):.2f} s, "
            f"IntelliHRSource.people() {min(reading):.2f} s, ratio {min(reading) / min(paging):.2f}"
        )
