"""Deterministic UUIDv4-shaped identifiers that encode their own position.

A directory of a million people must not keep a million ids in memory, and ``GET /people/{id}`` must
still be O(1). So an id is computed from (seed, kind, number): the low 48 bits hold the number masked
with a seed-derived value, the rest is a hash. Decoding reads the number back and recomputes the id to
confirm it, so a made-up UUID is never mistaken for a real record.
"""

from __future__ import annotations

import hashlib
import re

_MASK48 = (1 << 48) - 1
_MASK64 = (1 << 64) - 1
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# Kinds of identifiers; each gets its own mask and hash stream.
PERSON = 1
JOB = 2
REFERENCE = 3  # business units, locations, position titles, custom field definitions, ...
MISC = 4  # user accounts, medical conditions, pay grades, ...

#: A job's number is ``person_index * MAX_JOBS_PER_PERSON + its sequence``: a person's jobs follow from it.
MAX_JOBS_PER_PERSON = 16


def mix64(x: int) -> int:
    """A fast 64-bit integer hash (splitmix64 finaliser): cheap enough to call per person."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def seed_key(seed: int | str) -> int:
    """A 64-bit key for a seed, stable across processes (unlike ``hash()``)."""
    return int.from_bytes(hashlib.sha256(f"hrsync-sim:{seed}".encode()).digest()[:8], "big")


class IdCodec:
    """Encodes and decodes ids for one seed."""

    __slots__ = ("_key", "_masks")

    def __init__(self, seed: int | str) -> None:
        self._key = seed_key(seed)
        self._masks = {kind: mix64(self._key ^ (kind * 0x1000193)) & _MASK48 for kind in (1, 2, 3, 4)}

    def encode(self, kind: int, number: int) -> str:
        if not 0 <= number <= _MASK48:
            raise ValueError("number out of range")
        h1 = mix64(self._key ^ (kind << 56) ^ (number * 0x9E3779B97F4A7C15 & _MASK64))
        h2 = (h1 * 0xD6E8FEB86659FD93 + number) & _MASK64
        time_low = h1 >> 32
        time_mid = (h1 >> 16) & 0xFFFF
        time_hi = 0x4000 | (h1 & 0x0FFF)
        clock = 0x8000 | (h2 & 0x3FFF)
        node = number ^ self._masks[kind]
        return f"{time_low:08x}-{time_mid:04x}-{time_hi:04x}-{clock:04x}-{node:012x}"

    def decode(self, kind: int, value: str) -> int | None:
        """The number behind ``value``, or None when ``value`` is not an id of this kind and seed."""
        if not UUID_RE.match(value):
            return None
        number = int(value[24:], 16) ^ self._masks[kind]
        if self.encode(kind, number) != value.lower():
            return None
        return number


def is_uuid(value: str) -> bool:
    return bool(UUID_RE.match(value))
