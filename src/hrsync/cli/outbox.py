"""``hrsync outbox ...``: deliver and inspect queued e-mail, run the demo mail catcher.

Also registers ``hrsync closedown`` (the daily leaver close-down and pre-hire catch-up), which
is what queues most of the mail ``outbox send`` later delivers.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import click

from hrsync.cli.main import cli, emit, fail
from hrsync.config import get_settings


@cli.group("outbox")
def outbox() -> None:
    """Queued e-mails: deliver what is due, show what is waiting."""


@outbox.command("send")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="At most this many e-mails.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def send(limit: int, as_json: bool) -> None:
    """Deliver every e-mail that is due (retries, reminders, pre-hire invitations).

    Without HRSYNC_SMTP_URL, or with the server down, nothing is lost: the e-mails stay queued
    and the command still exits 0, saying why.
    """
    from hrsync.notify.delivery import send_due
    from hrsync.store.db import session_factory

    report = send_due(session_factory(), limit=limit)
    payload = report.to_dict()
    if report.skipped:
        human = f"nothing sent: {report.skipped}; {report.still_queued} e-mail(s) waiting"
    else:
        human = (
            f"sent {report.sent}, retrying later {report.retrying}, failed {report.failed}, "
            f"still due {report.still_queued}"
        )
        if report.last_error:
            human += f" (last error: {report.last_error})"
    emit(payload, as_json, human)


@outbox.command("status")
@click.option("--programme", "programme_id", type=int, default=None, help="Only this programme's e-mails.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def status(programme_id: int | None, as_json: bool) -> None:
    """Counts by status, what is due now, and the last delivery error."""
    from hrsync.notify.delivery import outbox_backlog
    from hrsync.store.db import session_factory

    with session_factory()() as session:
        backlog = outbox_backlog(session, programme_id=programme_id)
    by_status = ", ".join(f"{k} {v}" for k, v in backlog["by_status"].items())
    human = f"{by_status}; due now {backlog['due_now']}"
    if backlog["last_error"]:
        human += f"; last error: {backlog['last_error']}"
    emit(backlog, as_json, human)


@outbox.command("catcher")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=1025, show_default=True)
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where received messages are written (default: <data_dir>/mail).",
)
def catcher(host: str, port: int, folder: Path | None) -> None:
    """Run a local mail catcher for the demo (receives everything, relays nothing) until Ctrl-C."""
    from hrsync.notify.catcher import MailCatcher

    target = folder or (get_settings().data_dir / "mail")
    mail = MailCatcher(host, port, target)
    try:
        mail.start()
    except (OSError, RuntimeError) as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    click.echo(f"mail catcher on {mail.url}, writing to {target} (Ctrl-C stops)", err=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        mail.stop()


@cli.command("closedown")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run as if it were this date (default: each programme's own date).",
)
@click.option("--send/--no-send", default=True, show_default=True, help="Deliver the e-mails it queued.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def closedown(today: object, send: bool, as_json: bool) -> None:
    """Daily leaver close-down (reminders, deletion after 60 days) and pre-hire invitations.

    Safe to run any number of times a day.
    """
    from hrsync.lifecycle.closedown import run_closedown
    from hrsync.notify.delivery import send_due
    from hrsync.store.db import session_factory

    factory = session_factory()
    day: date | None = today.date() if today is not None else None  # type: ignore[attr-defined]
    counts: dict[str, object] = dict(run_closedown(factory, today=day))
    if send:
        counts["outbox"] = send_due(factory).to_dict()
    human = (
        f"leavers checked {counts['leavers_checked']}, reminders queued {counts['reminders_queued']}, "
        f"deleted {counts['deleted']}, pre-hires invited {counts['prehires_invited']}, "
        f"activated {counts['prehires_activated']}"
    )
    emit(counts, as_json, human)
