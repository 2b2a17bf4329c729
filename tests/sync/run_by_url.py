"""The run entry points as the tests call them, with a database URL (``None``: the configured one).

The code takes a session factory (:func:`hrsync.sync.execute.execute_run`,
:mod:`hrsync.sync.decisions`); tests that hold a URL go through here.
"""

from __future__ import annotations

from typing import Any

from hrsync.store.db import session_factory
from hrsync.sync import decisions, execute
from hrsync.sync.runs import RunOutcome


def execute_run(run_id: int, *, url: str | None = None, **options: Any) -> RunOutcome | None:
    return execute.execute_run(run_id, factory=session_factory(url), **options)


def approve_run(run_id: int, *, url: str | None = None, **options: Any) -> RunOutcome:
    return decisions.approve_run(run_id, factory=session_factory(url), **options)


def reject_run(run_id: int, *, url: str | None = None, **options: Any) -> RunOutcome:
    return decisions.reject_run(run_id, factory=session_factory(url), **options)
