"""Single-use links stay secret: never in the access log, never cached or sent as a Referer, never
kept usable in a failed e-mail; forgot-password does the same work for any address; and no page
opened by a link (GET) starts anything."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.notify.helpers import free_port, refusing_server
from tests.statements import recorded_statements
from tests.web.conftest import Portal, csrf_of
from tests.web.serve_process import hrsync_serve

from hrsync.config import reset_settings_cache
from hrsync.store.db import session_scope
from hrsync.store.models import ImportRun, OutboxEmail
from hrsync.web.logfilter import REDACTED, TOKEN_PATHS, redact_token_paths

ADMIN_LINK = re.compile(r"/admin/reset-password/([A-Za-z0-9_\-]{20,})")


def _reset_link(portal: Portal, email: str, client: httpx.Client | None = None) -> str:
    """Ask for an administrator's reset link and return its token, read from the queued e-mail."""
    client = client or portal.client()
    sent = portal.post_form(client, "/forgot-password", "/forgot-password", {"email": email})
    assert sent.status_code == 200
    with session_scope() as session:
        body = session.scalars(select(OutboxEmail.body_text).where(
            OutboxEmail.to_address == email, OutboxEmail.kind == "password_reset").order_by(OutboxEmail.id.desc())
        ).first()
    match = ADMIN_LINK.search(body or "")
    assert match, body
    return match.group(1)


# ------------------------------------------------------------------------------------------------
# the access log
# ------------------------------------------------------------------------------------------------


def _routes(app: Any) -> list[tuple[str, Any]]:
    """Every route of the application with its full path (included routers flattened)."""

    def walk(routes: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif hasattr(route, "path"):
                yield prefix + route.path, route

    return list(walk(app.routes, ""))


def test_every_route_with_a_token_is_redacted_in_logs(portal: Portal) -> None:
    routes = _routes(portal.app)
    assert {path for path, _ in routes if "{token}" in path} == set(TOKEN_PATHS)
    for path in TOKEN_PATHS:
        filled = path.format(token="SeCrEt-Token_123456789", kind="intellihr")  # /hooks/{kind}/{token}: any kind
        line = f'127.0.0.1:5000 - "GET {filled}?x=1 HTTP/1.1" 200'
        assert "SeCrEt" not in redact_token_paths(line) and f"/{REDACTED}?x=1" in redact_token_paths(line)
    # the query-string form of the invitation link, too
    queried = [path for path, route in routes
               if any(p.name == "token" for p in getattr(getattr(route, "dependant", None), "query_params", []))]
    assert queried, "the query-string form of the link is expected to exist"
    for path in queried:
        assert "SeCrEt" not in redact_token_paths(f"GET {path}?token=SeCrEt-Token_1&a=b HTTP/1.1")


@pytest.mark.slow
def test_hrsync_serve_never_writes_a_token_to_its_logs(portal: Portal, tmp_path: Path) -> None:
    _, _, email = portal.new_admin()
    with hrsync_serve(portal.data_dir, tmp_path) as served, httpx.Client(base_url=served.base_url) as client:
        token = _reset_link(portal, email)
        page = client.get(f"/admin/reset-password/{token}")
        assert page.status_code == 200 and "password" in page.text.lower()
        assert client.get(f"/welcome/{token}").status_code == 404  # not a member link: still logged, redacted
        client.get("/member/set-password", params={"token": token})
        client.get("/login")
    logs = served.logs()
    assert f"/admin/reset-password/{REDACTED}" in logs and f"/welcome/{REDACTED}" in logs
    assert f"/member/set-password?token={REDACTED}" in logs and "GET /login" in logs
    assert token not in logs


@pytest.mark.slow
def test_a_token_in_a_path_written_oddly_is_redacted_too(portal: Portal, tmp_path: Path) -> None:
    """Request lines as a client may send them, unresolved (``..``, ``//``, ``%``-escapes, another
    case): uvicorn logs the raw path, and the token must be in neither it nor its resolved form."""
    import http.client
    from urllib.parse import urlsplit

    _, _, email = portal.new_admin()
    token = _reset_link(portal, email)
    paths = [f"/hooks/intellihr/../{token}", f"/hooks/intellihr/./{token}", f"//hooks/intellihr/{token}",
             f"/hooks//intellihr/{token}", f"/x/../admin/reset-password/{token}", f"/%77elcome/{token}",
             f"/admin/reset-password/%2E%2E/{token}", f"/WELCOME/{token}", f"/member/set-password%3Ftoken={token}"]
    with hrsync_serve(portal.data_dir, tmp_path) as served:
        where = urlsplit(served.base_url)
        for path in paths:
            connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=60)
            try:
                connection.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
                assert connection.getresponse().status in (404, 405, 400, 403, 200, 303), path
            finally:
                connection.close()
        connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=60)
        connection.request("GET", "/login")
        connection.getresponse().read()
        connection.close()
    logs = served.logs()
    assert "GET /login" in logs and logs.count(REDACTED) >= len(paths)  # every request was logged, redacted
    assert token not in logs


# ------------------------------------------------------------------------------------------------
# headers
# ------------------------------------------------------------------------------------------------


