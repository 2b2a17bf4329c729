"""Operator endpoints over real HTTP: liveness, readiness and Prometheus metrics from the database."""

from __future__ import annotations

import re
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from tests.web.conftest import API_KEY, TENANT, Portal


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_healthz_answers_without_signing_in(portal: Portal) -> None:
    response = portal.client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(portal: Portal) -> None:
    response = portal.client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


def test_readyz_reports_an_unreachable_broker(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    from hrsync.config import reset_settings_cache

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HRSYNC_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    reset_settings_cache()
    try:
        response = portal.client().get("/readyz")
    finally:
        monkeypatch.delenv("HRSYNC_BROKER_URL")
        reset_settings_cache()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("broker unreachable")
    assert str(port) not in body["checks"]["broker"]


def test_metrics_count_imports_records_queue_and_outbox_from_the_database(portal: Portal) -> None:
    from hrsync.services.integrations import create_integration, publish
    from hrsync.store.db import session_scope
    from hrsync.store.models import AdminUser
    from hrsync.sync.execute import execute_run
    from hrsync.sync.runs import request_run

    before = _samples(portal.client().get("/metrics").text)
    succeeded_before = before.get(("hrsync_imports", (("status", "succeeded"),)), 0.0) + before.get(
        ("hrsync_imports", (("status", "succeeded_with_errors"),)), 0.0)

    email, other_email = portal.new_admin()[2], portal.new_admin()[2]  # an account is connected once per programme
    with session_scope() as session:
        admin = session.scalar(select(AdminUser).where(AdminUser.email_lower == email))
        other = session.scalar(select(AdminUser).where(AdminUser.email_lower == other_email))
        first = create_integration(session, admin.programme, admin, subdomain=TENANT, api_key=API_KEY)
        second = create_integration(session, other.programme, other, subdomain=TENANT, api_key=API_KEY)
        publish(session, first, admin)
        publish(session, second, other)
        run_id = request_run(session, first.id).id
        request_run(session, second.id)  # stays queued: nobody runs it
    outcome = execute_run(run_id)
    assert outcome is not None

    response = portal.client().get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)
    succeeded_after = after.get(("hrsync_imports", (("status", "succeeded"),)), 0.0) + after.get(
        ("hrsync_imports", (("status", "succeeded_with_errors"),)), 0.0)
    assert succeeded_after == succeeded_before + 1
    assert after[("hrsync_queue_depth", ())] >= 1
    assert after[("hrsync_imports", (("status", "queued"),))] == after[("hrsync_queue_depth", ())]
    assert after[("hrsync_records_processed_total", ())] >= before.get(("hrsync_records_processed_total", ()), 0) + 120
    assert after[("hrsync_import_duration_seconds_count", ())] >= 1
    assert ("hrsync_import_duration_seconds_bucket", (("le", "+Inf"),)) in after
    # Welcome e-mails of the import wait in the outbox (no SMTP is configured here).
    assert after[("hrsync_outbox_emails", (("status", "queued"),))] >= outcome.counts["created"]
    assert after[("hrsync_outbox_backlog", ())] >= 1
    assert re.search(r"^hrsync_database_up 1\.0$", response.text, re.MULTILINE)


def test_hrsync_serve_starts_the_portal_on_the_given_port(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HRSYNC_DATA_DIR": str(tmp_path), "HRSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    env.pop("HRSYNC_BROKER_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", "from hrsync.cli.main import main; main()", "serve", "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.json() == {"status": "ok"}
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert login.status_code == 200 and "Sign in" in login.text
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in output
    assert "embedded scheduler and import worker started" in output
