"""Errors a service raises for people: ``reason`` is one sentence an administrator can act on."""

from __future__ import annotations


class ServiceError(Exception):
    """Bad input or a state that forbids the action; interfaces show ``reason`` as it is."""

    def __init__(self, reason: str, *, code: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class NotFound(ServiceError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was not found.", code="not_found")
