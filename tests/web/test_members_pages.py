"""The members page: search, status filter, paging, the member's record and the CSV export."""

from __future__ import annotations

import csv
import io

from sqlalchemy import update
from tests.web.conftest_b import World, members_of, world

from hrsync.store import session_scope
from hrsync.store.models import Member

__all__ = ["world"]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def test_members_are_listed_by_name_with_status_counts_and_paging(world: World) -> None:
    client = world.admin_client(world.acme)
    first = client.get("/members")
    assert first.status_code == 200
    everyone = [m for m in members_of(world.acme.programme_id)]
    assert f"{len(everyone):,} members" in first.text
    assert 'rel="next"' in first.text  # 50 a page, more than 50 members
    second = client.get("/members?page=2")
    assert second.status_code == 200 and 'rel="prev"' in second.text
    ordered = sorted(everyone, key=lambda m: (m.last_name or "", m.first_name or "", m.email_lower or ""))
    assert f'href="/members/{ordered[0].id}"' in first.text
    assert f'href="/members/{ordered[50].id}"' in second.text and f'href="/members/{ordered[50].id}"' not in first.text


def test_search_finds_by_name_email_and_employee_id(world: World) -> None:
    client = world.admin_client(world.acme)
    target = next(m for m in members_of(world.acme.programme_id) if m.status == "invited")
    for term in (target.employee_id, target.email.upper(), target.last_name):
        page = client.get("/members", params={"q": term})
        assert page.status_code == 200
        assert f'href="/members/{target.id}"' in page.text, term
    nobody = client.get("/members", params={"q": "zz-no-such-person-zz"})
    assert "Nobody matches" in nobody.text


def test_status_filter_shows_only_that_status(world: World) -> None:
    client = world.admin_client(world.acme)
    pending = [m for m in members_of(world.acme.programme_id) if m.status == "pending"]
    invited = [m for m in members_of(world.acme.programme_id) if m.status == "invited"]
    assert pending and invited
    page = client.get("/members", params={"status": "pending"})
    assert f"{len(pending):,} member" in page.text
    assert all(f'href="/members/{m.id}"' in page.text for m in pending)
    assert f'href="/members/{invited[0].id}"' not in page.text
    ignored = client.get("/members", params={"status": "<script>"})
    assert ignored.status_code == 200 and "<script>" not in ignored.text


def test_export_streams_the_current_filter_as_formula_safe_csv(world: World) -> None:
    with session_scope() as session:
        victim = session.query(Member).filter(Member.programme_id == world.acme.programme_id,
                                              Member.status == "invited").order_by(Member.id).first()
        assert victim is not None
        session.execute(update(Member).where(Member.id == victim.id)
                        .values(attributes={**(victim.attributes or {}), "department": "=HYPERLINK(\"x\")"}))
        victim_id, victim_emp = victim.id, victim.employee_id
    client = world.admin_client(world.acme)
    everything = client.get("/members/export.csv")
    assert everything.status_code == 200
    assert everything.headers["content-type"] == "text/csv; charset=utf-8"
    assert everything.headers["content-disposition"].startswith('attachment; filename="members-')
    assert everything.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: spreadsheets read it as UTF-8
    rows = _rows(everything.content.decode("utf-8-sig"))
    header = rows[0]
    assert header[:5] == ["Employee ID", "Name", "Email", "First name", "Last name"]
    assert len(rows) - 1 == len(members_of(world.acme.programme_id))
    department, status = header.index("Department"), header.index("Status")
    victim_row = next(r for r in rows[1:] if r[0] == victim_emp)
    assert victim_row[department] == "'=HYPERLINK(\"x\")"
    pending = _rows(client.get("/members/export.csv", params={"status": "pending"}).content.decode("utf-8-sig"))
    assert len(pending) > 1 and {r[status] for r in pending[1:]} == {"Pending (pre-hire)"}
    one = _rows(client.get("/members/export.csv", params={"q": victim_emp}).content.decode("utf-8-sig"))
    assert [r[0] for r in one[1:]] == [victim_emp]
    assert victim_id


def test_member_record_shows_details_and_history(world: World) -> None:
    target = next(m for m in members_of(world.acme.programme_id) if m.status == "invited")
    page = world.admin_client(world.acme).get(f"/members/{target.id}")
    assert page.status_code == 200
    assert target.email in page.text and "Created by an import" in page.text
    assert f"/runs/{world.acme.run_ids[0]}" in page.text
