"""Import history, a run's page (impact, errors, warnings, CSV files), held-run decisions and
*Import data now* with its progress endpoint, over real HTTP against the live world."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select
from tests.web.conftest_b import World, csrf_of, leave, post_form, wait_for_decision, wait_for_run, world

from hrsync.store import session_factory
from hrsync.store.models import ActivityLog, ImportIssue, ImportRun, MemberEvent

__all__ = ["world"]


def _strict_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def test_history_lists_every_run_with_trigger_status_and_counts(world: World) -> None:
    client = world.admin_client(world.acme)
    page = client.get(f"/integrations/{world.acme.integration_id}/runs")
    assert page.status_code == 200
    run_id = world.acme.run_ids[0]
    assert f'data-run-id="{run_id}"' in page.text
    assert "Command line" in page.text  # the fixture's import was started like `hrsync import`
    assert "Succeeded with errors" in page.text
    assert f"/runs/{run_id}/errors.csv" in page.text


def test_history_is_paginated(world: World) -> None:
    client = world.admin_client(world.globex)
    first = client.get(f"/integrations/{world.globex.integration_id}/runs")
    assert first.status_code == 200
    # Two runs on one page: no pager at all; page 2 is empty but still a page.
    assert 'rel="next"' not in first.text
    second = client.get(f"/integrations/{world.globex.integration_id}/runs?page=2")
    assert second.status_code == 200
    assert "data-run-id" not in second.text


def test_run_page_shows_impact_by_change_kind_and_affected_members(world: World) -> None:
    run_id = world.acme.run_ids[0]
    with session_factory()() as session:
        created = session.scalar(
            select(MemberEvent).where(MemberEvent.run_id == run_id, MemberEvent.kind == "created").limit(1)
        )
        assert created is not None
    client = world.admin_client(world.acme)
    page = client.get(f"/integrations/{world.acme.integration_id}/runs/{run_id}")
    only_created = client.get(f"/integrations/{world.acme.integration_id}/runs/{run_id}?kind=created")
    assert page.status_code == 200
    assert "Impact on your programme" in page.text
    assert f'href="/members/{created.member_id}"' in page.text
    assert only_created.status_code == 200
    assert "chip-created" in only_created.text and "chip-pending" not in only_created.text
    # a created member's status reads as what it became ("Status: Invited"), never "Status: — → Invited"
    details = re.findall(r'<td class="small impact-details">(.*?)</td>', only_created.text, flags=re.S)
    assert details and all("— →" not in d and "invited" not in d for d in details), details[:3]
    assert any(re.search(r"Status:</span> (Invited|Active)\b", d) for d in details), details[:3]


def test_error_and_warning_files_are_strict_csv_with_the_runs_issues(world: World) -> None:
    run_id = world.acme.run_ids[0]
    with session_factory()() as session:
        expected = {
            sev: [(i.employee_id or "", i.code) for i in session.scalars(
                select(ImportIssue).where(ImportIssue.run_id == run_id, ImportIssue.severity == sev)
                .order_by(ImportIssue.id))]
            for sev in ("error", "warning")
        }
    assert expected["error"], "the simulator's directory has bad records"
    client = world.admin_client(world.acme)
    for name, severity in (("errors", "error"), ("warnings", "warning")):
        answer = client.get(f"/integrations/{world.acme.integration_id}/runs/{run_id}/{name}.csv")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.headers["content-disposition"] == f'attachment; filename="run-{run_id}-{name}.csv"'
        rows = _strict_csv(answer.content.decode("utf-8-sig"))
        assert rows[0] == ["Employee ID", "Name", "intelliHR ID", "Field", "Problem", "Message", "Problem code"]
        assert [(r[0], r[6]) for r in rows[1:]] == expected[severity]


def test_held_run_shows_why_and_can_be_rejected_with_an_activity_entry(world: World) -> None:
    held = world.held_run_id
    path = f"/integrations/{world.globex.integration_id}/runs/{held}"
    client = world.admin_client(world.globex)
    page = client.get(path)
    assert page.status_code == 200
    assert "waiting for your decision" in page.text
    assert f'action="{path}/approve"' in page.text and f'action="{path}/reject"' in page.text
    # Without the CSRF token the decision is refused and nothing changes.
    refused = client.post(f"{path}/reject", data={})
    assert refused.status_code == 403
    assert wait_for_run(held).status == "held"
    answer = post_form(client, path, f"{path}/reject")
    assert answer.status_code == 303 and answer.headers["location"] == path
    wait_for_decision(held)  # a worker applies the decision
    after = client.get(path)
    assert "Rejected" in after.text
    with session_factory()() as session:
        run = session.get(ImportRun, held)
        assert run is not None and run.status == "rejected" and run.decided_by_id == world.globex.admin_id
        log = session.scalar(select(ActivityLog).where(ActivityLog.action == "rejected_run",
                                                       ActivityLog.integration_id == world.globex.integration_id))
        assert log is not None and log.admin_id == world.globex.admin_id


def test_import_now_starts_a_run_and_the_progress_endpoint_follows_it_to_100(world: World) -> None:
    integration = world.acme.integration_id
    client = world.admin_client(world.acme)
    page = client.get(f"/integrations/{integration}/import")
    assert page.status_code == 200
    assert ">Start<" in page.text
    started = client.post(f"/integrations/{integration}/import", data={"csrf_token": csrf_of(page.text)})
    assert started.status_code == 303
    match = re.fullmatch(rf"/integrations/{integration}/import\?run=(\d+)", started.headers["location"])
    assert match, started.headers["location"]
    run_id = int(match.group(1))
    watching = client.get(started.headers["location"])
    assert watching.status_code == 200
    assert "<progress" in watching.text and 'aria-valuemax="100"' in watching.text
    seen: list[dict[str, object]] = []
    while True:
        body = client.get(f"/integrations/{integration}/runs/{run_id}/progress").json()
        seen.append(body)
        if body["finished"] or body["held"]:
            break
    assert seen[-1]["percent"] == 100 and seen[-1]["status"] == "succeeded_with_errors"
    percents = [s["percent"] for s in seen if s["percent"] is not None]
    assert percents == sorted(percents)  # the bar never goes back
    done = client.get(f"/integrations/{integration}/import?run={run_id}")
    assert "Impact on your programme" in done.text
    assert f"/runs/{run_id}/errors.csv" in done.text
    assert "<noscript>" not in done.text  # a finished run stops refreshing
    with session_factory()() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None and run.trigger == "manual" and run.triggered_by_id == world.acme.admin_id
        assert session.scalar(select(ActivityLog).where(ActivityLog.action == "imported_now",
                                                        ActivityLog.integration_id == integration)) is not None


def test_a_second_start_while_one_is_held_shows_the_held_run_instead(world: World) -> None:
    # Make a fresh held run for Globex (the fixture's one may have been rejected already).
    leave(world.sim, 70, 6)
    integration = world.globex.integration_id
    client = world.admin_client(world.globex)
    page = client.get(f"/integrations/{integration}/import")
    if ">Start<" in page.text:
        first = client.post(f"/integrations/{integration}/import", data={"csrf_token": csrf_of(page.text)})
        run_id = int(first.headers["location"].rsplit("=", 1)[1])
        assert wait_for_run(run_id).status == "held"
    again_page = client.get(f"/integrations/{integration}/import")
    assert "Held for your approval" in again_page.text
    assert ">Start<" not in again_page.text
    second = client.post(f"/integrations/{integration}/import", data={"csrf_token": csrf_of(again_page.text)})
    assert second.status_code == 303 and "?run=" in second.headers["location"]
    with session_factory()() as session:
        held = session.scalars(select(ImportRun).where(ImportRun.integration_id == integration,
                                                       ImportRun.status == "held")).all()
    assert len(held) == 1
