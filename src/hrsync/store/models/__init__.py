"""The tables, as SQLAlchemy 2 typed declarative models (one module per area, every name importable from here).

Conventions that other modules rely on:

* every timestamp is a :class:`~hrsync.store.types.UTCDateTime` (aware UTC in, aware UTC out);
* defaults are **Python-side** column defaults (so a Core ``insert(Member)`` with a list of
  dicts gets them per row, exactly like the ORM) and, for the columns that have a fixed value,
  also **server-side** defaults, so raw SQL and future migrations see the same value;
* ``email_lower`` is filled from ``email`` on ORM assignment (see ``_sync_email_lower``) and by
  a Core insert default when a bulk row leaves it out; a Core ``update()`` that changes
  ``email`` must set ``email_lower`` too (use :func:`hrsync.domain.vocabulary.email_key`);
* JSON columns are not mutation-tracked: assign a new dict/list instead of changing one in place.
"""

from __future__ import annotations

from hrsync.domain.vocabulary import email_key
from hrsync.store.enums import (
    Frequency,
    IntegrationStatus,
    IssueSeverity,
    MemberDoor,
    OutboxStatus,
    RunPhase,
    RunStatus,
    RunTrigger,
)
from hrsync.store.models.accounts import AdminUser, ApiToken, AuthToken, PortalSession, Programme, ThrottleBucket
from hrsync.store.models.base import NAMING_CONVENTION, Base
from hrsync.store.models.integration import Integration, WebhookHint, WebhookSubscription
from hrsync.store.models.members import Member, MemberEvent, member_search_condition, member_search_expression
from hrsync.store.models.runs import ActivityLog, ImportIssue, ImportRun, OutboxEmail
from hrsync.store.models.scim import ScimUser

__all__ = [
    "NAMING_CONVENTION",
    "ActivityLog",
    "AdminUser",
    "ApiToken",
    "AuthToken",
    "Base",
    "Frequency",
    "ImportIssue",
    "ImportRun",
    "Integration",
    "IntegrationStatus",
    "IssueSeverity",
    "Member",
    "MemberDoor",
    "MemberEvent",
    "OutboxEmail",
    "OutboxStatus",
    "PortalSession",
    "Programme",
    "RunPhase",
    "RunStatus",
    "RunTrigger",
    "ScimUser",
    "ThrottleBucket",
    "WebhookHint",
    "WebhookSubscription",
    "email_key",  # hrsync.domain.vocabulary.email_key, kept importable from here
    "member_search_condition",
    "member_search_expression",
]
