"""The activity log's one writer: every "who did what" row is added through :func:`record`.

It lives with the models (the lowest layer) so the services, the scheduler and the sync layer's
decisions on held runs all write the same row the same way; :mod:`hrsync.services.activity` is
where the portal and the services import it from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from hrsync.domain.activity_words import ACTIONS
from hrsync.store.models import ActivityLog


def record(
    session: Session,
    *,
    programme_id: int,
    action: str,
    admin_id: int | None = None,
    integration_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> ActivityLog:
    """Add one activity row in the caller's transaction (an empty ``detail`` is stored as none).

    ``action`` must have a sentence in :mod:`hrsync.domain.activity_words` (a ``ValueError``
    otherwise), so no page ever shows an action as a bare code."""
    if action not in ACTIONS:
        raise ValueError(f"activity action {action!r} has no sentence in hrsync.domain.activity_words")
    entry = ActivityLog(
        programme_id=programme_id,
        integration_id=integration_id,
        admin_id=admin_id,
        action=action,
        detail=dict(detail) if detail else None,
    )
    session.add(entry)
    return entry
