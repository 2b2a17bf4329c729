"""How a person is found and sorted by name: the ONE folding rule for search text and stored keys.

A member row keeps two keys made here (:func:`member_keys`): ``search_key``, the folded text of every
name, the e-mail address and the employee ID, and ``sort_key``, the folded name as lists show it
("Family, Given", the preferred name before the first name). A search folds its text with the same
:func:`fold` and splits it into words (:func:`search_words`); a member matches when every word is
part of their ``search_key``. The database only compares the stored, already folded text with
``LIKE``, so SQLite and PostgreSQL answer alike whatever their own case rules (SQLite's ``lower()``
folds ASCII only).

Folding: compatibility decomposition (NFKD), Unicode case folding (``casefold``: "ß" → "ss", final
"ς" → "σ"), the combining marks dropped ("É" → "e", "Å" → "a", "ά" → "α"), and the few letters that
carry their stroke or ligature inside the letter itself, which NFKD leaves whole ("Ł" → "l",
"Ø" → "o", "Đ" → "d", "Æ" → "ae", "Þ" → "th"). Other scripts keep their letters: "Σοφία" folds to
"σοφια", which "ΣΟΦΙΑ" and "σοφια" also fold to. Decision 0036 says why there is no transliteration.

Changing :func:`fold` changes what stored keys mean: a migration must then recompute them
(``hrsync.store.member_keys.refresh_all_member_keys``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

#: Letters NFKD does not decompose, after case folding, and what they fold to.
_WHOLE_LETTERS: Final = str.maketrans({
    "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ŧ": "t", "ŀ": "l", "ƚ": "l", "ɨ": "i",
    "ƀ": "b", "ɗ": "d", "ƒ": "f", "ɠ": "g", "ƙ": "k", "ɲ": "n", "ʉ": "u", "ƴ": "y", "ƶ": "z", "ȥ": "z",
    "æ": "ae", "œ": "oe", "þ": "th", "ĸ": "k", "ŋ": "n",
    # apostrophes and dashes people type one way and HR systems store another
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-", "\u2013": "-", "\u2014": "-",
})
_SPACES = re.compile(r"\s+")
#: Where a search's words split: spaces and the comma of "Family, Given".
_WORD_BREAK = re.compile(r"[\s,]+")
#: The sort key's separator between family and given name: below every letter, so "Brown" sorts
#: before "Browne" whatever the given names.
SORT_SEPARATOR: Final = "\t"
SORT_KEY_LENGTH: Final = 300


def fold(text: object) -> str:
    """``text`` with case, accents and spacing folded away (see the module's docstring); ``""`` for none."""
    if text is None:
        return ""
    value = str(text)
    if value.isascii():  # most names and every e-mail address: the same result, a tenth of the work
        return _SPACES.sub(" ", value.lower()).strip()
    return fold_in_full(value)


def fold_in_full(value: str) -> str:
    """:func:`fold` for any text, step by step: what the ASCII shortcut must equal (the tests hold it to that)."""
    value = unicodedata.normalize("NFKD", value).casefold()
    value = unicodedata.normalize("NFKD", value)  # casefold may give back a decomposable letter ("İ")
    value = "".join(ch for ch in value if not unicodedata.combining(ch)).translate(_WHOLE_LETTERS)
    return _SPACES.sub(" ", value).strip()


def search_words(query: str) -> list[str]:
    """The folded words of a search ("Brown, Amelia" → ``["brown", "amelia"]``), in any order, no repeats."""
    words: list[str] = []
    for word in _WORD_BREAK.split(fold(query)):
        if word and word not in words:
            words.append(word)
    return words


def member_keys(first: object, last: object, preferred: object, email: object, employee_id: object
                ) -> dict[str, str]:
    """The ``search_key`` and ``sort_key`` of a member with these values (blank parts left out)."""
    folded_first, folded_preferred, family, folded_email, folded_id = (
        fold(p) for p in (first, preferred, last, email, employee_id))
    parts = (folded_first, folded_preferred, family, folded_email, folded_id)
    given = folded_preferred or folded_first
    shown = (family, given) if family else (given, "")  # as the list shows the name: "Family, Given"
    sort_key = SORT_SEPARATOR.join((*shown, folded_email))
    return {"search_key": " ".join(p for p in parts if p), "sort_key": sort_key[:SORT_KEY_LENGTH]}


def member_keys_of(values: Mapping[str, object], attributes: Mapping[str, object] | None) -> dict[str, str]:
    """:func:`member_keys` of a member row's columns (``values``) and its attributes."""
    return member_keys(values.get("first_name"), values.get("last_name"),
                       (attributes or {}).get("preferred_name"), values.get("email"), values.get("employee_id"))
