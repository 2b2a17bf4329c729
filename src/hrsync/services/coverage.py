"""Key coverage before publishing: does this mapping reach the people of this directory?

A sample of the directory (its first :data:`SAMPLE_PEOPLE` people, two pages of an HR API's list) is
read through the connector and each person is drafted with the domain's own rules
(:func:`hrsync.domain.records.build_draft`), so "would this person be skipped?" is decided in one place.

Two findings stop a publish (and ``hrsync integration add``):

* **The unique key is (almost) never filled.** Fewer than :data:`KEY_COVERAGE_MIN` (5 %) of the sampled
  people have a value in the field mapped to Employee ID, as in a tenant that hides employee numbers.
  A kind of source's fallback key (:attr:`hrsync.sources.kind.SourceKind.fallback_key`, a field
  every person has, such as the HR system's own record number) is offered instead where the sample has it.
* **Nobody would be imported.** Every sampled person would be skipped for any other reason (Email
  mapped to a field that never holds an e-mail address, for example).

An empty directory proves nothing and stops nothing. Example values shown to the administrator are
masked where they are contact details: an e-mail address keeps the first character of its local part
and its domain (``a•••@example.com``), a phone number and a date of birth keep their last two characters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from hrsync.domain.fields import EMAIL, EMPLOYEE_ID, KEY_FIELDS, MEMBER_FIELDS, FieldKind, needs_job_details
from hrsync.domain.records import build_draft, compile_mapping
from hrsync.services.errors import ServiceError
from hrsync.sources.base import Source, SourcePerson
from hrsync.sources.registry import kinds

SAMPLE_PEOPLE: Final = 200
"""Two pages of an HR API's people list (100 a page)."""
KEY_COVERAGE_MIN: Final = 0.05
"""Below this share of sampled people with a unique key, the key is reported as missing."""


def fallback_keys() -> tuple[tuple[str, str], ...]:
    """Every kind's fallback key, (source key, label); a sample is measured for each."""
    return tuple(k.fallback_key for k in kinds() if k.fallback_key is not None)


MASK: Final = "•••"

# what an issue code of build_draft means, in words, without the person's value
_WHY = {
    "missing_employee_id": "is blank",
    "missing_email": "is blank",
    "invalid_email": "is not an e-mail address",
    "too_long": "is too long",
    "illegal_characters": "contains characters that are not allowed",
}


@dataclass(frozen=True, slots=True)
class FieldCoverage:
    target: str
    label: str
    source_key: str
    filled: int
    sampled: int
    example: str | None  # masked where it is a contact detail
    measured: bool = True  # False: a job detail, read only by an import

    @property
    def share(self) -> float:
        return self.filled / self.sampled if self.sampled else 0.0


@dataclass(frozen=True, slots=True)
class Coverage:
    sampled: int
    importable: int
    fields: dict[str, FieldCoverage]
    skips: Counter[tuple[str, str]] = field(default_factory=Counter)  # (field, code) → people skipped
    fallback_filled: dict[str, int] = field(default_factory=dict)  # fallback key → people who have it

    @property
    def key(self) -> FieldCoverage | None:
        return self.fields.get(EMPLOYEE_ID)

    @property
    def key_missing(self) -> bool:
        """The unique key's field is empty for all or almost all sampled people."""
        key = self.key
        return self.sampled > 0 and key is not None and key.measured and key.share < KEY_COVERAGE_MIN

    @property
    def fallback(self) -> tuple[str, str] | None:
        """The fallback key (source key, label) to offer instead of a missing unique key, or None."""
        key = self.key
        if not self.key_missing or key is None:
            return None
        for source_key, label in fallback_keys():
            share = self.fallback_filled.get(source_key, 0) / self.sampled
            if source_key != key.source_key and share >= KEY_COVERAGE_MIN:
                return source_key, label
        return None

    @property
    def alternative_map(self) -> str | None:
        """The command-line option that maps Employee ID to the fallback key, when one is offered."""
        fallback = self.fallback
        return None if fallback is None else f"--map {EMPLOYEE_ID}={fallback[0]}"

    @property
    def fallback_count(self) -> int:
        """How many sampled people have the offered fallback key."""
        fallback = self.fallback
        return 0 if fallback is None else self.fallback_filled.get(fallback[0], 0)

    @property
    def skips_everyone(self) -> bool:
        return self.sampled > 0 and self.importable == 0

    def key_reason(self) -> str:
        key = self.key
        assert key is not None
        what = "blank for all" if key.filled == 0 else f"filled for only {key.filled} of"
        skipped = "every one" if key.filled == 0 else f"{key.sampled - key.filled}"
        return (f"Employee ID (the unique key) comes from '{key.source_key}', which is {what} "
                f"{self.sampled} sampled people of this directory (the HR system may hide employee "
                f"numbers), so {skipped} of them would be skipped")

    def problem(self) -> str | None:
        """Why publishing this mapping is refused (one sentence, no person's value), or None."""
        if self.key_missing:
            fallback = self.fallback
            alternative = (f"; use the {fallback[1]} ('{fallback[0]}') as the key instead"
                           if fallback is not None else "; map Employee ID to a field everyone has")
            return self.key_reason() + alternative + "."
        if self.skips_everyone:
            (target, code), _count = self.skips.most_common(1)[0]
            label = MEMBER_FIELDS[target].label if target in MEMBER_FIELDS else target
            source = self.fields[target].source_key if target in self.fields else "?"
            why = _WHY.get(code, "is not valid")
            return (f"None of the {self.sampled} sampled people would be imported: {label} (from '{source}') "
                    f"{why} for them; map {label} to another field.")
        return None


