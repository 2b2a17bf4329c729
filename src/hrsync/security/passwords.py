"""Password rules and hashing for administrators and members (argon2 through pwdlib).

:func:`check_password_policy` is the one rule every path that sets a password calls (a member's
invitation, reset and change pages, an administrator's invitation and reset pages, and
``hrsync programme add --password``): at least :data:`MIN_PASSWORD_LENGTH` characters, not one of
the most common passwords (the 30,000-entry list shipped in the ``zxcvbn`` package, from breach
corpora), and not otherwise trivial to guess by zxcvbn's estimate (repeats, sequences, keyboard
rows, a common word with digits). Each refusal says why.

:func:`verify_password` accepts a missing hash and still spends the time of a real check, so a
sign-in form answers just as slowly for an unknown address or an account without a password
as for a wrong password: timing does not reveal which addresses exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
#: What every password form says before anyone types (the rules of :func:`check_password_policy`).
PASSWORD_HINT = (
    f"At least {MIN_PASSWORD_LENGTH} characters, and not one of the most common passwords. "
    "A few unrelated words make a strong, memorable password."
)
MIN_GUESS_SCORE = 2  # zxcvbn's 0-4 scale: 0 and 1 fall to a few million guesses or fewer
_SCORED_PREFIX = 100  # zxcvbn's cost grows with length; the first 100 characters decide the estimate


class WeakPasswordError(ValueError):
    """The chosen password breaks the policy; the message says why and what to change."""


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, *, context: Iterable[str] = ()) -> None:
    """Raise :class:`WeakPasswordError` with the reason when ``password`` may not be used.

    ``context`` is what the password must not be built from (the person's e-mail address, name).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPasswordError(f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters.")
    if not password.strip():
        raise WeakPasswordError("A password cannot be only spaces.")
    if password.lower() in _common_passwords():
        raise WeakPasswordError(
            "That password is one of the most common passwords (it is on a list of passwords found in data "
            "breaches), so it is among the first an attacker tries. Choose another: a few unrelated words "
            "make a strong one.")
    inputs = [part for item in context if item for part in (item, *item.replace("@", " ").split())]
    estimate = zxcvbn(password[:_SCORED_PREFIX], user_inputs=inputs)
    if estimate["score"] < MIN_GUESS_SCORE:
        warning = str(estimate.get("feedback", {}).get("warning") or "").rstrip(".")
        why = f" ({warning[:1].lower()}{warning[1:]})" if warning else ""
        raise WeakPasswordError(
            f"That password is too easy to guess{why}. Add a word or two, or choose something less predictable.")


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
