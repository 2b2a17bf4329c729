"""The API reference works with no internet: Swagger UI comes from this portal, not from a CDN.

Chromium opens it from the API tokens page with every request to a host other than the portal's
loopback address aborted (and recorded); the operations must render and nothing may have been blocked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.web.conftest import PASSWORD, Portal

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_docs_redirects_to_the_api_reference_served_from_our_origin(portal: Portal) -> None:
    client = portal.client()
    moved = client.get("/docs")
    assert moved.status_code in (301, 307, 308) and moved.headers["location"] == "/api/docs"
    page = client.get("/api/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    for source in sources:  # every script, style and link is on this portal
        parts = urlsplit(source)
        assert (parts.scheme, parts.netloc) in (("", ""), ("http", urlsplit(portal.base_url).netloc)), source
        if parts.path.startswith(("/api/docs/assets/", "/static/")):
            assert client.get(parts.path).status_code == 200, source
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_api_reference_renders_with_every_non_loopback_request_blocked(
    portal: Portal, browser: Any, artifacts_dir: Path
) -> None:
    from playwright.sync_api import expect

    _, _, email = portal.new_admin(programme="Docs Co")
    context = browser.new_context(base_url=portal.base_url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(60_000)
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()
    page.get_by_role("link", name="API reference").first.click()
    page.wait_for_url(re.compile(r"/api/docs$"))

    expect(page.get_by_text("Start an import (or a dry run)")).to_be_visible()
    expect(page.get_by_text("List the programme's integrations")).to_be_visible()
    page.get_by_text("Start an import (or a dry run)").click()  # an operation opens: the UI is live
    expect(page.get_by_text("Parameters").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "api-reference.png"), full_page=False)

    assert blocked == [], f"requests left the machine: {blocked}"
    assert errors == [], errors
    assert httpx.get(f"{portal.base_url}/api/v1/openapi.json").status_code == 200
    context.close()
