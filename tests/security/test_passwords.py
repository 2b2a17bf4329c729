"""Passwords are stored as salted argon2 hashes and checked without leaking which accounts exist."""

from __future__ import annotations

import re

import pytest

from hrsync.security.passwords import (
    WeakPasswordError,
    check_password_policy,
    hash_password,
    verify_and_update,
    verify_password,
)


def test_a_hash_verifies_its_password_only() -> None:
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password("correct horse battery staple", hashed)
    assert not verify_password("correct horse battery stapl", hashed)
    assert not verify_password("", hashed)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("pässwörd ✓") != hash_password("pässwörd ✓")
    assert verify_password("pässwörd ✓", hash_password("pässwörd ✓"))


@pytest.mark.parametrize("stored", [None, "", "plaintext", "$2b$12$notreallybcrypt"])
def test_a_missing_or_unknown_hash_never_matches(stored: str | None) -> None:
    assert not verify_password("anything", stored)


def test_a_current_hash_needs_no_update() -> None:
    hashed = hash_password("s3cret-pass")
    assert verify_and_update("s3cret-pass", hashed) == (True, None)


def test_an_outdated_hash_is_upgraded_on_a_successful_check() -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    weak = Argon2Hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("s3cret-pass")
    valid, replacement = verify_and_update("s3cret-pass", weak)
    assert valid and replacement is not None and replacement != weak
    assert verify_password("s3cret-pass", replacement)
    assert verify_and_update("wrong", weak) == (False, None)


def test_an_empty_password_cannot_be_set() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


@pytest.mark.parametrize(("password", "context", "reason"), [
    ("Summer2024!", (), "too easy to guess (this is similar to a commonly used password)"),
    ("niahook2026", ("Acme Rewards", "nia.hook@acme.example", "Nia", "Hook"), "built from your own name"),
    ("Nia.Hook-1990", ("Acme Rewards", "nia.hook@acme.example", "Nia", "Hook"), "built from your own name"),
    ("AcmeRewards2026", ("Acme Rewards", "cole@acme.example", "Cole League"), "built from your own name"),
    ("password12", (), "one of the most common passwords"),
])
def test_the_strength_check_knows_the_person_and_says_why(password: str, context: tuple[str, ...], reason: str) -> None:
    with pytest.raises(WeakPasswordError, match=re.escape(reason)):
        check_password_policy(password, context=context)


@pytest.mark.parametrize("password", ["tangerine lighthouse quietly", "nia prefers tangerine lighthouses",
                                      "niahook2026"])  # the last: not Nia Hook's own, so not guessable from her
def test_a_strong_password_passes_even_beside_the_persons_name(password: str) -> None:
    check_password_policy(password, context=("Acme Rewards", "sam@acme.example", "Sam", "Smith") if
                          password == "niahook2026" else ("Acme Rewards", "nia.hook@acme.example", "Nia Hook"))
