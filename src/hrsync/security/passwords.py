"""Password rules and hashing for administrators and members (argon2 through pwdlib).

:func:`check_password_policy` is the one rule every path that sets a password calls (a member's
invitation, reset and change pages, an administrator's invitation and reset pages, and
``hrsync programme add --password``): at least :data:`MIN_PASSWORD_LENGTH` characters, not one of
the most common passwords (the 30,000-entry list shipped in the ``zxcvbn`` package, from breach
corpora), not built from the person's own name, e-mail address or programme name, and not
otherwise easy to guess by zxcvbn's estimate (score 3 of 4: repeats, sequences, keyboard rows, a
common word with a year, "Summer2024!"). Each refusal says why.

:func:`verify_password` accepts a missing hash and still spends the time of a real check, so a
sign-in form answers just as slowly for an unknown address or an account without a password
as for a wrong password: timing does not reveal which addresses exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_WORD = re.compile(r"[^\W_]+")
#: What every password form says before anyone types (the rules of :func:`check_password_policy`).
PASSWORD_HINT = (
    f"At least {MIN_PASSWORD_LENGTH} characters, not one of the most common passwords, and not made of your "
    "name or e-mail address. "
    "A few unrelated words make a strong, memorable password."
)
MIN_GUESS_SCORE = 3  # zxcvbn's 0-4 scale: below 3 falls to a hundred million guesses or fewer ("Summer2024!")
_SCORED_PREFIX = 100  # zxcvbn's cost grows with length; the first 100 characters decide the estimate


class WeakPasswordError(ValueError):
    """The chosen password breaks the policy; the message says why and what to change."""


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # loaded on use, as zxcvbn itself below

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, *, context: Iterable[str] = ()) -> None:
    """Raise :class:`WeakPasswordError` with the reason when ``password`` may not be used.

    ``context`` is what the password must not be built from: the person's names, e-mail address and
    the programme's name (:func:`hrsync.lifecycle.passwords.password_context` gathers them). A password
    that is those plus little else ("niahook2026" for Nia Hook) is refused with that reason.
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
    from zxcvbn import zxcvbn  # its dictionaries are 14 MB: loaded by the process that checks a password

    inputs = _user_inputs(context)
    scored = password[:_SCORED_PREFIX]
    estimate = zxcvbn(scored, user_inputs=inputs)
    rest = _without(scored, inputs)
    if rest != scored and zxcvbn(rest)["score"] < MIN_GUESS_SCORE:
        raise WeakPasswordError(
            "That password is built from your own name, e-mail address or the programme's name, which anyone "
            "who knows you could guess. Choose something else: a few unrelated words make a strong one.")
    if estimate["score"] < MIN_GUESS_SCORE:
        warning = str(estimate.get("feedback", {}).get("warning") or "").rstrip(".")
        why = f" ({warning[:1].lower()}{warning[1:]})" if warning else ""
        raise WeakPasswordError(
            f"That password is too easy to guess{why}. Add a word or two, or choose something less predictable.")


def _user_inputs(context: Iterable[str]) -> list[str]:
    """The person's details as zxcvbn's own dictionary: each whole, and each word of three letters or more
    ("Nia Hook" → "nia hook", "nia", "hook"; "nia.hook@acme.example" → also "acme", "example")."""
    inputs: list[str] = []
    for item in context:
        if not item:
            continue
        for part in (item, *_WORD.findall(item)):
            if len(part) >= 3 and part.lower() not in inputs:
                inputs.append(part.lower())
    return inputs


def _without(password: str, inputs: list[str]) -> str:
    """``password`` without the person's own words (any case, longest first): what is not theirs."""
    rest = password
    for word in sorted(inputs, key=len, reverse=True):
        rest = re.sub(re.escape(word), "", rest, flags=re.IGNORECASE)
    return rest


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
