"""One runner (issue 23): people are drafted and planned in one place, ``sync/execute.py``; a one-person run
(a trace applied, a webhook delivery) and a trace go through it, and the trace module explains, it does not run.

The behaviour is proved end to end elsewhere (``test_trace.py``: a trace's outcome is the next full import's;
``test_webhooks.py``, ``tests/cli/test_trace_cli.py``); this guard keeps a second read → draft → plan loop from
growing back beside the runner's."""

from __future__ import annotations

import ast
from pathlib import Path

import hrsync

SRC = Path(hrsync.__file__).parent
#: The runner's steps, and the one module each may be called from outside the domain.
RUNNER_STEPS = {"plan_sync": {"sync/execute.py"}, "build_draft": {"sync/execute.py", "services/coverage.py"}}


def _calls(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_people_are_drafted_and_planned_only_by_the_runner() -> None:
    found: dict[str, set[str]] = {step: set() for step in RUNNER_STEPS}
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(("domain/", "simulator/", "store/migrations/")):
            continue
        for step in RUNNER_STEPS.keys() & _calls(path):
            found[step].add(relative)
    assert found == RUNNER_STEPS


def test_the_trace_and_the_webhook_worker_run_through_the_runner() -> None:
    trace = _calls(SRC / "sync" / "trace.py")
    assert {"read_and_plan", "run_one_person"} <= trace
    assert not trace & {"execute_run", "request_run", "plan_sync", "build_draft"}
    assert "run_one_person" in _calls(SRC / "jobs" / "webhooks.py")
