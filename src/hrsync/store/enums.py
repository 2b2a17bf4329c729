"""Status vocabularies stored in the database, as the exact strings the issues specify.

The columns are plain strings (portable, cheap to extend); these enums are what code compares
against. ``hrsync.domain`` may grow its own vocabulary; the strings are the contract either way.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SUCCEEDED_WITH_ERRORS = "succeeded_with_errors"
    HELD = "held"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


# Runs in these states block another run of the same integration (enforced by a partial index).
ACTIVE_RUN_STATUSES: tuple[RunStatus, ...] = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.HELD)


# Runs in these states are over: nothing more happens to them.
FINISHED_RUN_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.SUCCEEDED_WITH_ERRORS, RunStatus.REJECTED, RunStatus.EXPIRED, RunStatus.FAILED}
)


def is_finished(status: str) -> bool:
    return status in FINISHED_RUN_STATUSES


class RunPhase(StrEnum):
    QUEUED = "queued"
    FETCHING = "fetching"
    PLANNING = "planning"
    APPLYING = "applying"
    DONE = "done"


class RunTrigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    CLI = "cli"
    API = "api"
    PREVIEW = "preview"  # the wizard's review step: a dry run, one per integration (a new one replaces it)
    SINGLE = "single"  # one person traced and applied (issue 15)
    UNDO = "undo"  # reverses an earlier import (issue 15; import_run.undo_of_id)
    WEBHOOK = "webhook"  # one person re-fetched after a source's webhook delivery (issue 16)
    SCIM = "scim"  # an hour of one SCIM integration's writes (issue 24; hrsync.services.scim_members)


class IntegrationStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    PAUSED = "paused"
    REVOKED = "revoked"


class Frequency(StrEnum):
    MANUAL = "manual"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class IssueSeverity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class MemberDoor(StrEnum):
    """How a member came in, and so who may change it (docs/decisions/0031)."""

    INTEGRATION = "integration"  # owned by member.integration_id
    MANUAL = "manual"  # added by an administrator; no import touches it


class AdminRole(StrEnum):
    """What an administrator may do (issue 14). Owners manage administrators and every API token;
    administrators run the programme's integrations; read-only administrators look and download."""

    OWNER = "owner"
    ADMINISTRATOR = "administrator"
    READ_ONLY = "read_only"


class TokenScope(StrEnum):
    """What an API token may do: read anything, start imports, approve or discard held runs, manage members by hand."""

    READ = "read"
    IMPORT = "import"
    APPROVE = "approve"
    MEMBERS = "members"  # add members by hand, edit them, mark them ineligible or eligible


class SessionKind(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
