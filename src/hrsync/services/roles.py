"""What an administrator's role allows (issue 14), in one place for the portal, the API and tokens.

Kept apart from :mod:`hrsync.services.admins` (which manages administrators and revokes their API
tokens) so that :mod:`hrsync.services.api_tokens` can ask it without an import cycle.
"""

from __future__ import annotations

from hrsync.store.enums import AdminRole
from hrsync.store.models import AdminUser


def role_of(admin: AdminUser) -> AdminRole:
    """The administrator's role; a value this version does not know counts as read-only."""
    try:
        return AdminRole(admin.role)
    except ValueError:
        return AdminRole.READ_ONLY


def may_change(admin: AdminUser) -> bool:
    """May this administrator change anything (beyond signing out and their own password)?

    The portal's role check, the API's state-changing endpoints and API-token creation all ask this.
    """
    return bool(admin.is_active) and role_of(admin) != AdminRole.READ_ONLY
