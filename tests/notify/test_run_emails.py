"""The e-mail that follows each import: summary, failure or hold, to the administrator who set it up."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from markupsafe import escape
from sqlalchemy.orm import Session, sessionmaker

from hrsync.domain.failures import FAILURES, failure
from hrsync.notify.catcher import MailCatcher
from hrsync.notify.delivery import send_due
from hrsync.notify.outbox import queue_email, queue_run_summary
from hrsync.store.models import AdminUser, ImportRun, Integration

from .helpers import PROGRAMME_NAME, Seed, outbox_rows, utc


def _run(factory: sessionmaker[Session], seed: Seed, **fields: object) -> int:
    values: dict[str, object] = {
        "integration_id": seed.integration_id,
        "programme_id": seed.programme_id,
        "status": "succeeded",
        "created": 3,
        "updated": 5,
        "unchanged": 90,
        "leavers": 2,
        "reinstated": 1,
        "pending": 4,
        "errors": 0,
        "warnings": 6,
        "finished_at": utc(2025, 4, 5, 10, 0),
    }
    values.update(fields)
    with factory.begin() as s:
        run = ImportRun(**values)
        s.add(run)
        s.flush()
        return int(run.id)


def _queue(factory: sessionmaker[Session], run_id: int) -> object:
    with factory.begin() as s:
        run = s.get(ImportRun, run_id)
        assert run is not None
        return queue_run_summary(s, run)


def test_summary_goes_to_the_owner_with_counts_by_outcome_and_a_link_to_the_run(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher
) -> None:
    run_id = _run(factory, seed)
    assert _queue(factory, run_id) is not None
    send_due(factory, smtp_url=mail.url)

    [msg] = mail.wait_for(1)
    assert msg.recipients == ("owner@acme.example",)
    assert PROGRAMME_NAME in msg.subject and "15 accounts affected" in msg.subject
    text = msg.text()
    for line in (
        "Created:               3",
        "Updated:               5",
        "Unchanged:             90",
        "Leavers:               2",
        "Reinstated:            1",
        "Pre-hires (pending):   4",
        "Errors:   0",
        "Warnings: 6",
    ):
        assert line in text, line
    link = f"http://portal.test/integrations/{seed.integration_id}/runs/{run_id}"
    assert link in text and link in msg.html()
    assert "05/04/2025" in text  # the integration's date format


def test_summary_with_errors_says_so(factory: sessionmaker[Session], seed: Seed) -> None:
    row = _queue(factory, _run(factory, seed, status="succeeded_with_errors", errors=7))
    assert row is not None
    assert "finished with errors" in row.subject  # type: ignore[attr-defined]
    assert "Errors:   7 (those people were skipped" in row.body_text  # type: ignore[attr-defined]


def test_failed_run_gets_a_distinct_email_with_the_reason_and_what_to_do(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    reason = "intelliHR rejected the API key (401 NotAuthenticated)"
    row = _queue(factory, _run(factory, seed, status="failed", reason=reason, failure_code="bad_key"))
    assert row is not None
    assert row.kind == "run_failed"  # type: ignore[attr-defined]
    assert "FAILED" in row.subject  # type: ignore[attr-defined]
    assert reason in row.body_text and "Re-authorize" in row.body_text  # type: ignore[attr-defined]
    assert "No members were changed" in row.body_text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "note"),
    [
        ("bad_key", "needs a change by an administrator"),
        ("unknown_tenant", "needs a change by an administrator"),
        ("unreachable", "usually fixes itself"),
        ("malformed_response", "usually fixes itself"),
        ("worker_lost", "problem in hrsync itself"),
        (None, "problem in hrsync itself"),  # a run recorded before failure codes existed
        ("a_code_nobody_knows", "problem in hrsync itself"),
    ],
)
def test_failed_run_email_gives_the_failure_tables_advice_for_the_runs_code(
    factory: sessionmaker[Session], seed: Seed, mail: MailCatcher, code: str | None, note: str
) -> None:
    # The advice comes from the run's failure code, never from the wording of its reason.
    reason = "The HR system answered 401 Unauthorized; the connection timed out."
    run_id = _run(factory, seed, status="failed", reason=reason, failure_code=code)
    assert _queue(factory, run_id) is not None
    send_due(factory, smtp_url=mail.url)

    [msg] = mail.wait_for(1)
    row = failure(code)
    advice = row.advice_for("intelliHR")
    text, page = " ".join(msg.text().split()), " ".join(msg.html().split())
    assert reason in text and note in text and advice in text
    assert str(escape(reason)) in page and str(escape(note)) in page and str(escape(advice)) in page
    others = {f.advice for f in FAILURES.values()} - {row.advice}
    assert not any(other.replace("{source}", "intelliHR") in msg.text() for other in others)


def test_held_run_says_why_and_how_to_approve_or_reject(factory: sessionmaker[Session], seed: Seed) -> None:
    reason = "The import would make 45% of members leavers (threshold 10%)."
    row = _queue(factory, _run(factory, seed, status="held", reason=reason, leavers=45))
    assert row is not None
    assert row.kind == "run_held"  # type: ignore[attr-defined]
    assert reason in row.body_text  # type: ignore[attr-defined]
    assert "approve" in row.body_text and "reject" in row.body_text  # type: ignore[attr-defined]


def test_one_email_per_run_and_kind_and_none_for_dry_or_unfinished_runs(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    run_id = _run(factory, seed, status="held", reason="too many leavers")
    assert _queue(factory, run_id) is not None
    assert _queue(factory, run_id) is None  # retried: nothing new
    with factory.begin() as s:  # approved and applied: now the summary, once
        run = s.get(ImportRun, run_id)
        assert run is not None
        run.status = "succeeded"
    assert _queue(factory, run_id) is not None
    assert _queue(factory, run_id) is None

    dry = _run(factory, seed, dry_run=True, integration_id=seed.integration_id, status="succeeded")
    running = _run(factory, seed, status="rejected")
    assert _queue(factory, dry) is None and _queue(factory, running) is None
    assert [r.kind for r in outbox_rows(factory)] == ["run_held", "run_summary"]


def test_without_an_owner_the_admin_who_started_the_run_is_told(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    with factory.begin() as s:
        starter = AdminUser(programme_id=seed.programme_id, email="starter@acme.example")
        s.add(starter)
        integration = s.get(Integration, seed.integration_id)
        assert integration is not None
        integration.owner_id = None
        s.flush()
        starter_id = starter.id
    row = _queue(factory, _run(factory, seed, triggered_by_id=starter_id))
    assert row is not None and row.to_address == "starter@acme.example"  # type: ignore[attr-defined]


def test_cli_outbox_send_prints_counts(
    db_url: str,
    factory: sessionmaker[Session],
    seed: Seed,
    mail: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hrsync.cli.main import cli
    from hrsync.config import reset_settings_cache

    with factory.begin() as s:
        for i in range(2):
            queue_email(
                s,
                programme_id=seed.programme_id,
                kind="run_summary",
                to=f"a{i}@b.test",
                subject="s",
                text="t",
                html=None,
                dedup_key=f"k{i}",
            )
    monkeypatch.setenv("HRSYNC_DATABASE_URL", db_url)
    reset_settings_cache()
    runner = CliRunner()

    unconfigured = runner.invoke(cli, ["outbox", "send", "--json"])
    assert unconfigured.exit_code == 0, unconfigured.output
    assert json.loads(unconfigured.stdout)["still_queued"] == 2

    monkeypatch.setenv("HRSYNC_SMTP_URL", mail.url)
    reset_settings_cache()
    result = runner.invoke(cli, ["outbox", "send", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["sent"], payload["failed"], payload["still_queued"]) == (2, 0, 0)
    assert len(mail.wait_for(2)) == 2

    status = runner.invoke(cli, ["outbox", "status", "--json"])
    assert json.loads(status.stdout)["by_status"]["sent"] == 2
    human = runner.invoke(cli, ["outbox", "send"])
    assert human.exit_code == 0 and "sent 0" in human.stdout


def test_two_integrations_of_one_programme_have_subjects_that_name_each(
    factory: sessionmaker[Session], seed: Seed
) -> None:
    """Both integrations' first import is #1: the subject names the integration, so they never read alike."""
    with factory.begin() as s:
        owner = s.get(AdminUser, seed.admin_id)
        other = Integration(programme_id=seed.programme_id, owner=owner, settings={"subdomain": "acme-nz"},
                            status="live", date_format="DD/MM/YYYY")
        s.add(other)
        s.flush()
        other_id = other.id
    first = _run(factory, seed, number=1)
    second = _run(factory, seed, integration_id=other_id, number=1)
    for run_id in (first, second):
        assert _queue(factory, run_id) is not None
    subjects = {row.run_id: row.subject for row in outbox_rows(factory)}
    assert subjects[first] != subjects[second]
    assert "intelliHR (acme) import #1 finished" in subjects[first]
    assert "intelliHR (acme-nz) import #1 finished" in subjects[second]
