"""How a run reads on every page, in the API and the CLI: its title, its kind, its live progress.

One place for each: :func:`run_title` ("Import #3", or "Preview" for the wizard's preview: the
number counts the integration's own imports, previews take none, the id stays in URLs),
:func:`trigger_label` (a wizard preview says "Preview", never "dry run triggered by Import data
now") and :func:`run_progress`, whose percent and "N of M people read" come from the
same two numbers so the bar and its count can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrsync.domain.vocabulary import COUNT_KEYS
from hrsync.sources.registry import REGISTRY, display_name
from hrsync.store.enums import is_finished
from hrsync.store.models import ImportRun, RunPhase, RunStatus, RunTrigger

TRIGGER_LABELS = {
    RunTrigger.MANUAL.value: "Import data now",
    RunTrigger.SCHEDULE.value: "Schedule",
    RunTrigger.CLI.value: "Command line",
    RunTrigger.API.value: "API",
    RunTrigger.PREVIEW.value: "Preview",
    RunTrigger.UNDO.value: "Undo",
    RunTrigger.WEBHOOK.value: "Webhook",
    RunTrigger.SCIM.value: "SCIM (changes sent by the identity provider in one hour)",
    RunTrigger.SINGLE.value: "One person, applied from a trace",
}

PHASE_LABELS = {
    RunPhase.QUEUED.value: "Waiting for a worker…",
    RunPhase.FETCHING.value: "Reading the source…",  # a known kind says it in its own words
    RunPhase.PLANNING.value: "Working out the changes…",
    RunPhase.APPLYING.value: "Updating members…",
    RunPhase.DONE.value: "Finished",
    RunStatus.SUCCEEDED.value: "Finished",
    RunStatus.SUCCEEDED_WITH_ERRORS.value: "Finished with errors",
    RunStatus.HELD.value: "Held for approval",
    RunStatus.REJECTED.value: "Rejected",
    RunStatus.EXPIRED.value: "Expired",
    RunStatus.FAILED.value: "Failed",
}

STATUS_LABELS = {
    RunStatus.QUEUED.value: "Queued",
    RunStatus.RUNNING.value: "Running",
    RunStatus.SUCCEEDED.value: "Succeeded",
    RunStatus.SUCCEEDED_WITH_ERRORS.value: "Succeeded with errors",
    RunStatus.HELD.value: "Held",
    RunStatus.REJECTED.value: "Rejected",
    RunStatus.EXPIRED.value: "Expired",
    RunStatus.FAILED.value: "Failed",
}


def status_label(status: object) -> str:
    """A run's status as every page words it ("succeeded_with_errors" → "Succeeded with errors")."""
    text = str(getattr(status, "value", status) or "")
    return STATUS_LABELS.get(text, text.replace("_", " ").capitalize())


def is_preview(run: ImportRun) -> bool:
    """The setup wizard's preview of the first import (a dry run of its own kind)."""
    return run.trigger == RunTrigger.PREVIEW.value


def run_number(run: ImportRun) -> int:
    """The run's number in its integration's history; the id for a row that has none."""
    return run.history_number


def run_title(run: ImportRun) -> str:
    """"Import #3"; the wizard's preview takes no number and reads "Preview"; a SCIM door's hour of
    changes, which nobody started as an import, reads "SCIM changes #3"."""
    if is_preview(run):
        return "Preview"
    if run.trigger == RunTrigger.SCIM.value:
        return f"SCIM changes #{run_number(run)}"
    return f"Import #{run_number(run)}"


def run_number_words(session: Session, details: Iterable[Any]) -> Callable[[Any], str]:
    """For sentences that name runs by id (activity rows): id -> "import #3" (or "the preview")."""
    ids = {int(d[key]) for d in details if isinstance(d, dict)
           for key in ("run_id", "undo_of", "failed_run_id") if str(d.get(key) or "").isdigit()}
    runs = {run.id: run for run in session.scalars(select(ImportRun).where(ImportRun.id.in_(ids)))} if ids else {}

    def words(run_id: Any) -> str:
        run = runs.get(int(run_id)) if str(run_id or "").isdigit() else None
        if run is None:
            return "an import"
        if is_preview(run):
            return "the preview"
        if run.trigger == RunTrigger.SCIM.value:
            return f"SCIM changes #{run_number(run)}"
        return f"import #{run_number(run)}"
    return words


