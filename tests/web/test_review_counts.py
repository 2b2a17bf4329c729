"""The Review step explains every person read, in human words; previews, run numbers and the
progress bar read the same everywhere (issue 12, Deliver 4). Real HTTP against the real portal,
the intelliHR simulator behind it and the embedded worker running the previews and imports."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from tests.web.conftest import API_KEY, TENANT, Portal, wait_until

INACTIVE = ("Past Staff", "No Job Records")
PEOPLE_KEYS = ("created", "updated", "unchanged", "leavers", "reinstated", "pending", "excluded", "ignored",
               "skipped")


def _setup_to_review(portal: Portal, client: httpx.Client, date_format: str = "DD/MM/YYYY") -> int:
    data = {"frequency": "manual", "schedule_time": "07:30", "weekday": "tuesday", "month_day": "1",
            "date_format": date_format, "welcome_email": "on"}
    started = portal.post_form(client, "/integrations/new/intellihr", "/integrations/new/intellihr", data)
    assert started.status_code == 303, started.text[:2000]
    match = re.fullmatch(r"/integrations/(\d+)/setup/authorize", started.headers["location"])
    assert match
    integration_id = int(match.group(1))
    authorized = portal.post_form(client, f"/integrations/{integration_id}/setup/authorize",
                                  f"/integrations/{integration_id}/authorize",
                                  {"subdomain": TENANT, "api_key": API_KEY}, headers={"Accept": "application/json"})
    assert authorized.status_code == 200, authorized.text
    step = f"/integrations/{integration_id}/setup/authorize"
    portal.post_form(client, step, step)
    form = {"map.employee_id": "employeeNumber", "map.email": "primaryEmailAddress", "map.first_name": "firstName",
            "map.last_name": "lastName", "map.date_of_birth": "dateOfBirth", "map.start_date": "job.startDate",
            "map.job_title": "job.positionTitle"}
    saved = portal.post_form(client, f"/integrations/{integration_id}/setup/mapping",
                             f"/integrations/{integration_id}/setup/mapping", form)
    assert saved.status_code == 303, saved.text[:3000]
    return integration_id


def _previews(integration_id: int) -> list[Any]:
    from hrsync.store.db import session_scope
    from hrsync.store.models import ImportRun

    with session_scope() as session:
        runs = session.query(ImportRun).filter_by(integration_id=integration_id, trigger="preview").all()
        session.expunge_all()
        return runs


def _preview(portal: Portal, client: httpx.Client, integration_id: int) -> str:
    """Ask for a preview as the review page does, and return the review page once it shows it."""
    review_url = f"/integrations/{integration_id}/setup/review"
    before = {(r.id, r.created_at) for r in _previews(integration_id)}
    queued = portal.post_form(client, review_url, f"/integrations/{integration_id}/setup/preview")
    assert queued.status_code == 303
    wait_until(lambda: [r for r in _previews(integration_id)
                        if (r.id, r.created_at) not in before and r.finished_at is not None], what="the preview")
    page = client.get(review_url).text
    assert "data-preview-counts" in page
    return page


def _count(page: str, key: str) -> int:
    found = re.search(rf'data-count="{key}">([\d,]+)<', page)
    assert found, f"no {key} count on the page"
    return int(found.group(1).replace(",", ""))


def _run(run_id: int) -> Any:
    from hrsync.store.db import session_scope
    from hrsync.store.models import ImportRun

    with session_scope() as session:
        run = session.get(ImportRun, run_id)
        session.expunge(run)
        return run


@pytest.fixture
def admin_email(portal: Portal) -> str:
    """A programme per test: one intelliHR account connects once per programme."""
    return portal.new_admin()[2]


def test_review_counts_add_up_to_the_people_read_in_human_words_and_dates(
    portal: Portal, admin_email: str, worker: object
) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _setup_to_review(portal, client)
    page = _preview(portal, client, integration_id)

    people = portal.sim.directory.people()
    inactive = sum(1 for p in people if str(p.get("employmentStatus")) in INACTIVE)
    counts = {key: _count(page, key) for key in PEOPLE_KEYS}
    # every person read is explained, once: the counts add up to the directory (445 of 500 before)
    assert sum(counts.values()) == len(people)
    sentence = re.search(r"data-people-read>([^<]+)<", page)
    assert sentence and sentence.group(1).startswith(f"{len(people)} people read: ")
    assert 0 < counts["ignored"] <= inactive
    assert f"{counts['ignored']} not imported because inactive and never members" in sentence.group(1)
    run_id = int(re.search(r'data-preview-run="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert _run(run_id).ignored == counts["ignored"]  # stored on the run, as the history keeps it

    # the mapping as the Mapping step words it, not intelliHR's API keys
    mapping = page[page.index('id="map-title"'):page.index('id="preview-title"')]
    for label, source in (("Employee ID", "Employee number"), ("Job title", "Position title"),
                          ("Start date", "Job start date"), ("Email", "Primary email address")):
        row = rf"<td>{label}[^<]*(<span[^>]*>[^<]*</span>)?</td><td>{re.escape(source)}</td>"
        assert re.search(row, mapping), label
    visible = re.sub(r"<[^>]+>", " ", page[page.index("<main"):])  # what a person reads
    for raw in ("employeeNumber", "job.positionTitle", "primaryEmailAddress", "job.startDate"):
        assert raw not in visible

    # examples with human labels and dates as chosen (DD/MM/YYYY), never ISO or snake_case
    examples = page[page.index("New members: examples"):]
    # each example names the person, as the directory names them
    names = {" ".join(str(p.get(k) or "") for k in (given, "lastName")).strip()
             for p in people for given in ("firstName", "preferredName")}
    shown = re.findall(r"<li>([^<]+?) · Employee ID", examples)
    assert shown and all(html.unescape(n) in names for n in shown), shown
    assert "Start date “" in examples and "Date of birth “" in examples
    assert re.search(r"Start date “\d{2}/\d{2}/\d{4}”", examples)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", examples)
    for snake in ("start_date", "date_of_birth", "first_name", "job_title"):
        assert snake not in visible


def test_revisiting_review_keeps_one_preview_labelled_preview_and_it_is_never_the_last_import(
    portal: Portal, admin_email: str, worker: object
) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _setup_to_review(portal, client)
    _preview(portal, client, integration_id)
    first = _previews(integration_id)
    assert len(first) == 1
    client.get(f"/integrations/{integration_id}/setup/initial")  # the administrator comes back to Review
    second = _preview(portal, client, integration_id)  # "Preview again"
    kept = _previews(integration_id)
    assert len(kept) == 1 and kept[0].created_at > first[0].created_at  # replaced, not piled up
    second_id = int(re.search(r'data-preview-run="(\d+)"', second).group(1))  # type: ignore[union-attr]
    assert second_id == kept[0].id

    history = client.get(f"/integrations/{integration_id}/runs").text
    rows = re.findall(r'<tr data-run-id="(\d+)">(.*?)</tr>', history, flags=re.S)
    assert [int(r[0]) for r in rows] == [second_id]  # one preview in the history
    row = rows[0][1]
    assert "Preview" in row and 'class="chip"' not in row  # the title says it once: no "preview" chip beside it
    assert "Import data now" not in row and "dry run" not in row
    run_page = client.get(f"/integrations/{integration_id}/runs/{second_id}").text
    assert re.search(r"<h1>Preview ", run_page) and "Preview #" not in run_page  # a preview takes no number
    assert "Import data now" not in run_page[run_page.index("<h1>"):run_page.index("</p>", run_page.index("<h1>"))]

    published = portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                                 f"/integrations/{integration_id}/setup/publish")
    assert published.status_code == 303
    import_page = client.get(f"/integrations/{integration_id}/import").text
    assert "Last import" not in import_page  # a preview is not an import (the dashboard agrees)
    assert "Preview #" not in import_page


def _import_now(portal: Portal, client: httpx.Client, integration_id: int) -> int:
    url = f"/integrations/{integration_id}/import"
    started = portal.post_form(client, url, url)
    assert started.status_code == 303, started.text[:1000]
    run_id = int(re.search(r"run=(\d+)", started.headers["location"]).group(1))  # type: ignore[union-attr]
    wait_until(lambda: _run(run_id).finished_at is not None, what=f"run {run_id}")
    return run_id


def test_two_integrations_each_number_their_own_runs_from_one(portal: Portal, worker: object) -> None:
    from hrsync.store.db import session_scope
    from hrsync.store.models import OutboxEmail

    clients, ids = [], []
    for name in ("Numbers One", "Numbers Two"):
        client = portal.sign_in(portal.new_admin(programme=name)[2])
        integration_id = _setup_to_review(portal, client)
        _preview(portal, client, integration_id)
        portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                         f"/integrations/{integration_id}/setup/publish")
        clients.append(client)
        ids.append(integration_id)
    a, b = ids
    # interleaved, so shared numbers would read #2, #4 in one history
    runs_a = [_import_now(portal, clients[0], a)]
    _import_now(portal, clients[1], b)
    runs_a.append(_import_now(portal, clients[0], a))

    # the previews take no number: the first real import of each is #1
    for client, integration_id, expected in ((clients[0], a, [2, 1]), (clients[1], b, [1])):
        history = client.get(f"/integrations/{integration_id}/runs").text
        assert [int(n) for n in re.findall(r'/runs/\d+">#(\d+)</a>', history)] == expected
        assert re.findall(r'/runs/\d+">Preview</a>', history)  # the preview is listed, by name
    assert re.search(r"<h1>Import #1 ", clients[0].get(f"/integrations/{a}/runs/{runs_a[0]}").text)
    assert re.search(r"<h1>Import #2 ", clients[0].get(f"/integrations/{a}/runs/{runs_a[1]}").text)
    with session_scope() as session:
        mails = session.query(OutboxEmail).filter(OutboxEmail.run_id.in_(runs_a))
        subjects = {row.run_id: row.subject for row in mails}
    assert "import #1 " in subjects[runs_a[0]] and "import #2 " in subjects[runs_a[1]]


def test_the_progress_percent_is_the_share_of_people_read_shown_beside_it(portal: Portal, admin_email: str) -> None:
    from hrsync.store.db import session_scope
    from hrsync.store.models import ImportRun, Integration

    client = portal.sign_in(admin_email)
    integration_id = _setup_to_review(portal, client)
    with session_scope() as session:  # a run caught while reading, as a worker leaves its row
        integration = session.get(Integration, integration_id)
        assert integration is not None
        run = ImportRun(integration_id=integration_id, programme_id=integration.programme_id, number=99,
                        trigger="manual", dry_run=True, status="running", phase="fetching", processed=200, total=501)
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        page = client.get(f"/integrations/{integration_id}/import?run={run_id}").text
        percent = int(re.search(r'data-progress-percent aria-hidden="true">(\d+) %<', page).group(1))  # type: ignore[union-attr]
        count = re.search(r"data-progress-count>([\d,]+) of ([\d,]+) people read<", page)
        assert count is not None
        processed, total = (int(g.replace(",", "")) for g in count.groups())
        assert (processed, total) == (200, 501)
        assert percent == round(100 * processed / total) == 40  # 35 % was shown beside "200 of 501" before
        assert f'value="{percent}"' in page
        body = client.get(f"/integrations/{integration_id}/runs/{run_id}/progress").json()
        assert (body["percent"], body["count_text"]) == (40, "200 of 501 people read")
    finally:
        with session_scope() as session:
            session.query(ImportRun).filter(ImportRun.id == run_id).delete()
