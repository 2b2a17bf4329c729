"""``hrsync import``, ``hrsync runs`` and ``hrsync run ...``: imports in the foreground and their history."""

from __future__ import annotations

import sys
import threading
from typing import Any

import click
from sqlalchemy import select

from hrsync.cli.common import data_session, ensure_schema, json_option
from hrsync.cli.main import EXIT_BAD_INPUT, EXIT_RUN_FAILED, cli, emit, fail
from hrsync.domain.vocabulary import COUNT_KEYS
from hrsync.services.errors import ServiceError
from hrsync.services.imports import (
    FailureAdvice,
    RunBlocked,
    RunOutcome,
    approve_run,
    execute_run,
    failure_advice,
    issues_csv_lines,
    reject_run,
    request_run,
)
from hrsync.services.integrations import get_integration
from hrsync.services.undo import INVITATIONS_NOTE, undo, undo_preview
from hrsync.store.db import session_scope
from hrsync.store.models import ImportRun, RunStatus, RunTrigger

_BAD = {RunStatus.FAILED.value, RunStatus.HELD.value}


def _human(outcome: dict[str, Any]) -> str:
    counts = ", ".join(f"{outcome[k]} {k}" for k in COUNT_KEYS)
    # The number counts per integration (#1, #2, …, as the portal shows it); commands take the id.
    number = outcome.get("number") or outcome["id"]
    kind = {"preview": "preview", "undo": "undo"}.get(str(outcome.get("trigger")), "import")
    ignored = outcome.get("ignored", 0)
    line = f"{kind} #{number} (run id {outcome['id']}) {outcome['status']}: {counts}, {ignored} ignored"
    if outcome.get("excluded"):
        line += f", {outcome['excluded']} excluded by your rules"
    return line if not outcome.get("reason") else f"{line}\n{outcome['reason']}"


def _failure(run_id: int) -> FailureAdvice | None:
    with session_scope() as session:
        run = session.get(ImportRun, run_id)
        return failure_advice(run) if run is not None else None


def _finish(outcome: RunOutcome, as_json: bool) -> None:
    """Print the outcome; a failed or held run exits 1 with its reason (and a failure's code and
    advice: ``failed (bad_key): <reason> — <advice>``) on stderr."""
    payload = outcome.to_json()
    if payload["status"] in _BAD:
        if not as_json:
            click.echo(_human(payload))
        failure = _failure(outcome.id)
        if failure is not None:
            payload.update(failure_code=failure.code, failure_kind=failure.kind, advice=failure.advice)
        message = failure.line(payload["reason"]) if failure else payload["reason"]
        title = f"import #{payload.get('number') or payload['id']}"
        fail(message or f"{title} {payload['status']}", EXIT_RUN_FAILED, payload=payload, as_json=as_json)
    emit(payload, as_json, _human(payload))


def _deliver_queued_mail() -> None:
    """`hrsync import` sends what its run queued before it exits (never failing the import)."""
    from hrsync.config import get_settings

    if not get_settings().smtp_url:
        return
    try:
        from hrsync.notify.delivery import send_due
        from hrsync.store.db import session_factory

        send_due(session_factory(), limit=10_000_000)  # everything this run queued
    except Exception as exc:  # noqa: BLE001 - mail must never fail an import
        click.echo(f"hrsync: e-mails stay queued: {type(exc).__name__}", err=True)