def no_issues_sentence(run: ImportRun) -> str:
    """What a run without errors or warnings says, in its kind's words ("your HR directory",
    "your membership file"): an undo skipped nobody, a dry run would import everyone, an import did."""
    if run.trigger == RunTrigger.UNDO.value:
        return "No warnings: no member had changed since, so every change was undone."
    kind = REGISTRY.get(run.integration.kind) if run.integration is not None else None
    place = kind.words.directory if kind is not None else "the source"
    if run.dry_run:
        return f"No errors or warnings: everyone read from {place} could be imported as they are there."
    return f"No errors or warnings: everyone read from {place} was imported as they are there."


def run_chip(run: ImportRun) -> str | None:
    """The short word shown beside a dry run, which changed nothing on purpose; a preview has none (its
    title already reads "Preview")."""
    return "dry run" if run.dry_run and not is_preview(run) else None


def trigger_label(run: ImportRun) -> str:
    """How the run was started; a webhook names its source ("<kind name> webhook")."""
    if run.trigger == RunTrigger.WEBHOOK.value and run.integration is not None:
        return f"{display_name(run.integration.kind)} webhook"
    return TRIGGER_LABELS.get(run.trigger, run.trigger)


def run_counts(run: ImportRun) -> dict[str, int]:
    return {k: int(getattr(run, k) or 0) for k in COUNT_KEYS}


def progress_numbers(processed: int, total: int | None) -> tuple[int | None, str]:
    """The bar's percent and the words beside it, from the same two numbers.

    ``(40, "200 of 501 people read")``; ``(None, "200 people read")`` while the directory's size
    is unknown (the bar is then indeterminate); ``(None, "")`` before anybody was read.
    """
    if total:
        done = min(processed, total)
        return round(100 * done / total), f"{done:,} of {total:,} people read"
    return None, f"{processed:,} people read" if processed else ""


@dataclass(frozen=True)
class RunProgress:
    """What the live progress bar (web and API) needs, read from the run row alone.

    ``percent`` is the share of the directory read so far (``count_text`` says the same in words);
    it is ``None`` while the size of the directory is unknown (the bar is then indeterminate) and 0
    while the run waits for a worker. A finished run has read everyone (100); one that failed
    while reading keeps the share it had read.
    """

    run_id: int
    integration_id: int
    status: str
    phase: str
    processed: int
    total: int | None
    percent: int | None
    count_text: str
    finished: bool
    held: bool
    dry_run: bool
    reason: str | None
    counts: dict[str, int]
    reading: str | None = None  # the kind's words for its reading phase (``Words.reading``)

    @property
    def label(self) -> str:
        if self.reading and not (self.finished or self.held) and self.phase == RunPhase.FETCHING.value:
            return self.reading
        return PHASE_LABELS.get(self.status if self.finished or self.held else self.phase, self.phase)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "integration_id": self.integration_id, "status": self.status,
            "status_label": STATUS_LABELS.get(self.status, self.status),
            "phase": self.phase, "label": self.label, "processed": self.processed, "total": self.total,
            "percent": self.percent, "count_text": self.count_text, "finished": self.finished,
            "held": self.held, "dry_run": self.dry_run, "reason": self.reason, "counts": dict(self.counts),
        }


def run_progress(run: ImportRun) -> RunProgress:
    finished = is_finished(run.status)
    held = run.status == RunStatus.HELD.value
    processed = int(run.processed or 0)
    total = int(run.total) if run.total is not None else None
    percent, count_text = progress_numbers(processed, total)
    if run.status == RunStatus.QUEUED.value or run.phase == RunPhase.QUEUED.value:
        percent, count_text = 0, ""
    if (finished or held) and percent is None:
        percent = 100  # stopped moving before the directory's size was known: a full bar
    return RunProgress(
        run_id=run.id, integration_id=run.integration_id, status=run.status, phase=run.phase,
        processed=processed, total=total, percent=percent, count_text=count_text, finished=finished,
        held=held, dry_run=bool(run.dry_run), reason=run.reason, counts=run_counts(run),
        reading=_reading_words(run),
    )


def _reading_words(run: ImportRun) -> str | None:
    integration = run.integration
    kind = REGISTRY.get(integration.kind) if integration is not None else None
    return kind.words.reading if kind is not None else None
