"""The words every layer shares, each defined once.

Member statuses, the run's count keys, the leaver window, how two e-mail addresses are compared
and which date "today" is for a programme: the planner, the runner, the outbox, the portal, the
CLI and the API all import these instead of keeping their own copies (copies drifted apart
before: one ``programme_today`` crashed on a bad timezone while the other fell back to UTC).

Run, integration and outbox statuses are stored strings and live in :mod:`hrsync.store.enums`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class MemberStatus(StrEnum):
    PENDING = "pending"
    INVITED = "invited"
    ACTIVE = "active"
    LEAVER = "leaver"
    DELETED = "deleted"


#: A run's counts, in the order the CLI, e-mails, pages and the API show them.
COUNT_KEYS: Final = ("created", "updated", "unchanged", "leavers", "reinstated", "pending", "errors", "warnings")

#: Days a leaver keeps limited access; the close-down deletes the member after them.
LEAVER_WINDOW_DAYS: Final = 60


def access_until_for(leaver_since: date) -> date:
    """The first day without access: ``leaver_since + 60 days`` (days 1..60 are the window)."""
    return leaver_since + timedelta(days=LEAVER_WINDOW_DAYS)


@overload
def email_key(email: str) -> str: ...
@overload
def email_key(email: None) -> None: ...
def email_key(email: str | None) -> str | None:
    """The form two addresses are compared and stored in (``email_lower``): trimmed, case ignored."""
    if email is None:
        return None
    key = email.strip().lower()
    return email if key == email else key  # the same object when already in that form: one string, not two


def programme_zone(tz_name: str | None) -> ZoneInfo:
    """The programme's time zone; a missing or unknown name falls back to UTC instead of failing."""
    try:
        return ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def programme_today(tz_name: str | None, now: datetime | None = None) -> date:
    """Today's date where the programme is: leaver dates, windows and start dates are local dates."""
    return (now or datetime.now(UTC)).astimezone(programme_zone(tz_name)).date()
