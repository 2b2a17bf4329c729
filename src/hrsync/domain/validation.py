"""The membership rules of one value (domain.md §4), one checker per :class:`FieldKind`.

Each checker takes the field's rule and the raw source text and returns the normalised value,
``None`` when the value is blank (empty or only whitespace), or raises :class:`InvalidValue`
with a machine code and a sentence for people. Whether an invalid value is an error (the person
is skipped) or a warning (the value is dropped) is decided by :mod:`hrsync.domain.records`, not here.

Normalisation, so that unchanged HR data never looks changed:

* surrounding whitespace is removed; inside a single-line value any run of whitespace (tabs,
  newlines, non-breaking spaces) becomes one space; text is put in Unicode NFC form;
* e-mail addresses are kept as given (trimmed); :func:`hrsync.domain.vocabulary.email_key`
  is the form used to compare them;
* genders are mapped to the platform's four values (see :data:`GENDER_SYNONYMS`).

Speed matters (100,000 people per import): regexes are compiled once, the common case (plain
text) is decided with C-level string methods, and the slow per-character Unicode check runs only
for names that are not plain letters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Final

from hrsync.domain.dates import parse_iso
from hrsync.domain.fields import GENDERS, MEMBER_FIELDS, FieldKind, MemberField


class InvalidValue(ValueError):
    """A value breaks its field's rule. ``code`` is stable; ``reason`` completes a sentence."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# Codes of value problems (stable: they land in the error file).
TOO_LONG: Final = "too_long"
ILLEGAL_CHARACTERS: Final = "illegal_characters"
INVALID_NAME: Final = "invalid_name"
INVALID_EMAIL: Final = "invalid_email"
INVALID_GENDER: Final = "invalid_gender"
INVALID_DATE: Final = "invalid_date"
INVALID_PHONE: Final = "invalid_phone"

# < and > are refused everywhere (they are how markup gets into e-mails and pages); control
# characters are refused because no HR field legitimately holds them.
_FORBIDDEN = re.compile(r"[<>\x00-\x1f\x7f-\x9f]")

# A practical address check: dot-atom local part (letters of any script allowed, as SMTPUTF8
# does), a domain of at least two labels, a top level of letters or an IDN "xn--" label.
# Quoted local parts and IP-literal domains are not accepted: no HR system issues them.
_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]"
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_EMAIL = re.compile(
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+(?:[^\W\d_]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})"
)
# The same rule spelled out for ASCII, about twice as fast for the addresses nearly everyone has.
_ATEXT_ASCII = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_EMAIL_ASCII = re.compile(
    rf"{_ATEXT_ASCII}+(?:\.{_ATEXT_ASCII}+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
)
EMAIL_LOCAL_MAX: Final = 64

# Name punctuation allowed around letters: space, hyphen, dot, apostrophes ' and ’.
_NAME_PUNCTUATION: Final = " -.'\u2019"
_DELETE_NAME_PUNCTUATION = str.maketrans("", "", _NAME_PUNCTUATION)
# Plain Latin names, the common case, decided by one precompiled regex.
_PLAIN_NAME = re.compile(r"[A-Za-z .'\u2019-]*[A-Za-z][A-Za-z .'\u2019-]*")
# Zero-width (non-)joiners are part of correct spelling in Persian, Indic and other scripts.
_NAME_JOINERS: Final = frozenset("\u200c\u200d")

# Digits with the usual separators, an optional leading + and extension; at least 3 digits.
_PHONE = re.compile(r"(?=(?:[^0-9]*[0-9]){3})\+?[0-9 ()./-]+(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)

#: Lower-cased spellings → the platform's gender. HR systems' ``Other`` and ``Undisclosed`` become
#: ``Not specified``: the platform has no "other" value, and guessing ``Non-binary`` for "Other"
#: would record something the person never said.
GENDER_SYNONYMS: Final[dict[str, str]] = {
    "male": "Male", "m": "Male", "man": "Male",
    "female": "Female", "f": "Female", "woman": "Female",
    "non-binary": "Non-binary", "nonbinary": "Non-binary", "non binary": "Non-binary",
    "not specified": "Not specified", "unspecified": "Not specified", "undisclosed": "Not specified",
    "other": "Not specified", "prefer not to say": "Not specified",
}

EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2199, 12, 31)


def _single_line(raw: str) -> str:
    """Trim, collapse inner whitespace, NFC. Empty string means blank."""
    value = " ".join(raw.split())
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value


