"""Errors hrsync raises for people, each with a machine-readable ``code``.

``reason`` is one sentence an administrator can act on; interfaces show it as it is. ``code`` is
what programs compare (the API's error bodies, ``import_runs.failure_code``, the failure table in
:mod:`hrsync.domain.failures`). They live at the bottom of the layers so every layer can raise them
and the portal, the API and the CLI catch one family (:class:`ServiceError`) whoever raised it.
"""

from __future__ import annotations


class HrsyncError(Exception):
    """Base of hrsync's own errors: a reason for people and a code for programs."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class ServiceError(HrsyncError):
    """Bad input or a state that forbids the action."""

    def __init__(self, reason: str, *, code: str = "invalid") -> None:
        super().__init__(reason, code)


class NotFound(ServiceError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was not found.", code="not_found")


class PersonNotFound(ServiceError):
    """Nobody to apply: the HR system knows no one by what was asked (the API answers 404)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="person_not_found")


class RunBlocked(ServiceError):
    """Another run of the integration is queued, running or held: this one cannot start."""

    def __init__(self, reason: str, run_id: int | None) -> None:
        super().__init__(reason, code="run_blocked")
        self.run_id = run_id


class RunNotFound(ServiceError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"Run {run_id} was not found.", code="run_not_found")
        self.run_id = run_id
