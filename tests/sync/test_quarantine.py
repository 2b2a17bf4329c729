"""Quarantine and back-off (issue 16, item 4), through the real scheduler pass, CLI and SMTP catcher.

A key the simulator refuses (401, as intelliHR answers a revoked key) fails each scheduled import
with ``bad_key``; after ``HRSYNC_QUARANTINE_AFTER`` (3) in a row the integration is quarantined:
the scheduler skips it and every owner and administrator gets one e-mail. ``hrsync integration
retry`` lifts it once an import succeeds. A rate-limited API (transient) never quarantines: the
next attempt is brought forward (5, 15, 45 minutes), never later than the regular slot.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import update

from hrsync.notify.catcher import MailCatcher
from hrsync.store.db import session_scope
from hrsync.store.models import Integration

if TYPE_CHECKING:
    from conftest import Install

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OWNER = "owner@acme.test"
ADMINISTRATOR = "admin@acme.test"
READ_ONLY = "viewer@acme.test"
DEACTIVATED = "gone@acme.test"


def _kind(mail: MailCatcher, kind: str) -> list[Any]:
    return [m for m in mail.messages if m.message.get("X-Hrsync-Kind") == kind]


def _make_due(integration_id: int) -> datetime:
    """The integration's scheduled import is due now (its slot a minute ago)."""
    due = datetime.now(UTC) - timedelta(minutes=1)
    with session_scope() as session:
        session.execute(update(Integration).where(Integration.id == integration_id).values(next_run_at=due))
    return due


def _scheduler_pass(install: Install) -> dict[str, Any]:
    """One pass of the real scheduler (embedded mode): due imports are queued and run to their end."""
    report: dict[str, Any] = install.cli_json("scheduler", "--once")
    return report


def _show(install: Install, integration_id: int) -> dict[str, Any]:
    shown: dict[str, Any] = install.cli_json("integration", "show", str(integration_id))
    return shown


def _runs(install: Install, integration_id: int) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = install.cli_json("runs", str(integration_id))
    return runs


def _at(text: str | None) -> datetime:
    assert text, "no next_run_at"
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_revoked_key_quarantines_after_three_scheduled_runs_and_emails_everyone_once(
    install: Install, mail: MailCatcher
) -> None:
    integration = install.setup_integration("--frequency", "daily")
    install.cli_json("admin", "invite", "--programme", "Acme", ADMINISTRATOR, "--role", "administrator")
    install.cli_json("admin", "invite", "--programme", "Acme", READ_ONLY, "--role", "read-only")
    install.cli_json("admin", "invite", "--programme", "Acme", DEACTIVATED, "--role", "owner")
    install.cli_json("admin", "deactivate", "--programme", "Acme", DEACTIVATED)
    first = install.cli_json("import", str(integration))
    assert first["status"] in ("succeeded", "succeeded_with_errors")
    install.sim.faults.add("refused", status=401, times=None)  # the key was revoked in intelliHR

    for n in (1, 2, 3):
        _make_due(integration)
        report = _scheduler_pass(install)
        assert len(report["scheduled"]["queued"]) == 1, report
        newest = _runs(install, integration)[0]
        assert newest["status"] == "failed" and newest["trigger"] == "schedule", newest
        shown = _show(install, integration)
        assert shown["consecutive_config_failures"] == n
        if n < 3:
            assert shown["quarantined_at"] is None
            assert shown["next_run_at"] is not None  # still scheduled, at the regular slot
    shown = _show(install, integration)
    assert shown["quarantined_at"] is not None and shown["next_run_at"] is None

    install.cli_json("outbox", "send")
    notices = _kind(mail, "integration_quarantined")
    assert sorted(m.recipients[0] for m in notices) == sorted([OWNER, ADMINISTRATOR]), [m.recipients for m in notices]
    text = notices[0].text()
    assert "3 imports in a row" in text and "Re-authorize the integration" in text, text
    assert f"/integrations/{integration}" in text

    # the scheduler now skips it, even when a slot is (wrongly) due
    _make_due(integration)
    report = _scheduler_pass(install)
    assert report["scheduled"]["queued"] == [], report
    # a fourth failure (someone imports by hand) e-mails nobody again
    install.cli_json("import", str(integration), expect=1)
    install.cli_json("outbox", "send")
    assert len(_kind(mail, "integration_quarantined")) == 2
    assert _show(install, integration)["consecutive_config_failures"] == 4

    # Retry now while the key is still refused: it stays quarantined, with the new failure
    failed = install.cli_json("integration", "retry", str(integration), expect=1)
    assert failed["status"] == "failed" and failed["failure_code"] == "bad_key"
    assert _show(install, integration)["quarantined_at"] is not None

    # the key works again: Retry now lifts it and the schedule resumes
    install.sim.faults.clear()
    done = install.cli_json("integration", "retry", str(integration))
    assert done["status"] in ("succeeded", "succeeded_with_errors")
    shown = _show(install, integration)
    assert shown["quarantined_at"] is None and shown["consecutive_config_failures"] == 0
    assert _at(shown["next_run_at"]) > datetime.now(UTC) + timedelta(hours=1)  # the next daily slot
    install.cli_json("outbox", "send")
    assert len(_kind(mail, "integration_quarantined")) == 2

    # nothing to retry any more
    refused = install.cli_json("integration", "retry", str(integration), expect=2)
    assert "not quarantined" in refused["error"]


def test_transient_failures_retry_sooner_and_never_quarantine(install: Install, mail: MailCatcher) -> None:
    integration = install.setup_integration("--frequency", "daily")
    install.cli_json("import", str(integration))
    regular = _at(_show(install, integration)["next_run_at"])
    # intelliHR rate-limits with a wait longer than the import's retry budget: the run fails as transient
    install.sim.faults.add("rate_limit", times=None, retry_after=3600)

    steps = []
    for _ in range(5):  # well past the quarantine threshold
        _make_due(integration)
        before = datetime.now(UTC)
        report = _scheduler_pass(install)
        assert len(report["scheduled"]["queued"]) == 1, report
        newest = _runs(install, integration)[0]
        assert newest["status"] == "failed", newest
        shown = _show(install, integration)
        assert shown["quarantined_at"] is None
        assert shown["consecutive_config_failures"] == 0
        steps.append(_at(shown["next_run_at"]) - before)
        regular = max(regular, before)
    # 5, 15, 45 minutes after the failure; then capped at the regular daily slot (within a day)
    for got, minutes in zip(steps[:3], (5, 15, 45), strict=True):
        assert timedelta(minutes=minutes) <= got <= timedelta(minutes=minutes, seconds=60), steps
    assert steps[3] <= timedelta(days=1) and steps[4] <= timedelta(days=1), steps
    assert steps[3] >= timedelta(minutes=45), steps
    install.cli_json("outbox", "send")
    assert _kind(mail, "integration_quarantined") == []

    # a success: back to the regular schedule, the streak forgotten
    install.sim.faults.clear()
    _make_due(integration)
    _scheduler_pass(install)
    assert _runs(install, integration)[0]["status"] in ("succeeded", "succeeded_with_errors")
    shown = _show(install, integration)
    assert shown["consecutive_transient_failures"] == 0
    assert _at(shown["next_run_at"]) > datetime.now(UTC) + timedelta(hours=1)
    kinds = Counter(str(m.message.get("X-Hrsync-Kind")) for m in mail.messages)
    assert kinds["integration_quarantined"] == 0
