"""A portal on real uvicorn (loopback, its address in HRSYNC_BASE_URL) next to a simulator that delivers
webhooks to it, with one published intelliHR integration: what the webhook tests share."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hrsync.simulator import Simulator
from hrsync.store.models import ImportRun, Member, WebhookHint

TENANT, KEY = "hooks", "sim-key-for-webhooks-1"


@dataclass
class HookWorld:
    sim: Simulator
    base_url: str
    data_dir: Path
    integration_id: int
    admin_id: int

    def hook_urls(self) -> set[str]:
        return {s["url"] for s in self.sim.webhooks.subscriptions()}

    def hook_url(self) -> str:
        urls = self.hook_urls()
        assert len(urls) == 1, urls
        return urls.pop()

    def members(self) -> dict[str | None, Member]:
        from hrsync.store.db import session_scope

        with session_scope() as session:
            rows = session.scalars(select(Member).where(Member.integration_id == self.integration_id)).all()
            session.expunge_all()
            return {m.source_id: m for m in rows}

    def runs(self, trigger: str | None = None) -> list[ImportRun]:
        from hrsync.store.db import session_scope

        with session_scope() as session:
            stmt = select(ImportRun).where(ImportRun.integration_id == self.integration_id)
            if trigger:
                stmt = stmt.where(ImportRun.trigger == trigger)
            rows = list(session.scalars(stmt.order_by(ImportRun.id)).all())
            session.expunge_all()
            return rows

    def hints(self) -> list[WebhookHint]:
        from hrsync.store.db import session_scope

        with session_scope() as session:
            rows = list(session.scalars(select(WebhookHint).order_by(WebhookHint.id)).all())
            session.expunge_all()
            return rows

    def hint_count(self) -> int:
        from hrsync.store.db import session_scope

        with session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(WebhookHint)) or 0)

    def fetches_of(self, person_id: str) -> int:
        """GET /v1/people/{id} requests the simulator answered for this person."""
        return sum(r["count"] for r in self.sim.stats.to_json()["requests"] if r["path"] == f"/v1/people/{person_id}")


def wait_until(check: Callable[[], Any], *, timeout: float = 120.0, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def start_world(tmp: Path, **env: str) -> Iterator[HookWorld]:
    import uvicorn

    from hrsync.config import reset_settings_cache
    from hrsync.services.integrations import create_integration, publish
    from hrsync.services.programmes import create_programme
    from hrsync.store.db import dispose_engines, session_scope, upgrade
    from hrsync.web.app import create_app

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    base_url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp, Simulator(people=8, seed=3, tenant=TENANT, api_key=KEY, port=0) as sim:
        for name in ("HRSYNC_SECRET_KEY", "HRSYNC_BROKER_URL", "HRSYNC_SMTP_URL", "HRSYNC_WEBHOOKS"):
            mp.delenv(name, raising=False)
        mp.setenv("HRSYNC_DATA_DIR", str(tmp))
        mp.setenv("HRSYNC_DATABASE_URL", f"sqlite:///{tmp / 'hrsync.db'}")
        mp.setenv("HRSYNC_INTELLIHR_BASE_URL", sim.base_url)
        mp.setenv("HRSYNC_BASE_URL", base_url)
        for key, value in env.items():
            mp.setenv(key, value)
        reset_settings_cache()
        dispose_engines()
        upgrade()
        server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="portal", daemon=True)
        thread.start()
        wait_until(lambda: server.started, timeout=30, what="the portal to start")
        with session_scope() as session:
            programme, admin = create_programme(session, "Hooks", admin_email="owner@hooks.test",
                                                password="a long enough password", timezone="UTC")
            integration = create_integration(session, programme, admin, subdomain=TENANT, api_key=KEY)
            publish(session, integration, admin)
            world = HookWorld(sim, base_url, tmp, integration.id, admin.id)
        try:
            yield world
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            listener.close()
            dispose_engines()
            reset_settings_cache()