def _check_forbidden(field: MemberField, value: str) -> None:
    found = _FORBIDDEN.search(value)
    if found is not None:
        what = "< or >" if found.group() in "<>" else "control characters"
        raise InvalidValue(ILLEGAL_CHARACTERS, f"contains {what}, which are not allowed")


def _check_length(field: MemberField, value: str) -> None:
    if len(value) > field.max_length:
        raise InvalidValue(TOO_LONG, f"is longer than {field.max_length} characters ({len(value)})")


def check_text(field: MemberField, raw: str) -> str | None:
    """Bounded single-line text without ``<``, ``>`` or control characters."""
    value = _single_line(raw)
    if not value:
        return None
    _check_forbidden(field, value)
    _check_length(field, value)
    return value


def check_identifier(field: MemberField, raw: str) -> str | None:
    """The unique key: trimmed only (inner spaces kept as the HR system has them), case kept."""
    value = raw.strip()
    if not value:
        return None
    _check_forbidden(field, value)
    _check_length(field, value)
    return value


def _name_char_ok(ch: str) -> bool:
    return ch in _NAME_JOINERS or unicodedata.category(ch)[0] in "LM"


def check_name(field: MemberField, raw: str) -> str | None:
    """Letters of any script (with their combining marks), spaces, hyphens, dots, ' and ’.

    At least one letter is required, so "-" or "." alone is not a name.
    """
    value = _single_line(raw)
    if not value:
        return None
    _check_length(field, value)
    if _PLAIN_NAME.fullmatch(value) is not None:
        return value
    letters = value.translate(_DELETE_NAME_PUNCTUATION)
    if letters.isalpha():  # letters of any script without combining marks, decided in C
        return value
    if letters and all(_name_char_ok(ch) for ch in letters) and any(ch.isalpha() for ch in letters):
        return value
    raise InvalidValue(
        INVALID_NAME, "may hold only letters, spaces, hyphens, dots and apostrophes, and needs a letter"
    )


def check_email(field: MemberField, raw: str) -> str | None:
    """A valid address, 1–200 characters, no ``<`` or ``>``; kept as given (trimmed)."""
    value = raw.strip()
    if not value:
        return None
    if "<" in value or ">" in value:
        raise InvalidValue(ILLEGAL_CHARACTERS, "contains < or >, which are not allowed")
    _check_length(field, value)
    pattern = _EMAIL_ASCII if value.isascii() else _EMAIL
    if pattern.fullmatch(value) is None or value.index("@") > EMAIL_LOCAL_MAX:
        raise InvalidValue(INVALID_EMAIL, "is not a valid e-mail address")
    return value


def check_gender(field: MemberField, raw: str) -> str | None:
    value = _single_line(raw)
    if not value:
        return None
    gender = GENDER_SYNONYMS.get(value.lower())
    if gender is None:
        raise InvalidValue(INVALID_GENDER, f"must be one of {', '.join(GENDERS)}")
    return gender


def check_date(field: MemberField, raw: str) -> str | None:
    """An ISO ``YYYY-MM-DD`` date between 1900 and 2199, kept as ISO text."""
    value = raw.strip()
    if not value:
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise InvalidValue(INVALID_DATE, "is not a date in the form YYYY-MM-DD")
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise InvalidValue(INVALID_DATE, "is not between 1900 and 2199")
    return value


def check_phone(field: MemberField, raw: str) -> str | None:
    """Digits with the usual separators, an optional leading + and extension, 3+ digits."""
    value = _single_line(raw)
    if not value:
        return None
    _check_length(field, value)
    if _PHONE.fullmatch(value) is None:
        raise InvalidValue(INVALID_PHONE, "is not a phone number")
    return value


Checker = Callable[[MemberField, str], "str | None"]

CHECKERS: Final[dict[FieldKind, Checker]] = {
    FieldKind.IDENTIFIER: check_identifier,
    FieldKind.EMAIL: check_email,
    FieldKind.NAME: check_name,
    FieldKind.GENDER: check_gender,
    FieldKind.DATE: check_date,
    FieldKind.PHONE: check_phone,
    FieldKind.TEXT: check_text,
}


def check_value(field: MemberField, raw: str) -> str | None:
    """Normalise ``raw`` by ``field``'s rule; ``None`` if blank; :class:`InvalidValue` if broken."""
    return CHECKERS[field.kind](field, raw)


def check_field(key: str, raw: str) -> str | None:
    """:func:`check_value` for a member field by key (convenience for the portal's forms)."""
    return check_value(MEMBER_FIELDS[key], raw)
