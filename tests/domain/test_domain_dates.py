"""ISO inside, the integration's date format outside; intelliHR's exclusive end dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hrsync.domain.dates import (
    DATE_FORMATS,
    display_iso,
    format_date,
    last_day_from_exclusive_end,
    parse_iso,
)


def test_the_three_formats_are_offered() -> None:
    assert DATE_FORMATS == ("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD")


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [("DD/MM/YYYY", "03/04/2025"), ("MM/DD/YYYY", "04/03/2025"), ("YYYY-MM-DD", "2025-04-03")],
)
def test_format_date_in_each_format(fmt: str, shown: str) -> None:
    assert format_date(date(2025, 4, 3), fmt) == shown


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown date format"):
        format_date(date(2025, 4, 3), "D/M/Y")


@pytest.mark.parametrize("text", ["2025-02-30", "20250102", "2025-W01-1", "03/04/2025", "", "  ", "soon"])
def test_parse_iso_rejects_anything_but_yyyy_mm_dd(text: str) -> None:
    assert parse_iso(text) is None


def test_parse_iso_accepts_iso_dates_and_blank_none() -> None:
    assert parse_iso("2024-02-29") == date(2024, 2, 29)
    assert parse_iso(" 2024-02-29 ") == date(2024, 2, 29)
    assert parse_iso(None) is None


@given(st.dates())
def test_iso_text_round_trips(d: date) -> None:
    assert parse_iso(format_date(d, "YYYY-MM-DD")) == d


def test_display_iso_shows_stored_dates_in_the_chosen_format() -> None:
    assert display_iso("2025-12-31", "MM/DD/YYYY") == "12/31/2025"
    assert display_iso(None, "DD/MM/YYYY") == ""


def test_last_day_is_the_day_before_intellihrs_exclusive_end() -> None:
    assert last_day_from_exclusive_end(date(2025, 4, 24)) == date(2025, 4, 23)
    assert last_day_from_exclusive_end(date(2025, 3, 1)) == date(2025, 2, 28)
    assert last_day_from_exclusive_end(None) is None