def mask(target: str, value: str) -> str:
    """An example value fit to show: contact details masked (see the module doc)."""
    rule = MEMBER_FIELDS.get(target)
    kind = rule.kind if rule is not None else FieldKind.TEXT
    if kind == FieldKind.EMAIL or (kind == FieldKind.TEXT and "@" in value):
        local, at, domain = value.partition("@")
        return f"{local[:1]}{MASK}@{domain}" if at else MASK
    if kind == FieldKind.PHONE or target == "date_of_birth":
        return MASK + value[-2:]
    return value if len(value) <= 40 else value[:39] + "…"


def filled_values(people: Iterable[SourcePerson], source_key: str) -> list[str]:
    """The values of ``source_key`` that count as filled (trimmed, not blank): the one rule for "N of M
    have a value", on the mapping step's page and in its script (:mod:`hrsync.services.mapping_step`)."""
    values = (p.values.get(source_key) for p in people)
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def sample(source: Source, mapping: Mapping[str, str], limit: int = SAMPLE_PEOPLE,
           also: Iterable[str] = ()) -> list[SourcePerson]:
    """The first ``limit`` people of the directory, with the mapped fields (and the fallback keys, and
    the fields ``also`` names)."""
    wanted = {*mapping.values(), *(key for key, _label in fallback_keys()), *also}
    details = any(needs_job_details(mapping[k]) for k in KEY_FIELDS if mapping.get(k))
    people: list[SourcePerson] = []
    stream = source.people(fields=wanted, include_job_details=details)
    try:
        for person in stream:
            people.append(person)
            if len(people) >= limit:
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # stops the read: pages not needed are cancelled
    return people


def measure(people: list[SourcePerson], mapping: Mapping[str, str]) -> Coverage:
    """How many of ``people`` fill each mapped field, and how many would be imported."""
    compiled = compile_mapping(mapping)
    details = any(needs_job_details(mapping[k]) for k in KEY_FIELDS if mapping.get(k))
    fields: dict[str, FieldCoverage] = {}
    for target, source_key in mapping.items():
        if not source_key:
            continue
        label = MEMBER_FIELDS[target].label if target in MEMBER_FIELDS else target
        if needs_job_details(source_key) and not details:
            fields[target] = FieldCoverage(target, label, source_key, 0, len(people), None, measured=False)
            continue
        filled = filled_values(people, source_key)
        example = mask(target, filled[0]) if filled else None
        fields[target] = FieldCoverage(target, label, source_key, len(filled), len(people), example)
    importable = 0
    skips: Counter[tuple[str, str]] = Counter()
    for person in people:
        draft, issues = build_draft(person, compiled)
        if draft is not None:
            importable += 1
            continue
        for issue in issues:
            if issue.field in (EMPLOYEE_ID, EMAIL):
                skips[(issue.field, issue.code)] += 1
    fallbacks = {key: sum(1 for p in people if (p.values.get(key) or "").strip()) for key, _label in fallback_keys()}
    return Coverage(len(people), importable, fields, skips, fallbacks)


def coverage(source: Source, mapping: Mapping[str, str]) -> Coverage:
    return measure(sample(source, mapping), mapping)


class CoverageRefused(ServiceError):
    """A mapping that would skip (almost) everyone; ``alternative_map`` is the fix offered, if any."""

    def __init__(self, reason: str, *, code: str, alternative_map: str | None = None) -> None:
        super().__init__(reason, code=code)
        self.alternative_map = alternative_map


def refuse_if_unreachable(source: Source, mapping: Mapping[str, str]) -> Coverage:
    """Raise :class:`CoverageRefused` (code ``key_coverage`` or ``skips_everyone``) for a mapping that
    would skip (almost) every sampled person; the coverage otherwise."""
    found = coverage(source, mapping)
    reason = found.problem()
    if reason is not None:
        raise CoverageRefused(reason, code="key_coverage" if found.key_missing else "skips_everyone",
                              alternative_map=found.alternative_map)
    return found
