"""The generated directory: deterministic, multilingual, every status and every kind of bad record."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from typing import Any

import pytest

from hrsync.simulator import BAD_KINDS, EMPLOYMENT_STATUSES, Directory, Simulator

from .conftest import TODAY, all_people, api


def _directory(n: int, seed: int = 1) -> Directory:
    return Directory(n, seed, "demo", today=TODAY)


def test_same_seed_same_directory_over_http(new_sim: Any) -> None:
    one, two = new_sim(people=80, seed=5), new_sim(people=80, seed=5)
    with api(one) as a, api(two) as b:
        first, second = all_people(a), all_people(b)
    assert len(first) == 80
    assert json.dumps(first).replace(one.base_url, "BASE") == json.dumps(second).replace(two.base_url, "BASE")


def test_different_seed_different_directory() -> None:
    a, b = _directory(60, seed=1).people(), _directory(60, seed=2).people()
    assert {p["id"] for p in a}.isdisjoint({p["id"] for p in b})
    assert [p["displayName"] for p in a] != [p["displayName"] for p in b]


@pytest.mark.parametrize("n", [50, 51, 77, 200, 1234])
def test_every_status_and_bad_kind_occurs(n: int) -> None:
    d = _directory(n)
    statuses = Counter(p["employmentStatus"] for p in d.people())
    assert set(statuses) == set(EMPLOYMENT_STATUSES)
    bad = d.bad_records
    assert set(bad) == set(BAD_KINDS)
    assert all(bad[kind] for kind in BAD_KINDS)


def _defects(everyone: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Which people break which rule, computed from the API records alone."""
    emails = Counter(p["primaryEmailAddress"]["email"].casefold() for p in everyone if p["primaryEmailAddress"])
    numbers = Counter(p["employeeNumber"] for p in everyone if p["employeeNumber"])
    found: dict[str, set[str]] = {kind: set() for kind in BAD_KINDS}
    for p in everyone:
        pid = p["id"]
        if p["primaryEmailAddress"] is None:
            found["missing_email"].add(pid)
        elif emails[p["primaryEmailAddress"]["email"].casefold()] > 1:
            found["duplicate_email"].add(pid)
        if p["employeeNumber"] is None:
            found["missing_employee_number"].add(pid)
        elif numbers[p["employeeNumber"]] > 1:
            found["duplicate_employee_number"].add(pid)
        if len(p["firstName"] or "") > 50 or len(p["lastName"]) > 50:
            found["long_name"].add(pid)
        if any(re.search(r"[<>0-9]", p[f] or "") for f in ("firstName", "lastName")):
            found["illegal_name"].add(pid)
    return found


@pytest.mark.parametrize("n", [50, 3000])
def test_listed_bad_records_are_exactly_the_bad_ones(n: int) -> None:
    d = _directory(n)
    everyone = d.people()
    by_id = {p["id"]: p for p in everyone}
    bad = d.bad_records
    assert {kind: set(ids) for kind, ids in bad.items()} == _defects(everyone)
    for ids in bad.values():
        assert all(by_id[pid]["employmentStatus"] == "Current Staff" for pid in ids)
    if n > 1000:
        assert len(bad["long_name"]) >= 2  # kinds recur beyond the first 50
    illegal = [by_id[i] for i in bad["illegal_name"]]
    assert any("<" in (p["firstName"] or "") for p in illegal)
    assert any(re.search(r"\d", p["firstName"] or "") for p in illegal)


def test_statuses_follow_realistic_proportions() -> None:
    d = _directory(5000)
    counts = Counter(d.generator.status(i) for i in range(5000))
    share = {s: counts[s] / 5000 for s in EMPLOYMENT_STATUSES}
    assert 0.74 < share["Current Staff"] < 0.86
    assert 0.06 < share["Past Staff"] < 0.14
    assert all(share[s] > 0.003 for s in EMPLOYMENT_STATUSES)


def test_names_come_from_several_languages_and_scripts() -> None:
    people = _directory(1000).people()
    names = [f"{p['firstName']} {p['lastName']}" for p in people]
    scripts: Counter[str] = Counter()
    for name in names:
        for ch in name:
            if ch.isalpha():
                scripts[unicodedata.name(ch).split()[0]] += 1
    assert {"LATIN", "CJK", "ARABIC", "GREEK"} <= set(scripts)
    text = " ".join(names)
    assert "'" in text and "’" in text and "-" in text
    assert any(ch in text for ch in "ñéáíóú") and any(ch in text for ch in "ễạệốầ") and "ā" in text.lower()


def test_genders_titles_and_contact_details_vary() -> None:
    people = _directory(400).people()
    assert {p["gender"] for p in people} == {"Female", "Male", "Non-binary", "Other", "Undisclosed"}
    assert {p["title"] for p in people} >= {None, "Mr", "Ms", "Dr"}
    assert any(p["preferredName"] for p in people) and any(p["middleName"] for p in people)
    assert any(p["primaryPhoneNumber"] is None for p in people)
    assert any(p["addresses"] == [] for p in people) and any(p["addresses"] for p in people)
    assert any(p["dateOfBirth"] is None for p in people)
    assert any(len(p["emailAddresses"]) == 2 for p in people)


def test_supervisors_exist_and_report_lines_point_to_them() -> None:
    people = _directory(100).people()
    assert people[0]["isSupervisor"] and not people[-1]["isSupervisor"]


def test_large_directory_is_lazy_and_addressable() -> None:
    d = _directory(1_000_000)
    assert d.total == 1_000_000
    total, rows = d.people_page(999_950, 100, False, {})
    assert total == 1_000_000 and len(rows) == 50
    total, rows = d.people_page(0, 3, True, {})
    assert b'"autoIncrementIntellihrId":1000999' in rows[0]


def test_simulator_repr_hides_the_key() -> None:
    sim = Simulator(people=1, api_key="very-secret-key")
    assert "very-secret-key" not in repr(sim)


def test_cache_does_not_change_answers() -> None:
    cached, uncached = _directory(120), Directory(120, 1, "demo", today=TODAY, cache_limit=0)
    for _ in range(2):  # the second round is served from the cache
        assert cached.people_page(0, 100, False, {}) == uncached.people_page(0, 100, False, {})
    pid = cached.ids()[7]
    cached.change(pid, lastName="Changed")
    uncached.change(pid, lastName="Changed")

    def without_update_times(d: Directory) -> list[dict[str, Any]]:
        people = [json.loads(row) for row in d.people_page(0, 100, False, {})[1]]
        for p in people:
            p.pop("updatedAt")  # stamped with the wall clock by each change
        return people

    after = without_update_times(cached)
    assert after == without_update_times(uncached)
    assert after[7]["lastName"] == "Changed"