def test_link_pages_and_portal_pages_are_not_cached_nor_sent_as_referrer(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    client = portal.client()
    token = _reset_link(portal, email)
    for path in (f"/admin/reset-password/{token}", f"/admin/accept-invite/{token}", f"/welcome/{token}",
                 f"/reset-password/{token}", "/login", "/forgot-password", "/member/login", "/no-such-page"):
        response = client.get(path)
        assert response.headers["cache-control"] == "no-store", path
        assert response.headers["referrer-policy"] == "no-referrer", path
    assert client.get("/api/v1/openapi.json").headers["cache-control"] == "no-store"
    style = client.get("/static/app.css")
    assert style.status_code == 200 and "no-store" not in style.headers.get("cache-control", "")
    assert "strict-transport-security" not in client.get("/login").headers  # http base URL: no HSTS


@pytest.fixture
def https_app(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from hrsync.web.app import create_app

    monkeypatch.setenv("HRSYNC_BASE_URL", "https://rewards.example.com")
    reset_settings_cache()
    try:
        yield create_app()
    finally:
        monkeypatch.delenv("HRSYNC_BASE_URL")
        reset_settings_cache()


def test_hsts_on_every_response_when_the_base_url_is_https(https_app: Any) -> None:
    client = TestClient(https_app, follow_redirects=False)
    for path in ("/login", "/integrations", "/static/app.css", "/api/v1/openapi.json", "/no-such-page"):
        assert client.get(path).headers["strict-transport-security"] == "max-age=31536000", path


# ------------------------------------------------------------------------------------------------
# failed e-mails keep no usable link
# ------------------------------------------------------------------------------------------------


def refuse_due_e_mails() -> None:
    """Send what is due to a real SMTP server that refuses every recipient for good (550)."""
    from hrsync.notify.delivery import send_due
    from hrsync.store.db import session_factory

    port = free_port()
    controller, _ = refusing_server(port, "550 5.1.1 no such user")
    try:
        send_due(session_factory(), smtp_url=f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()


def test_a_reset_e_mail_that_fails_for_good_keeps_no_usable_link(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    token = _reset_link(portal, email)
    assert portal.client().get(f"/admin/reset-password/{token}").status_code == 200
    refuse_due_e_mails()
    with session_scope() as session:
        row = session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == email)).one()
        assert row.status == "failed"
        stored = f"{row.subject}\n{row.body_text}\n{row.body_html}"
    assert token not in stored and "/admin/reset-password/[link removed" in stored
    page = portal.client().get(f"/admin/reset-password/{token}")  # the link died with the e-mail
    assert page.status_code in (400, 404) and 'name="password"' not in page.text


def test_a_reset_e_mail_cancelled_by_a_password_change_keeps_no_usable_link(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    first = _reset_link(portal, email)
    client = portal.client()
    page = client.get(f"/admin/reset-password/{first}")
    done = client.post(f"/admin/reset-password/{first}", data={
        "password": "a brand new passphrase", "confirm": "a brand new passphrase", "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    with session_scope() as session:
        bodies = session.scalars(select(OutboxEmail.body_text).where(OutboxEmail.to_address == email)).all()
    assert bodies and all(first not in body for body in bodies)


# ------------------------------------------------------------------------------------------------
# forgot-password: the same work for any address
# ------------------------------------------------------------------------------------------------


_SAVEPOINT_END = re.compile(r"^(RELEASE|ROLLBACK TO) SAVEPOINT \w+")


def _statements_of(portal: Portal, path: str, email: str) -> list[str]:
    """The SQL the portal runs to answer one forgot-password form (verb and table, no values)."""
    client = portal.client()
    page = client.get(path)
    with recorded_statements() as sent:
        answer = client.post(path, data={"email": email, "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200
    seen = []
    for statement in sent:
        text = " ".join(statement.split())
        text = _SAVEPOINT_END.sub("END SAVEPOINT", text)
        text = re.sub(r"SAVEPOINT \w+", "SAVEPOINT", text)
        verb = text.split(" ", 1)[0].upper()
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", text)
        seen.append(f"{verb} {table.group(1) if table else text}")
    return [s for s in seen if "csrf" not in s]


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    known = _statements_of(portal, "/forgot-password", email)
    unknown = _statements_of(portal, "/forgot-password", "nobody-at-all@example.com")
    again = _statements_of(portal, "/forgot-password", email)  # a repeat within minutes queues nothing
    assert "INSERT auth_token" in known and "INSERT outbox_email" in known
    assert sorted(set(known)) == sorted(set(unknown)) == sorted(set(again))
    with session_scope() as session:
        kept = session.scalars(select(OutboxEmail.to_address).where(
            OutboxEmail.to_address.in_([email, "nobody-at-all@example.com"]))).all()
    assert kept == [email]  # one e-mail, to the real account; the others' work was rolled back


# ------------------------------------------------------------------------------------------------
# no state change without a click
# ------------------------------------------------------------------------------------------------


def _integration_at_review(portal: Portal, client: httpx.Client) -> int:
    from tests.web.test_review_counts import _setup_to_review

    return _setup_to_review(portal, client)


def test_opening_the_review_page_starts_no_preview(portal: Portal) -> None:
    _, _, email = portal.new_admin()
    client = portal.sign_in(email)
    integration_id = _integration_at_review(portal, client)
    review = f"/integrations/{integration_id}/setup/review"

    def previews() -> int:
        with session_scope() as session:
            return len(session.scalars(select(ImportRun.id).where(ImportRun.integration_id == integration_id)).all())

    page = client.get(review, headers={"Referer": "https://evil.example/", "Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200 and "Preview the first import" in page.text
    assert "data-autosubmit" not in page.text and "data-autosubmit" not in client.get("/static/app.js").text
    assert previews() == 0
    forged = client.post(f"/integrations/{integration_id}/setup/preview")  # a cross-site form has no token
    assert forged.status_code == 403 and previews() == 0
    clicked = portal.post_form(client, review, f"/integrations/{integration_id}/setup/preview")
    assert clicked.status_code == 303 and previews() == 1
