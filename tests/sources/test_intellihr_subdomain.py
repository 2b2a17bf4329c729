"""Subdomains are DNS labels, checked before anything is sent."""

from __future__ import annotations

import pytest

from hrsync.sources.intellihr import validate_subdomain


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("acme", "acme"), ("ACME", "acme"), ("  acme-au  ", "acme-au"), ("a", "a"), ("x" * 63, "x" * 63),
     ("9to5", "9to5")],
)
def test_valid_subdomains_are_lower_cased(typed: str, expected: str) -> None:
    assert validate_subdomain(typed) == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("acme.intellihr.net", "only the part before"),
        ("https://acme", "only the part before"),
        ("-acme", "hyphen"),
        ("acme-", "hyphen"),
        ("ac me", "letters a-z, digits and hyphens"),
        ("acmé", "letters a-z, digits and hyphens"),
        ("acme_au", "letters a-z, digits and hyphens"),
        ("x" * 64, "at most 63"),
    ],
)
def test_invalid_subdomains_are_refused_with_a_clear_message(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        validate_subdomain(typed)
