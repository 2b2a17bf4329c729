"""Why a scoping rule decided nobody: the values its field really holds that come closest.

A rule written from memory ("Casual") misses the directory's own wording ("Temporary/Casual") and
quietly excludes nobody; a preview then names the values that come closest, so the fix is one look
away. Pure functions; the runner counts the values (:mod:`hrsync.sync.execute`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Final

#: Distinct values counted per rule field (a field with more, such as names, is not worth hinting from).
MAX_COUNTED: Final = 500
#: Values a hint names at most.
HINTS: Final = 3


def count_value(counter: Counter[str], value: object) -> None:
    """Count one person's value of a rule's field (trimmed; blank and past :data:`MAX_COUNTED` not)."""
    if not isinstance(value, str) or not value.strip():
        return
    value = value.strip()
    if value in counter or len(counter) < MAX_COUNTED:
        counter[value] += 1


def closest(wanted: Iterable[str], seen: Counter[str], limit: int = HINTS) -> list[tuple[str, int]]:
    """The values of ``seen`` most like ``wanted`` (ignoring case): those containing a wanted value,
    or contained in one, first; then the most similar; each with how many people hold it."""
    folded = [w.strip().casefold() for w in wanted if w.strip()]
    if not folded:
        return []
    scored = []
    for value, count in seen.items():
        v = value.casefold()
        contains = any(w in v or v in w for w in folded)
        ratio = max(SequenceMatcher(None, w, v).ratio() for w in folded)
        if contains or ratio >= 0.5:
            scored.append((not contains, -ratio, -count, value))
    scored.sort()
    return [(value, seen[value]) for *_rest, value in scored[:limit]]
