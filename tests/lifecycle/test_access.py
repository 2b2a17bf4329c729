"""What a member may reach, by lifecycle state."""

from __future__ import annotations

from datetime import date

import pytest

from hrsync.lifecycle.access import access_until_for, member_access, window_day
from hrsync.store.models import Member


@pytest.mark.parametrize(
    ("status", "today", "expected"),
    [
        ("active", date(2025, 3, 1), "full"),
        ("invited", date(2025, 3, 1), "full"),
        ("pending", date(2025, 3, 1), "none"),
        ("leaver", date(2025, 3, 1), "limited"),
        ("leaver", date(2025, 4, 29), "limited"),  # day 60, the last day
        ("leaver", date(2025, 4, 30), "none"),  # access_until: the first day without
        ("deleted", date(2025, 3, 1), "none"),
    ],
)
def test_access_by_status_and_date(status: str, today: date, expected: str) -> None:
    member = Member(status=status, leaver_since=date(2025, 3, 1), access_until=date(2025, 4, 30))
    assert member_access(member, today) == expected


def test_window_arithmetic() -> None:
    assert access_until_for(date(2025, 3, 1)) == date(2025, 4, 30)
    assert window_day(date(2025, 3, 1), date(2025, 3, 1)) == 1
    assert window_day(date(2025, 3, 1), date(2025, 4, 29)) == 60