def _watch(run_id: int, worker: threading.Thread) -> None:
    """A progress bar on a terminal, read from the run record like any other process would."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, console=None) as bar:
        task = bar.add_task("queued", total=None)
        while worker.is_alive():
            with session_scope() as session:
                row = session.execute(
                    select(ImportRun.phase, ImportRun.processed, ImportRun.total).where(ImportRun.id == run_id)
                ).one()
            bar.update(task, description=row.phase, completed=row.processed, total=row.total)
            worker.join(0.2)


@cli.command("import")
@click.argument("integration_id", type=int)
@click.option("--dry-run", is_flag=True, help="Plan and report, change nothing.")
@json_option
def import_command(integration_id: int, dry_run: bool, as_json: bool) -> None:
    """Run an import now, in the foreground."""
    with data_session(as_json) as session:
        get_integration(session, integration_id)
        try:
            run = request_run(session, integration_id, trigger=RunTrigger.CLI.value, dry_run=dry_run)
        except RunBlocked as exc:
            fail(exc.reason, EXIT_BAD_INPUT, payload={"error": exc.reason, "run_id": exc.run_id}, as_json=as_json)
        run_id = run.id
    result: list[RunOutcome | None] = []
    worker = threading.Thread(target=lambda: result.append(execute_run(run_id)), name=f"import-{run_id}")
    worker.start()
    if not as_json and sys.stderr.isatty():
        _watch(run_id, worker)
    worker.join()
    outcome = result[0] if result else None
    if outcome is None:
        fail(f"run {run_id} was taken by another worker", EXIT_RUN_FAILED, as_json=as_json)
    if not dry_run:
        _deliver_queued_mail()
    _finish(outcome, as_json)


@cli.command("runs")
@click.argument("integration_id", type=int)
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
def runs_command(integration_id: int, limit: int, as_json: bool) -> None:
    """The import history of an integration, newest first."""
    with data_session(as_json) as session:
        get_integration(session, integration_id)
        runs = session.scalars(
            select(ImportRun).where(ImportRun.integration_id == integration_id)
            .order_by(ImportRun.id.desc()).limit(limit)
        ).all()
        payload = [
            {**RunOutcome.of(r).to_json(), "trigger": r.trigger, "created_at": r.created_at.isoformat(),
             "finished_at": r.finished_at.isoformat() if r.finished_at else None}
            for r in runs
        ]
    emit(payload, as_json, "\n".join(_human(p) for p in payload) or "no runs yet")


@cli.group("run")
def run_group() -> None:
    """Decide on a held run, undo a run, or read a run's error file."""


def _decide(action, run_id: int, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    ensure_schema()
    try:
        outcome = action(run_id)
    except ServiceError as exc:
        fail(exc.reason, EXIT_BAD_INPUT, payload={"error": exc.reason}, as_json=as_json)
    if action is approve_run:
        _deliver_queued_mail()
    emit(outcome.to_json(), as_json, _human(outcome.to_json()))


@run_group.command("approve")
@click.argument("run_id", type=int)
@json_option
def approve(run_id: int, as_json: bool) -> None:
    """Apply a held run's plan."""
    _decide(approve_run, run_id, as_json)


@run_group.command("reject")
@click.argument("run_id", type=int)
@json_option
def reject(run_id: int, as_json: bool) -> None:
    """Discard a held run's plan."""
    _decide(reject_run, run_id, as_json)


@run_group.command("errors")
@click.argument("run_id", type=int)
@click.option("--warnings", is_flag=True, help="The warnings file instead of the errors file.")
def errors(run_id: int, warnings: bool) -> None:
    """Print a run's errors (or warnings) as CSV on stdout."""
    with data_session() as session:
        if session.get(ImportRun, run_id) is None:
            fail(f"run {run_id} was not found", EXIT_BAD_INPUT)
        out = sys.stdout.buffer
        for line in issues_csv_lines(session, run_id, warnings=warnings):
            out.write(line.encode("utf-8"))
        out.flush()


@run_group.command("undo")
@click.argument("run_id", type=int)
@click.option("--dry-run", is_flag=True, help="Say what the undo would do, change nothing.")
@json_option
def undo_command(run_id: int, dry_run: bool, as_json: bool) -> None:
    """Undo an import (within 60 days) as a new run: its changed values restored, its leavers brought back,
    its new members made leavers. Members changed since are skipped and named in the undo's warnings.
    Invitations already sent are not recalled. An undo cannot itself be undone."""
    with data_session(as_json) as session:
        if dry_run:
            preview = undo_preview(session, run_id)
            payload = preview.to_json()
            human = (f"undoing run {run_id} would restore {preview.restored} members' values, bring back "
                     f"{preview.reinstated} leavers, make {preview.leavers} members leavers and skip "
                     f"{preview.skipped} changed since" + (f"; it would be held: {preview.held_reason}"
                                                           if preview.held else "") + f"\n{INVITATIONS_NOTE}")
            emit(payload, as_json, human)
            return
        try:
            outcome = undo(session, run_id)
        except RunBlocked as exc:
            fail(exc.reason, EXIT_BAD_INPUT, payload={"error": exc.reason, "run_id": exc.run_id}, as_json=as_json)
    payload = {**outcome.to_json(), "trigger": RunTrigger.UNDO.value, "undo_of": run_id}
    if outcome.status == RunStatus.HELD.value:
        if not as_json:
            click.echo(_human(payload))
        fail(outcome.reason or "the undo is held", EXIT_RUN_FAILED, payload=payload, as_json=as_json)
    _deliver_queued_mail()
    emit(payload, as_json, _human(payload))
