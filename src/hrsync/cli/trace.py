"""``hrsync trace INTEGRATION EMPLOYEE_ID [--apply] [--json]``: explain (and apply) one person."""

from __future__ import annotations

import click

from hrsync.cli.common import data_session, json_option
from hrsync.cli.main import EXIT_RUN_FAILED, cli, emit, fail
from hrsync.services import trace as tracing
from hrsync.services.integrations import get_integration
from hrsync.store.enums import RunStatus

_MARKS = {"ok": "ok", "warning": "warning", "error": "ERROR", "info": "", "masked": ""}


def _human(t: tracing.Trace) -> str:
    head = f"{t.name or t.employee_id} (employee ID {t.employee_id})" if t.found else f"employee ID {t.employee_id}"
    lines = [head, f"  outcome: {t.reason}"]
    for stage in t.stages:
        lines.append(f"{stage.title}: {stage.summary}")
        for row in stage.rows:
            mark = _MARKS.get(row.status, row.status)
            note = f"  ({row.note})" if row.note else ""
            lines.append(f"  {row.label}: {row.value}{'  [' + mark + ']' if mark else ''}{note}")
    lines.extend(f"note: {n}" for n in t.notes)
    return "\n".join(lines)


@cli.command("trace")
@click.argument("integration_id", type=int)
@click.argument("employee_id")
@click.option("--apply", "apply_", is_flag=True, help="Apply this person's planned change as a one-person import.")
@json_option
def trace_command(integration_id: int, employee_id: str, apply_: bool, as_json: bool) -> None:
    """Fetch one person live from the HR system and show each stage: the record (masked), the mapped
    values, validation, scoping, the planned outcome and why, the close-down clock for leavers."""
    with data_session(as_json) as session:
        integration = get_integration(session, integration_id)
        result = tracing.trace(session, integration, employee_id)
        if not result.found:  # nobody to apply either: refused, no run (issue 22)
            if not apply_:
                emit(result.to_json(), as_json, _human(result))
            fail(result.reason + (" Nothing was applied." if apply_ else ""), payload=None)
        if not apply_:
            emit(result.to_json(), as_json, _human(result))
            return
        outcome = tracing.apply(session, integration, None, employee_id, via="cli")
    payload = {"trace": result.to_json(), "run": {**outcome.to_json(), "trigger": "single"}}
    counts = ", ".join(f"{v} {k}" for k, v in outcome.counts.items() if v)
    human = (f"{_human(result)}\none-person import #{outcome.number or outcome.id} (run id {outcome.id}) "
             f"{outcome.status}: {counts or 'nothing to change'}")
    if outcome.status in (RunStatus.FAILED.value, RunStatus.HELD.value):
        fail(outcome.reason or f"one-person import {outcome.status}", EXIT_RUN_FAILED, payload=payload,
             as_json=as_json)
    emit(payload, as_json, human)
