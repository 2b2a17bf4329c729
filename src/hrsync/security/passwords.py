"""Password hashing for administrators and members (argon2 through pwdlib).

:func:`verify_password` accepts a missing hash and still spends the time of a real check, so a
sign-in form answers just as slowly for an unknown address or an account without a password
as for a wrong password: timing does not reveal which addresses exist.
"""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("hrsync-timing-equaliser")


def hash_password(password: str) -> str:
    """An argon2id hash (salted, parameters included) to store instead of the password."""
    if not password:
        raise ValueError("a password must not be empty")
    return _hasher().hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Whether ``password`` matches ``hashed``; ``False`` for a missing or unrecognised hash."""
    return verify_and_update(password, hashed)[0]


def verify_and_update(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """Check a password and, when it matches but the hash uses outdated parameters, a new hash.

    Callers store the second element when it is not ``None`` (upgrades hashes at sign-in).
    """
    if not hashed:
        _hasher().verify(password or "x", _dummy_hash())
        return False, None
    try:
        return _hasher().verify_and_update(password, hashed)
    except UnknownHashError:  # a corrupt stored hash reads as "wrong password", not a crash
        return False, None
