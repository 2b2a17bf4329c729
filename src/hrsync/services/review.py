"""What the setup wizard's Review step explains: the mapping in human words, every person read, and
examples of the changes (worded by :func:`hrsync.domain.display.change_lines`, as every page words them).

* :func:`mapping_rows`: each member field's label (:func:`hrsync.domain.display.field_label`) next
  to the label the Mapping step shows for its source field (the source's own field list).
* :func:`people_read`: the people the preview read, each counted once by what would happen to them
  (new, updated, …, excluded by the scoping rules, not imported because inactive and never a member,
  skipped because of errors),
  adding up to the number read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hrsync.domain.display import target_label
from hrsync.domain.scoping import ScopeRule
from hrsync.domain.transforms import describe as describe_transform
from hrsync.services.errors import ServiceError
from hrsync.services.integrations import mapping_of, source_for
from hrsync.sources.base import SourceError
from hrsync.store.models import ImportRun, Integration

log = logging.getLogger(__name__)

#: A source is asked for its fields with this much time at most (the review page waits for it).
FIELDS_TIME_BUDGET = 10.0

#: What each count of people means, in the order the review page explains them (singular, plural).
PEOPLE_LABELS: dict[str, tuple[str, str]] = {
    "created": ("new member", "new members"),
    "updated": ("updated", "updated"),
    "unchanged": ("unchanged", "unchanged"),
    "leavers": ("leaver", "leavers"),
    "reinstated": ("reinstated", "reinstated"),
    "pending": ("pending (pre-hire)", "pending (pre-hires)"),
    "excluded": ("excluded by your rules", "excluded by your rules"),
    "ignored": ("not imported because inactive and never a member",
                "not imported because inactive and never members"),
    "skipped": ("skipped because of errors", "skipped because of errors"),
}

#: Keys of a change that are not member fields, as people read them.


@dataclass(frozen=True)
class MappingRow:
    key: str
    label: str  # the member field's human label
    source_key: str
    source_label: str  # as the Mapping step shows the source field


def source_field_labels(integration: Integration) -> dict[str, str]:
    """The source's fields as the Mapping step lists them (``job.positionTitle`` → "Position title").

    Read from the source itself (custom fields have their own names); empty when the source cannot
    be read now, and the page then shows the stored keys.
    """
    try:
        with source_for(integration, time_budget=FIELDS_TIME_BUDGET, concurrency=1) as source:
            return {f.key: f.label for f in source.fields()}
    except (SourceError, ServiceError) as exc:
        log.info("integration %s: source fields not read for the review (%s)", integration.id, exc.reason)
        return {}


def mapping_rows(integration: Integration, labels: Mapping[str, str] | None = None) -> list[MappingRow]:
    """``labels``: the source's field labels when the caller read them already."""
    labels = source_field_labels(integration) if labels is None else labels
    return [
        MappingRow(key=key, label=target_label(key, source, labels), source_key=source,
                   source_label=labels.get(source, source))
        for key, source in mapping_of(integration).items()
    ]


@dataclass(frozen=True)
class PeopleLine:
    key: str
    count: int

    @property
    def label(self) -> str:
        singular, plural = PEOPLE_LABELS[self.key]
        return singular if self.count == 1 else plural


@dataclass(frozen=True)
class PeopleRead:
    """Everyone a preview read, each in exactly one line."""

    read: int
    lines: list[PeopleLine]
    vanished_leavers: int  # members made leavers though nobody read carries them (not among ``read``)

    @property
    def accounted(self) -> int:
        return sum(line.count for line in self.lines)

    @property
    def sentence(self) -> str:
        """ "120 people read: 60 new members, 12 not imported because inactive and never members, …" """
        parts = [f"{line.count:,} {line.label}" for line in self.lines if line.count]
        head = f"{self.read:,} {'person' if self.read == 1 else 'people'} read"
        return f"{head}: {', '.join(parts)}." if parts else f"{head}."


