"""Bounded reads: a server that never stops paging, repeats itself, answers enormous, absurdly
nested or non-JSON bodies, or is too slow in all, ends the read with a clean SourceError."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from hrsync.sources.base import SourceError
from hrsync.sources.intellihr import IntelliHRSource
from hrsync.sources.intellihr.client import MAX_RESPONSE_BYTES
from hrsync.sources.rest.pager import MAX_PASSES, page_cap

from .conftest import KEY, TENANT


def _read_ids(sim: Any, **options: Any) -> list[str]:
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url, **options) as source:
        return [p.source_id for p in source.people()]


def _failure(sim: Any, **options: Any) -> SourceError:
    with pytest.raises(SourceError) as err:
        _read_ids(sim, **options)
    reason = err.value.reason
    assert reason and "\n" not in reason and "Traceback" not in reason
    assert KEY not in str(err.value)
    return err.value


def _connector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("intellihr_") and t.is_alive()]


def test_page_cap_leaves_room_for_a_growing_directory() -> None:
    assert page_cap(2) == 8
    assert page_cap(1000) == 1255


def test_a_directory_whose_page_count_keeps_growing_stops_at_the_page_cap(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1/people")
    sim.faults.add("runaway", times=None, count=100)
    error = _failure(sim)
    assert error.code == "runaway_paging"
    assert "kept getting longer" in error.reason
    requests = sim.stats.count(path_prefix="/v1/people") - before
    # 200 people = 2 pages: the cap is 8 pages; a few requests of the window may be in flight.
    assert requests <= page_cap(2) + 8, requests
    assert not _connector_threads()


def test_growth_within_the_margin_is_read_to_the_end(new_sim: Callable[..., Any]) -> None:
    sim = new_sim(people=1000)
    sim.faults.add("grow", times=1, after=1, count=200)  # 10 pages become 12: inside the cap of 18
    ids = _read_ids(sim)
    assert len(ids) == len(set(ids)) == 1200


def test_the_same_page_served_again_and_again_stops_the_read(new_sim: Callable[..., Any]) -> None:
    sim = new_sim(people=1000)
    sim.faults.add("same_page", times=None)
    error = _failure(sim)
    assert error.code == "repeating_pages"
    assert "already sent" in error.reason
    # stopped on the third repeated page of the first pass, not after reading 5 passes of 10 pages
    assert sim.stats.count(path_prefix="/v1/people") < MAX_PASSES * 10


def test_a_small_directory_served_as_one_page_stops_rather_than_passing_again(new_sim: Callable[..., Any]) -> None:
    sim = new_sim(people=200)  # two pages; every pass sees page 1 twice
    sim.faults.add("same_page", times=None)
    error = _failure(sim, concurrency=1)
    assert error.code == "repeating_pages"


def test_deeply_nested_json_is_a_clean_error_and_not_retried(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1/people")
    sim.faults.add("nested", times=None)
    error = _failure(sim, concurrency=1)
    assert error.code == "too_deeply_nested"
    assert error.request == "GET /people page 1"
    assert sim.stats.count(path_prefix="/v1/people") - before == 1


def test_deeply_nested_json_on_a_later_page_is_a_clean_error(sim: Any) -> None:
    sim.faults.add("nested", times=None, after=1)
    error = _failure(sim)
    assert error.code == "too_deeply_nested"
    assert not _connector_threads()


def test_an_oversized_answer_is_abandoned_and_not_retried(sim: Any) -> None:
    before = sim.stats.count(path_prefix="/v1/people")
    sim.faults.add("oversized", times=None, count=MAX_RESPONSE_BYTES + 1024 * 1024)
    error = _failure(sim, concurrency=1)
    assert error.code == "response_too_large"
    assert "32 MiB" in error.reason
    assert sim.stats.count(path_prefix="/v1/people") - before == 1


def test_an_answer_just_under_the_cap_is_read(sim: Any) -> None:
    sim.faults.add("oversized", times=1, count=MAX_RESPONSE_BYTES - 1024)
    ids = _read_ids(sim, concurrency=1)
    assert len(ids) == len(set(ids)) == 200


def test_a_non_json_page_mid_read_is_a_clean_error(sim: Any) -> None:
    sim.faults.add("not_json", times=None, after=1)
    error = _failure(sim, concurrency=1)
    assert error.code == "not_intellihr"
    assert error.request == "GET /people page 2"


def test_a_cut_off_page_keeps_its_small_retry(sim: Any) -> None:
    sim.faults.add("truncated", times=2)
    ids = _read_ids(sim, concurrency=1)
    assert len(ids) == 200


def test_a_read_past_its_deadline_stops_and_cancels_requests_in_flight(sim: Any) -> None:
    # Every page takes 20 s; the request timeout (30 s) would let each through: the deadline does not.
    sim.faults.add("slow", times=None, delay=20, after=1)
    error = _failure(sim, read_deadline=1.0)
    assert error.code == "read_deadline"
    assert "took longer than the 1 second" in error.reason
    assert not _connector_threads(), "the page threads were shut down with the read"


def test_a_deadline_that_passes_while_backing_off_stops_the_read(sim: Any) -> None:
    sim.faults.add("rate_limit", times=None, retry_after=5)
    error = _failure(sim, read_deadline=2.0, time_budget=60, concurrency=1)
    assert error.code == "read_deadline"


def test_the_deadline_covers_the_jobs_read_too(sim: Any) -> None:
    sim.faults.add("slow", times=None, delay=20, path="/v1/jobs")
    with IntelliHRSource(TENANT, KEY, base_url=sim.base_url, read_deadline=1.0) as source:
        with pytest.raises(SourceError) as err:
            list(source.people(include_job_details=True))
    assert err.value.code == "read_deadline"
    assert not _connector_threads()
