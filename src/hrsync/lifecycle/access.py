"""What a member may reach in the portal, from their lifecycle state.

A leaver keeps *limited* access - their own account pages (history, balance, vouchers, security,
help) - from the day they become a leaver until ``access_until`` (exclusive), 60 days later, so
they can spend or withdraw what they hold. The portal asks :func:`member_access` on every request
instead of re-deriving the rule.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from hrsync.domain.vocabulary import LEAVER_WINDOW_DAYS, MemberStatus, access_until_for
from hrsync.store.models import Member

__all__ = [
    "LEAVER_WINDOW_DAYS", "REMINDER_DAYS", "Access", "access_until_for", "leaver_access_until", "member_access",
    "window_day",
]

Access = Literal["full", "limited", "none"]

# Reminder e-mails go out on these days of the window (day 1 is the day someone became a leaver).
REMINDER_DAYS: tuple[int, ...] = (1, 30, 53)


def window_day(leaver_since: date, today: date) -> int:
    """Which day of the leaver window ``today`` is (1 on the day they became a leaver)."""
    return (today - leaver_since).days + 1


def leaver_access_until(member: Member) -> date | None:
    if member.access_until is not None:
        return member.access_until
    if member.leaver_since is not None:
        return access_until_for(member.leaver_since)
    return None


def member_access(member: Member, today: date) -> Access:
    """``full`` for invited and active members, ``limited`` for leavers inside their window, else ``none``.

    A pre-hire (``pending``) has not been invited yet; a leaver past the window and a deleted
    tombstone have nothing left to see.
    """
    status = member.status
    if status in (MemberStatus.ACTIVE, MemberStatus.INVITED):
        return "full"
    if status == MemberStatus.LEAVER:
        until = leaver_access_until(member)
        if until is None or today < until:
            return "limited"
        return "none"
    return "none"
