"""Errors a service raises for people: ``reason`` is one sentence an administrator can act on.

Defined in :mod:`hrsync.errors` (the sync layer raises them too, and it sits below the services);
this module is where the portal, the API and the CLI import them from.
"""

from __future__ import annotations

from hrsync.errors import HrsyncError, NotFound, PersonNotFound, RunBlocked, RunNotFound, ServiceError

__all__ = ["HrsyncError", "NotFound", "PersonNotFound", "RunBlocked", "RunNotFound", "ServiceError"]
