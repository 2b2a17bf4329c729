"""What the setup wizard's Mapping step learns from a sample of the directory, for the page and its script.

* :func:`read_sample`: the first :data:`~hrsync.services.coverage.SAMPLE_PEOPLE` people, read once,
  give the key coverage (:mod:`hrsync.services.coverage`) **and** a profile of every source field:
  how many people fill it (the same rule, :func:`~hrsync.services.coverage.filled_values`) and, for a
  field with few distinct values, those values with their counts. The page sends the profile to its
  script, so the line under a member field says "0 of 200 have a value" the moment a field nobody
  has is chosen, and a scoping rule suggests values that really occur ("Temporary/Casual").
* :func:`field_values`: the same suggestions for one field the sample did not read (a job detail).
* :func:`preview_transforms`: people whose values the transforms really change, before and after.

Values of sensitive or personal fields and of e-mail fields are never suggested; no example value
goes to the script (the page shows masked examples it rendered itself).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from hrsync.domain.display import source_name, target_label
from hrsync.domain.fields import KEY_FIELDS, needs_job_details
from hrsync.domain.transforms import ABSENT, compile_one
from hrsync.domain.transforms import inputs as transform_inputs
from hrsync.services.coverage import KEY_COVERAGE_MIN, SAMPLE_PEOPLE, Coverage, filled_values, measure, sample
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import source_for
from hrsync.sources.base import SourceError, SourceField, SourcePerson
from hrsync.store.models import Integration

log = logging.getLogger(__name__)

#: A field with more distinct values than this in the sample (names, numbers) suggests none.
SUGGEST_MAX_DISTINCT: Final = 40
#: People a transform preview shows (those the transforms change, from the start of the directory).
TRANSFORM_PREVIEW_PEOPLE: Final = 3


def suggestible(source_field: SourceField) -> bool:
    """Whether a field's values may be offered to the administrator as scoping values."""
    return not (source_field.sensitive or source_field.personal or source_field.kind == "email")


def value_counts(people: Iterable[SourcePerson], source_key: str) -> list[tuple[str, int]]:
    """The distinct filled values of ``source_key`` with how many people have each, most common first
    (ties by value); empty when there are more than :data:`SUGGEST_MAX_DISTINCT` (nothing repeats) or
    when no value repeats at all."""
    counts = Counter(filled_values(people, source_key))
    if not counts or len(counts) > SUGGEST_MAX_DISTINCT or max(counts.values()) < 2 <= len(counts):
        return []
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].casefold()))


@dataclass(frozen=True)
class FieldSample:
    filled: int
    measured: bool = True  # False: a job detail the sample did not read
    values: list[tuple[str, int]] = field(default_factory=list)  # suggestions, most common first


@dataclass(frozen=True)
class Sample:
    """The sampled people's profile of every source field, and the mapping's coverage (None when the
    mapping is incomplete)."""

    sampled: int
    fields: dict[str, FieldSample]
    coverage: Coverage | None

    asked: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # read apart (job details)

    def suggestions(self, source_key: str) -> list[tuple[str, int]]:
        found = self.fields.get(source_key)
        if found is not None and found.measured:
            return found.values
        return self.asked.get(source_key, [])

    def for_script(self) -> dict[str, Any]:
        """What the page's script needs to word coverage and suggest values (JSON-ready)."""
        return {
            "sampled": self.sampled, "keyMin": KEY_COVERAGE_MIN,
            "fields": {key: {"filled": f.filled, "measured": f.measured, "values": self.suggestions(key)}
                       for key, f in self.fields.items()},
        }


def _details_wanted(mapping: Mapping[str, str]) -> bool:
    return any(needs_job_details(mapping[k]) for k in KEY_FIELDS if mapping.get(k))


def profile(people: Sequence[SourcePerson], fields: Sequence[SourceField], mapping: Mapping[str, str],
            coverage: Coverage | None) -> Sample:
    details = _details_wanted(mapping)
    out: dict[str, FieldSample] = {}
    for f in fields:
        if needs_job_details(f.key) and not details:
            out[f.key] = FieldSample(0, measured=False)
            continue
        out[f.key] = FieldSample(len(filled_values(people, f.key)), True,
                                 value_counts(people, f.key) if suggestible(f) else [])
    return Sample(len(people), out, coverage)


