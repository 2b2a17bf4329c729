"""The read-side queries behind the members page, the import history and the progress bar.

Speed at 100,000 members is shown without a stopwatch: the members page's queries are served by
the covering index in name order (no table scan, no sort of the whole programme), which is what
keeps them quick at any size; the results are checked on a real SQLite file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from hrsync.services.exports import members_csv_lines
from hrsync.services.queries import (
    MEMBER_ORDER,
    MemberFilter,
    Page,
    held_plan_summary,
    members_page,
    run_progress,
)
from hrsync.store import dispose_engines, session_factory, upgrade
from hrsync.store.models import ImportRun, Member, Programme, member_search_condition


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'queries.db'}"
    upgrade(url)
    yield url
    dispose_engines()


def _seed(url: str, n: int = 300) -> tuple[int, int]:
    with session_factory(url).begin() as s:
        a, b = Programme(name="A"), Programme(name="B")
        s.add_all([a, b])
        s.flush()
        statuses = ("active", "invited", "leaver", "pending")
        rows = [
            {"programme_id": a.id, "employee_id": f"E{i:04d}", "email": f"p{i}@a.example", "first_name": f"F{i % 7}",
             "last_name": f"L{i % 13:02d}", "status": statuses[i % 4], "attributes": {"department": f"=D{i}"}}
            for i in range(n)
        ]
        rows.append({"programme_id": b.id, "employee_id": "E0001", "email": "p1@b.example", "first_name": "F1",
                     "last_name": "L01", "status": "active", "attributes": {}})
        s.execute(insert(Member), rows)
        return a.id, b.id


def _plan(session: Session, stmt: object) -> str:
    compiled = stmt.compile(session.bind, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    return " | ".join(str(r[3]) for r in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_members_page_reads_the_covering_index_in_name_order(db: str) -> None:
    a, _ = _seed(db)
    with session_factory(db)() as s:
        for flt in (MemberFilter(), MemberFilter(q="l01")):
            stmt = flt.apply(select(Member.id).where(Member.programme_id == a)).order_by(*MEMBER_ORDER).limit(50)
            plan = _plan(s, stmt)
            assert "COVERING INDEX ix_member_programme_id_sort_key" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


def test_members_page_filters_sorts_and_pages_within_the_programme(db: str) -> None:
    a, b = _seed(db)
    with session_factory(db)() as s:
        everyone = members_page(s, a, page=1, per_page=40)
        assert everyone.total == 300 and everyone.pages == 8 and len(everyone.items) == 40
        names = [(m.last_name.lower(), m.first_name.lower(), m.email_lower) for m in everyone.items]
        assert names == sorted(names)
        last = members_page(s, a, page=8, per_page=40)
        assert len(last.items) == 20 and not last.has_next and last.first_index == 281
        beyond = members_page(s, a, MemberFilter(status="leaver"), page=99, per_page=40)
        assert beyond.items == [] and beyond.total == 75
        leavers = members_page(s, a, MemberFilter(status="leaver"), per_page=200)
        assert leavers.total == 75 and {m.status for m in leavers.items} == {"leaver"}
        found = members_page(s, a, MemberFilter.of("  e0001 ", "bogus"))
        assert [m.employee_id for m in found.items] == ["E0001"] and found.total == 1  # not B's E0001
        assert members_page(s, b).total == 1
        both = members_page(s, a, MemberFilter(q="L01", status="invited"), per_page=200)
        expected = s.scalar(select(func.count()).select_from(Member).where(
            Member.programme_id == a, Member.status == "invited", member_search_condition("L01")))
        assert both.total == expected and all(m.status == "invited" for m in both.items)


def test_members_csv_is_the_filter_in_order_and_formula_safe(db: str) -> None:
    a, _ = _seed(db)
    text_ = "".join(members_csv_lines(a, MemberFilter(status="pending"), url=db))
    rows = list(csv.reader(io.StringIO(text_, newline=""), strict=True))
    assert len(rows) == 1 + 75
    status, department = rows[0].index("Status"), rows[0].index("Department")
    assert {r[status] for r in rows[1:]} == {"Pending (pre-hire)"}  # the words the members list shows
    assert all(r[department].startswith("'=D") for r in rows[1:])
    keys = [(r[4], r[3]) for r in rows[1:]]  # last name, first name
    assert keys == sorted(keys)


def test_progress_percent_is_the_share_of_people_read_and_says_so_in_words() -> None:
    run = ImportRun(id=1, integration_id=2, status="queued", phase="queued", processed=0, total=None, dry_run=False)
    assert (run_progress(run).percent, run_progress(run).count_text) == (0, "")
    run.status, run.phase = "running", "fetching"
    run.processed = 120
    assert (run_progress(run).percent, run_progress(run).count_text) == (None, "120 people read")  # size unknown
    run.processed, run.total = 200, 501  # the walkthrough's numbers: 35 % was shown beside them before
    assert (run_progress(run).percent, run_progress(run).count_text) == (40, "200 of 501 people read")
    run.processed = 501
    assert run_progress(run).percent == 100
    run.phase = "applying"
    assert (run_progress(run).percent, run_progress(run).label) == (100, "Updating members…")
    run.status, run.phase = "held", "done"
    held = run_progress(run)
    assert held.percent == 100 and held.held and not held.finished
    run.status = "succeeded_with_errors"
    done = run_progress(run)
    assert done.percent == 100 and done.finished and done.to_json()["status_label"] == "Succeeded with errors"
    assert done.to_json()["count_text"] == "501 of 501 people read"


def test_page_arithmetic_and_a_defensive_held_plan_summary() -> None:
    page: Page[int] = Page(items=[1, 2], page=2, per_page=2, total=5)
    assert (page.pages, page.has_prev, page.has_next, page.first_index, page.last_index) == (3, True, True, 3, 4)
    empty: Page[int] = Page(items=[], page=1, per_page=25, total=0)
    assert (empty.pages, empty.has_next, empty.first_index) == (1, False, 0)
    run = ImportRun(id=1, integration_id=1, status="held", plan={"changes": [
        {"kind": "leaver", "employee_id": f"E{i}", "changes": {"status": ["active", "leaver"]}} for i in range(12)
    ] + ["junk"]})
    summary = held_plan_summary(run)
    assert len(summary["examples"]["leaver"]) == 10
    assert held_plan_summary(ImportRun(id=2, integration_id=1, status="held", plan=None))["examples"] == {}
