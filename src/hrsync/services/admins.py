"""Administrators' roles (issue 14). A placeholder: another engineer's module replaces this one."""

from __future__ import annotations

from hrsync.store.enums import AdminRole
from hrsync.store.models import AdminUser


def may_change(admin: AdminUser) -> bool:
    return admin.role != AdminRole.READ_ONLY