def people_read(run: ImportRun) -> PeopleRead:
    """The preview's people, as the runner counted them when it planned (``plan["people"]``).

    A run recorded before people were counted falls back to its counters (errors are then counted
    per issue, and vanished leavers cannot be told apart).
    """
    plan = run.plan if isinstance(run.plan, dict) else {}
    stored: Mapping[str, Any] = plan.get("people") if isinstance(plan.get("people"), dict) else {}  # type: ignore[assignment]
    if stored:
        counts = {key: int(stored.get(key) or 0) for key in PEOPLE_LABELS}
        read = int(stored.get("read") or 0)
        vanished = int(stored.get("vanished_leavers") or 0)
    else:
        counts = {key: int(getattr(run, key, 0) or 0) for key in PEOPLE_LABELS if key != "skipped"}
        counts["skipped"] = int(run.errors or 0)
        read, vanished = int(run.total or 0), 0
    return PeopleRead(read=read, lines=[PeopleLine(k, counts[k]) for k in PEOPLE_LABELS], vanished_leavers=vanished)


@dataclass(frozen=True)
class ScopeLine:
    """One scoping rule's effect in a preview: "Excludes 37 casual workers (Work type is Casual)"."""

    sentence: str
    people: int
    leavers: int
    examples: list[str]
    effect: str


def scope_lines(run: ImportRun, field_labels: Mapping[str, str] | None = None) -> list[ScopeLine]:
    """What each scoping rule did in a preview or dry run (``plan["scope"]``, kept by the runner)."""
    plan = run.plan if isinstance(run.plan, dict) else {}
    lines = []
    for entry in plan.get("scope") or []:
        people, leavers = int(entry.get("people") or 0), int(entry.get("leavers") or 0)
        noun = "person" if people == 1 else "people"
        if entry.get("rule") is None:
            sentence = f"Leaves out {people:,} {noun} no include rule matches"
        else:
            rule = ScopeRule.from_json(entry)
            verb = "Excludes" if rule.effect == "exclude" else "Includes"
            who = rule.label or noun
            sentence = f"{verb} {people:,} {who} ({rule.condition(field_labels)})"
        if not people and entry.get("rule") is not None and "seen" in entry:
            sentence += _why_nobody(entry)
        if leavers:
            members = "is a member who" if leavers == 1 else "are members who"
            sentence += f"; {leavers:,} of them {members} would become leaver{'' if leavers == 1 else 's'}"
        lines.append(ScopeLine(sentence + ".", people, leavers, [str(e) for e in entry.get("examples") or []],
                               str(entry.get("effect") or "exclude")))
    return lines


def _why_nobody(entry: Mapping[str, Any]) -> str:
    """": no person read has that value; the closest are Temporary/Casual (25 people)" """
    seen = [(str(v), int(n)) for v, n in entry.get("seen") or []]
    if not entry.get("seen_any"):
        return ": the field is blank for everyone read"
    one = len(entry.get("values") or []) == 1
    head = f": no person read has {'that value' if one else 'any of those values'}"
    if not seen:
        return head
    shown = ", ".join(f"{value} ({count:,} {'person' if count == 1 else 'people'})" for value, count in seen)
    return f"{head}; the closest {'value is' if len(seen) == 1 else 'values are'} {shown}"


def rule_lines(integration: Integration, labels: Mapping[str, str] | None = None) -> list[str]:
    """The integration's scoping rules as the Mapping step words them ("Exclude casual workers (Work
    type is Temporary/Casual)"), with the source's field labels."""
    return [ScopeRule.from_json(rule).describe(labels) for rule in integration.scope_rules or []]


def transform_lines(integration: Integration, labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(member field's label, what its transform does) per transform, labelled as the Mapping step does."""
    mapping = mapping_of(integration)
    return [(target_label(target, mapping.get(target), labels), describe_transform(spec, labels or {}))
            for target, spec in (integration.transforms or {}).items()]
