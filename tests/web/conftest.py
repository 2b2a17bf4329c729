"""The real portal on a loopback port, a fresh SQLite file and an intelliHR simulator per module.

``portal`` (module scope) starts uvicorn in a thread on ``create_app()``; tests talk to it over
real HTTP with httpx (``portal.client()``), or drive it with Chromium. Helpers create programmes
and sign administrators in the way a browser would (reading the CSRF token from the page).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

TENANT = "demo"
API_KEY = "sim-demo-key"
PASSWORD = "correct horse battery staple"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


@dataclass
class Portal:
    base_url: str
    sim: Any
    app: Any
    data_dir: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """A fresh cookie jar: one browser."""
        client = httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=120.0)
        self.clients.append(client)
        return client

    def new_admin(self, *, programme: str | None = None, email: str | None = None,
                  password: str = PASSWORD, timezone: str = "Europe/London") -> tuple[int, int, str]:
        """A new programme and its first administrator: (programme id, admin id, e-mail)."""
        from hrsync.services.programmes import create_programme
        from hrsync.store.db import session_scope

        tag = uuid.uuid4().hex[:8]
        email = email or f"admin-{tag}@example.com"
        with session_scope() as session:
            prog, admin = create_programme(session, programme or f"Programme {tag}", admin_email=email,
                                           password=password, timezone=timezone)
            return prog.id, admin.id, email

    def sign_in(self, email: str, password: str = PASSWORD, client: httpx.Client | None = None) -> httpx.Client:
        client = client or self.client()
        page = client.get("/login")
        response = client.post("/login", data={"email": email, "password": password,
                                               "csrf_token": csrf_of(page.text), "next": "/integrations"})
        assert response.status_code == 303, response.text[:500]
        return client

    def post_form(self, client: httpx.Client, page_path: str, action: str, data: dict[str, Any] | None = None,
                  **kwargs: Any) -> httpx.Response:
        """Open ``page_path`` and submit a form to ``action`` with the page's CSRF token."""
        page = client.get(page_path)
        return client.post(action, data={**(data or {}), "csrf_token": csrf_of(page.text)}, **kwargs)

    def reset_throttle(self) -> None:
        self.app.state.login_throttle.reset()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    yield from start_portal(tmp_path_factory)


def start_portal(tmp_path_factory: pytest.TempPathFactory, **simulator: Any) -> Iterator[Portal]:
    """The portal and its simulator (``simulator``: extra ``Simulator`` options, e.g. ``employee_numbers``)."""
    import uvicorn

    from hrsync.config import reset_settings_cache
    from hrsync.simulator import Simulator
    from hrsync.store.db import dispose_engines, upgrade

    data_dir = tmp_path_factory.mktemp("portal")
    with pytest.MonkeyPatch.context() as mp, Simulator(
        people=120, seed=1, tenant=TENANT, api_key=API_KEY, port=0, **simulator
    ) as sim:
        mp.setenv("HRSYNC_DATA_DIR", str(data_dir))
        mp.setenv("HRSYNC_DATABASE_URL", f"sqlite:///{data_dir / 'hrsync.db'}")
        mp.setenv("HRSYNC_INTELLIHR_BASE_URL", sim.base_url)
        mp.delenv("HRSYNC_SECRET_KEY", raising=False)
        mp.delenv("HRSYNC_BROKER_URL", raising=False)
        mp.delenv("HRSYNC_SMTP_URL", raising=False)
        reset_settings_cache()
        dispose_engines()
        upgrade()

        from hrsync.web.app import create_app

        app = create_app()
        # The socket is bound here and handed to uvicorn: no other test (or xdist worker) can take the port
        # between choosing it and listening on it.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        port = int(listener.getsockname()[1])
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="portal", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the portal did not start")
            time.sleep(0.02)
        portal = Portal(base_url=f"http://127.0.0.1:{port}", sim=sim, app=app, data_dir=data_dir)
        try:
            yield portal
        finally:
            for client in portal.clients:
                client.close()
            server.should_exit = True
            thread.join(timeout=30)
            listener.close()
            dispose_engines()
            reset_settings_cache()


@pytest.fixture
def worker(portal: Portal) -> Iterator[Any]:
    """The embedded import worker, as ``hrsync serve`` runs it: queued runs (the wizard's preview,
    decisions on held runs) are executed on a thread."""
    from hrsync.jobs.embedded import EmbeddedScheduler
    from hrsync.store.db import session_factory

    scheduler = EmbeddedScheduler(session_factory(), send_outbox=False, closedown=False).start(loop=False)
    try:
        yield scheduler
    finally:
        scheduler.stop()


def wait_until(check: Any, *, timeout: float = 120.0, what: str = "the worker") -> Any:
    """Poll ``check()`` until it returns something truthy (the worker runs on another thread)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def sign_in_page(page: Any, base_url: str, email: str, next_path: str, password: str = PASSWORD) -> None:
    """Sign an administrator in with a Playwright page, as a person does, landing on ``next_path``."""
    page.goto(f"{base_url}/login?next={next_path}")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}")


def signed_in_page(portal: Portal, browser: Any, programme: str) -> tuple[Any, Any, list[str]]:
    """(context, page, the page's script errors) of a new programme's administrator, signed in."""
    _, _, email = portal.new_admin(programme=programme)
    context = browser.new_context(base_url=portal.base_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(60_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in_page(page, portal.base_url, email, "/integrations")
    return context, page, errors


def require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing, and CI=true requires it", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed")


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
