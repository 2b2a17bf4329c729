"""The activity log ("who did what and when"), as the services, the portal and the jobs write it.

One function, :func:`record`, adds a row in the caller's transaction. It is defined in
:mod:`hrsync.store.activity` because the sync layer (below the services) records decisions on
held runs with it too.
"""

from __future__ import annotations

from hrsync.store.activity import record

__all__ = ["record"]