def read_sample(integration: Integration, mapping: Mapping[str, str], fields: Sequence[SourceField],
                mapping_problems: Sequence[str] = (), rule_fields: Iterable[str] = ()) -> Sample | None:
    """One read of the sample: the profile of ``fields`` and (for a complete mapping) its coverage;
    the suggestions of ``rule_fields`` the sample does not read (job details) in a second read.
    None when the source cannot be read now."""
    cheap = [f.key for f in fields if not needs_job_details(f.key)]
    try:
        with source_for(integration, concurrency=1) as source:
            people = sample(source, mapping, also=cheap)
    except (SourceError, ServiceError) as exc:
        log.info("integration %s: no sample for the mapping step (%s)", integration.id, exc.reason)
        return None
    coverage = None if mapping_problems else measure(people, mapping)
    found = profile(people, fields, mapping, coverage)
    unread = [f for f in fields if f.key in set(rule_fields) and not found.fields[f.key].measured]
    if unread:
        found.asked.update(field_values(integration, unread))
    return found


def field_values(integration: Integration, source_fields: Sequence[SourceField]) -> dict[str, list[tuple[str, int]]]:
    """Suggested values of a few fields, read from one sample now (job details fetched if one is)."""
    wanted = [f for f in source_fields if suggestible(f)]
    if not wanted:
        return {}
    keys = {f.key for f in wanted}
    try:
        with source_for(integration, concurrency=1) as source:
            people: list[SourcePerson] = []
            stream = source.people(fields=keys, include_job_details=any(needs_job_details(k) for k in keys))
            try:
                for person in stream:
                    people.append(person)
                    if len(people) >= SAMPLE_PEOPLE:
                        break
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
    except (SourceError, ServiceError):
        return {}
    return {f.key: value_counts(people, f.key) for f in wanted}


@dataclass(frozen=True)
class TransformPreview:
    people: list[dict[str, Any]]  # [{"name", "rows": [{"target", "label", "before", "after"}]}]
    read: int  # people read to find them
    changed: int  # of those, how many the transforms change


def _blank(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and not value) else value


def preview_transforms(
    integration: Integration, mapping: Mapping[str, str], transforms: Mapping[str, Mapping[str, Any]],
    people: int = TRANSFORM_PREVIEW_PEOPLE,
) -> TransformPreview:
    """A few people whose values the (valid) transforms change, before and after, read from the
    source now among its first :data:`SAMPLE_PEOPLE` people; a row only for a value that changes
    (compared with what the member field gets without the transform). Sensitive source fields are
    not shown (their values stay in the HR system's hands)."""
    if not transforms:
        return TransformPreview([], 0, 0)
    compiled = {t: compile_one(spec, mapping.get(t, "")) for t, spec in transforms.items()}
    reads = {f for t, spec in transforms.items() for f in transform_inputs(spec, mapping.get(t))}
    wanted = reads | set(mapping.values())
    shown: list[dict[str, Any]] = []
    read = changed = 0
    try:
        with source_for(integration, concurrency=1, consume=False) as source:
            source_fields = source.fields()
            sensitive = {f.key for f in source_fields if f.sensitive}
            labels = {f.key: f.label for f in source_fields}
            for person in source.people(include_job_details=any(needs_job_details(k) for k in wanted),
                                        fields=wanted):
                read += 1
                rows = []
                for target, transform in compiled.items():
                    after = transform(person.values)
                    source_key = mapping.get(target)
                    without = person.values.get(source_key) if source_key else None
                    if after is ABSENT or _blank(after) == _blank(without):
                        continue
                    inputs = transform_inputs(transforms[target], source_key)
                    hidden = bool(sensitive & set(inputs))
                    before = " · ".join(str(person.values.get(k) or "") for k in inputs).strip(" ·")
                    rows.append({"target": target, "label": target_label(target, source_key, labels),
                                 "before": "(hidden: sensitive)" if hidden else before,
                                 "after": "(hidden: sensitive)" if hidden else after or ""})
                if rows:
                    changed += 1
                    if len(shown) < people:
                        shown.append({"name": source_name(person.values, mapping) or "(no name)", "rows": rows})
                if read >= SAMPLE_PEOPLE:
                    break
    except SourceError:
        return TransformPreview([], 0, 0)
    return TransformPreview(shown, read, changed)
