"""A membership-file integration set up and imported in the portal over real HTTP: Explore → Initial
setup → File (upload) → Mapping (columns matched, first rows shown) → Review (queued preview) →
Publish → Upload a file and import; and every kind of bad file refused on the page, nothing stored."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.web.conftest import Portal, csrf_of, wait_until

FORMULA = '=HYPERLINK("http://evil.test","click")'
HEADER = "Employee Number;Work E-mail;Given name;Surname;Department;Employment Status"
ROWS = [
    'E001;elodie@acme.test;Élodie;Dupré;"Sales, North";Current Staff',
    "E002;zoe@acme.test;Zoë;O'Brien;Ops;Current Staff",
    'E003;formula@acme.test;Eve;Formula;"=HYPERLINK(""http://evil.test"",""click"")";Current Staff',
    "E004;jo@acme.test;Jo;Bloggs;Ops;Upcoming Staff",
]
GOOD = ("\ufeff" + "\r\n".join([HEADER, *ROWS]) + "\r\n").encode()
MAPPED = {"employee_id": "Employee Number", "email": "Work E-mail", "first_name": "Given name",
          "last_name": "Surname", "department": "Department"}


def _integration(integration_id: int) -> Any:
    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        session.expunge(integration)
        return integration


def _run(run_id: int) -> Any:
    from hrsync.store.db import session_scope
    from hrsync.store.models import ImportRun

    with session_scope() as session:
        run = session.get(ImportRun, run_id)
        session.expunge(run)
        return run


def _folder(portal: Portal, integration_id: int) -> Path:
    return portal.data_dir / "drop" / str(integration_id)


def _waiting(portal: Portal, integration_id: int) -> list[str]:
    folder = _folder(portal, integration_id)
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def _start(portal: Portal, client: httpx.Client) -> int:
    data = {"frequency": "daily", "schedule_time": "05:00", "date_format": "DD/MM/YYYY", "welcome_email": "on"}
    response = portal.post_form(client, "/integrations/new/membership_file", "/integrations/new/membership_file",
                                data)
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/integrations/(\d+)/setup/file", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def _upload(client: httpx.Client, page: str, action: str, name: str, body: bytes) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token}, files={"file": (name, body, "text/csv")})


@pytest.fixture(scope="module")
def admin_email(portal: Portal) -> str:
    return portal.new_admin(programme="File Co")[2]


def test_explore_lists_the_membership_file_from_the_registry_under_its_search_words(
    portal: Portal, admin_email: str
) -> None:
    client = portal.sign_in(admin_email)
    everything = client.get("/integrations", params={"tab": "explore"}).text
    assert 'data-integration="intellihr"' in everything and 'data-integration="membership_file"' in everything
    assert "Membership file (CSV / SFTP)" in everything
    for word in ("csv", "file", "SFTP", "spreadsheet"):
        found = client.get("/integrations", params={"tab": "explore", "q": word}).text
        assert 'href="/integrations/new/membership_file"' in found, word
        assert 'data-integration="intellihr"' not in found, word
    setup = client.get("/integrations/new/membership_file")
    assert setup.status_code == 200
    assert "Set up Membership file (CSV / SFTP)" in html.unescape(setup.text)
    assert "newest file waiting in the drop folder" in setup.text


def test_the_file_wizard_uploads_matches_columns_previews_publishes_and_imports(
    portal: Portal, admin_email: str, worker: object
) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    draft = _integration(integration_id)
    assert (draft.kind, draft.status, draft.wizard_step) == ("membership_file", "draft", "file")
    assert (draft.frequency, draft.schedule_time) == ("daily", "05:00")

    # Mapping before any file: back to the File step.
    early = client.get(f"/integrations/{integration_id}/setup/mapping")
    assert early.status_code == 303 and early.headers["location"].endswith("/setup/file")
    file_page = client.get(f"/integrations/{integration_id}/setup/file")
    assert "File" in file_page.text and "Authorize" not in file_page.text  # the File step replaces it
    assert str(_folder(portal, integration_id)) in file_page.text  # where SFTP delivers

    uploaded = _upload(client, f"/integrations/{integration_id}/setup/file",
                       f"/integrations/{integration_id}/setup/file", "staff march.csv", GOOD)
    assert uploaded.status_code == 303, uploaded.text[:2000]
    assert uploaded.headers["location"] == f"/integrations/{integration_id}/setup/mapping"
    assert _waiting(portal, integration_id) == ["staff march.csv"]
    assert _integration(integration_id).wizard_step == "mapping"
    again = client.get(f"/integrations/{integration_id}/setup/file").text
    assert "staff march.csv" in again and "4 rows" in again and "6 columns" in again

    mapping = client.get(f"/integrations/{integration_id}/setup/mapping")
    assert mapping.status_code == 200
    text = html.unescape(mapping.text)
    for target, column in MAPPED.items():  # preselected by the column matching
        select = re.search(rf'<select id="map-{target}".*?</select>', text, re.S)
        assert select and f'<option value="{column}" selected>' in select.group(0), target
    assert "Column in your file" in text
    preview = re.search(r"<table class=\"file-preview\">.*?</table>", mapping.text, re.S)
    assert preview
    assert "Élodie" in preview.group(0) and "Sales, North" in preview.group(0)
    assert f"<td>{FORMULA}</td>" in html.unescape(preview.group(0))  # the cell as text...
    assert FORMULA not in preview.group(0)  # ...escaped, never markup

    saved = portal.post_form(client, f"/integrations/{integration_id}/setup/mapping",
                             f"/integrations/{integration_id}/setup/mapping",
                             {f"map.{k}": v for k, v in MAPPED.items()})
    assert saved.status_code == 303, saved.text[:3000]
    assert saved.headers["location"].endswith("/setup/review")

    review = client.get(f"/integrations/{integration_id}/setup/review").text
    assert "staff march.csv" in review and "data-preview-start" in review and "data-autosubmit" not in review
    queued = portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                              f"/integrations/{integration_id}/setup/preview")
    assert queued.status_code == 303
    done = wait_until(lambda: (page := client.get(f"/integrations/{integration_id}/setup/review"))
                      and "data-preview-counts" in page.text and page, what="the preview")
    assert re.search(r'data-count="created">3<', done.text) and re.search(r'data-count="pending">1<', done.text)
    assert _waiting(portal, integration_id) == ["staff march.csv"]  # a dry run leaves the file

    published = portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                                 f"/integrations/{integration_id}/setup/publish")
    assert published.headers["location"] == f"/integrations/{integration_id}"
    dashboard = client.get(f"/integrations/{integration_id}")
    assert "Membership file (CSV / SFTP) is live." in html.unescape(dashboard.text)
    assert "Upload a file and import" in dashboard.text and 'enctype="multipart/form-data"' in dashboard.text

    second = GOOD.replace(b"Ops;Upcoming Staff", b"Ops;Current Staff")
    started = _upload(client, f"/integrations/{integration_id}", f"/integrations/{integration_id}/upload",
                      "staff april.csv", second)
    assert started.status_code == 303, started.text[:2000]
    match = re.fullmatch(rf"/integrations/{integration_id}/import\?run=(\d+)", started.headers["location"])
    assert match
    progress_page = client.get(started.headers["location"]).text
    assert "data-progress-url" in progress_page
    run_id = int(match.group(1))
    run = wait_until(lambda: (r := _run(run_id)) and r.status not in ("queued", "running") and r, what="the import")
    assert run.status == "succeeded" and run.created == 4 and not run.dry_run, (run.status, run.reason)
    assert _waiting(portal, integration_id) == []  # imported (and the older file superseded)
    history = client.get(f"/integrations/{integration_id}/runs").text
    assert f"/runs/{run_id}" in history
    members = client.get("/members", params={"q": "Élodie"}).text
    assert "elodie@acme.test" in members or "Élodie" in html.unescape(members)


BAD_FILES = [
    ("latin1.csv", "Employee Number,Work E-mail\nE1,Zoë@acme.test\n".encode("latin-1"), "bad_encoding", "not UTF-8"),
    ("utf16.csv", "Employee Number,Work E-mail\n".encode("utf-16"), "bad_encoding", "UTF-16"),
    ("dupes.csv", b"Employee Number;Email;Email\nE1;a@acme.test;b\n", "duplicate_header", "two columns named"),
    ("noheader.csv", b";;\nE1;a@acme.test;x\n", "bad_file", "no header row"),
    ("empty.csv", b"", "bad_file", "is empty"),
    ("staff.xlsx", b"PK\x03\x04 not a csv", "bad_file", "is not a CSV file"),
    ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "bad_file", "binary"),
]


@pytest.mark.parametrize(("name", "body", "code", "words"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_refused_on_the_file_step_and_nothing_is_stored(
    portal: Portal, admin_email: str, name: str, body: bytes, code: str, words: str
) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    page = f"/integrations/{integration_id}/setup/file"
    response = _upload(client, page, page, name, body)
    assert response.status_code == 400
    assert f'data-upload-error="{code}"' in response.text
    assert words in html.unescape(response.text)
    assert "The file was not stored." in response.text
    assert _waiting(portal, integration_id) == []
    assert _integration(integration_id).wizard_step == "file"


def test_a_file_over_the_size_limit_is_refused(portal: Portal, admin_email: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from hrsync.config import reset_settings_cache

    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    monkeypatch.setenv("HRSYNC_FILE_MAX_BYTES", "1000")
    reset_settings_cache()
    try:
        page = f"/integrations/{integration_id}/setup/file"
        response = _upload(client, page, page, "big.csv", b"Employee Number,Email\n" + b"E1,a@acme.test\n" * 100)
    finally:
        monkeypatch.delenv("HRSYNC_FILE_MAX_BYTES")
        reset_settings_cache()
    assert response.status_code == 400
    assert 'data-upload-error="file_too_large"' in response.text
    assert "more than the" in response.text
    assert _waiting(portal, integration_id) == []


def test_no_file_chosen_and_none_waiting_asks_for_one(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    page = f"/integrations/{integration_id}/setup/file"
    # before any upload: plain words, not "the folder /…/drop/N does not exist"
    waiting = re.search(r"data-waiting-problem>([^<]*)<", client.get(page).text)
    assert waiting is not None and waiting.group(1) == "No file has been uploaded yet: choose one above."
    response = portal.post_form(client, page, page)
    assert response.status_code == 400 and "Choose a CSV file to upload." in response.text


def test_a_live_integrations_upload_without_the_mapped_columns_is_refused(
    portal: Portal, admin_email: str
) -> None:
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    page = f"/integrations/{integration_id}/setup/file"
    assert _upload(client, page, page, "first.csv", GOOD).status_code == 303
    portal.post_form(client, f"/integrations/{integration_id}/setup/mapping",
                     f"/integrations/{integration_id}/setup/mapping", {f"map.{k}": v for k, v in MAPPED.items()})
    portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                     f"/integrations/{integration_id}/setup/publish")
    assert _integration(integration_id).status == "live"
    before = _waiting(portal, integration_id)
    refused = _upload(client, f"/integrations/{integration_id}", f"/integrations/{integration_id}/upload",
                      "renamed.csv", b"Staff no;Work E-mail\nE1;a@acme.test\n")
    assert refused.headers["location"] == f"/integrations/{integration_id}"
    shown = html.unescape(client.get(refused.headers["location"]).text)
    assert "has no column 'Employee Number' (mapped to Employee ID)" in shown
    assert _waiting(portal, integration_id) == before


def test_an_intellihr_integration_takes_no_file(portal: Portal, admin_email: str) -> None:
    client = portal.sign_in(admin_email)
    data = {"frequency": "manual", "date_format": "DD/MM/YYYY"}
    created = portal.post_form(client, "/integrations/new/intellihr", "/integrations/new/intellihr", data)
    integration_id = int(created.headers["location"].split("/")[2])
    assert client.get(f"/integrations/{integration_id}/setup/file").status_code == 404


def test_the_api_says_a_file_integration_has_access_until_it_is_revoked(portal: Portal, admin_email: str) -> None:
    from hrsync.services.api_tokens import create_api_token
    from hrsync.services.programmes import admin_by_email
    from hrsync.store.db import session_scope
    from hrsync.store.models import Integration

    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    with session_scope() as session:
        integration = session.get(Integration, integration_id)
        owner = admin_by_email(session, integration.programme_id, admin_email)
        assert owner is not None
        raw, _ = create_api_token(session, integration.programme_id, "has-access check", created_by=owner)
    api = portal.client()
    api.headers["Authorization"] = f"Bearer {raw}"

    def has_access() -> bool:
        answer = api.get(f"/api/v1/integrations/{integration_id}")
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["has_access"])

    assert has_access()  # no key is needed: the drop folder is ready (created by the first upload)
    with session_scope() as session:
        session.get(Integration, integration_id).status = "revoked"
    assert not has_access()


def test_a_file_name_too_long_for_the_folder_is_refused_clearly(portal: Portal, admin_email: str) -> None:
    """A 300-byte name (the file system's limit is 255) was a reset connection; now both upload
    forms say what to do, and nothing is stored."""
    long_name = "staff-list-" + "x" * 290 + ".csv"  # 305 bytes
    client = portal.sign_in(admin_email)
    integration_id = _start(portal, client)
    page = f"/integrations/{integration_id}/setup/file"
    refused = _upload(client, page, page, long_name, GOOD)
    assert refused.status_code == 400 and 'data-upload-error="bad_file"' in refused.text
    assert "is too long" in html.unescape(refused.text) and "The file was not stored." in refused.text
    assert _waiting(portal, integration_id) == []
    assert _upload(client, page, page, "first.csv", GOOD).status_code == 303
    portal.post_form(client, f"/integrations/{integration_id}/setup/mapping",
                     f"/integrations/{integration_id}/setup/mapping", {f"map.{k}": v for k, v in MAPPED.items()})
    portal.post_form(client, f"/integrations/{integration_id}/setup/review",
                     f"/integrations/{integration_id}/setup/publish")
    before = _waiting(portal, integration_id)
    dashboard = f"/integrations/{integration_id}"
    again = _upload(client, dashboard, f"{dashboard}/upload", long_name, GOOD)
    assert again.status_code == 303 and again.headers["location"] == dashboard
    assert "is too long" in html.unescape(client.get(dashboard).text)
    assert _waiting(portal, integration_id) == before
