"""Scoping rules: which people of the HR directory the programme is for.

An integration's ``scope_rules`` (JSON, ``null`` = everyone) is a list of rules::

    {"effect": "include" | "exclude", "field": <source key>, "op": "equals" | "one_of" | "is_empty",
     "values": [...], "label": <optional, e.g. "casual workers">}

**Semantics** (decision 0026):

* with no rules, everyone is in scope;
* if any ``include`` rule exists, a person must match at least one of them;
* a person matching any ``exclude`` rule is out of scope, whatever the include rules say
  (exclude wins);
* ``equals`` / ``one_of`` compare the value trimmed and ignoring case with the rule's values;
  ``is_empty`` matches a blank value and a field the source did not deliver;
* a field the source **could not read** for the person (``SourcePerson.field_problems``) never
  excludes anyone: it matches no rule, and a person left out of every include rule only because
  such a field could not be read stays in scope. A read glitch must not make members leavers.

The rule that decided is reported (:class:`Decision`): the first matching exclude rule, the first
matching include rule, or :data:`NO_INCLUDE` for a person left out because no include rule matched.
An out-of-scope person is treated as an inactive one (:func:`scoped`): never created, and an existing
member becomes a leaver under the usual rules and the brake.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from hrsync.sources.base import Lifecycle, SourcePerson

EFFECTS: Final = ("include", "exclude")
OPS: Final = ("equals", "one_of", "is_empty")
OP_LABELS: Final = {"equals": "is", "one_of": "is one of", "is_empty": "is empty"}
MAX_RULES: Final = 50
MAX_VALUES: Final = 200
MAX_TEXT: Final = 200

#: :attr:`Decision.rule` of a person left out because include rules exist and none matched.
NO_INCLUDE: Final = -1


@dataclass(frozen=True, slots=True)
class ScopeRule:
    effect: str
    field: str
    op: str
    values: tuple[str, ...] = ()
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"effect": self.effect, "field": self.field, "op": self.op, "values": list(self.values)}
        if self.label:
            out["label"] = self.label
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ScopeRule:
        return cls(str(d["effect"]), str(d["field"]), str(d["op"]), tuple(str(v) for v in d.get("values") or ()),
                   d.get("label") or None)

    def condition(self, field_labels: Mapping[str, str] | None = None) -> str:
        """ "Work type is one of Casual, Contractor" """
        name = (field_labels or {}).get(self.field, self.field)
        if self.op == "is_empty":
            return f"{name} is empty"
        return f"{name} {OP_LABELS[self.op]} {', '.join(self.values)}"

    def describe(self, field_labels: Mapping[str, str] | None = None) -> str:
        """ "Exclude casual workers (Work type is Casual)" """
        verb = "Exclude" if self.effect == "exclude" else "Include"
        condition = self.condition(field_labels)
        return f"{verb} {self.label} ({condition})" if self.label else f"{verb} people whose {condition}"


@dataclass(frozen=True, slots=True)
class Decision:
    in_scope: bool
    rule: int | None  # index of the rule that decided, NO_INCLUDE, or None (no rules / no rule matched)


EVERYONE: Final = Decision(True, None)


def _fold(value: str) -> str:
    return value.strip().casefold()


@dataclass(frozen=True, slots=True)
class Scope:
    """Compiled rules; :meth:`decide` once per person."""

    rules: tuple[ScopeRule, ...]
    # (index, field, op, folded values) per effect
    includes: tuple[tuple[int, str, str, frozenset[str]], ...]
    excludes: tuple[tuple[int, str, str, frozenset[str]], ...]

    @classmethod
    def of(cls, rules: Sequence[ScopeRule | Mapping[str, Any]] | None) -> Scope:
        parsed = tuple(r if isinstance(r, ScopeRule) else ScopeRule.from_json(r) for r in rules or ())
        compiled = [(i, r.field, r.op, frozenset(_fold(v) for v in r.values)) for i, r in enumerate(parsed)]
        return cls(parsed, tuple(c for c, r in zip(compiled, parsed, strict=True) if r.effect == "include"),
                   tuple(c for c, r in zip(compiled, parsed, strict=True) if r.effect == "exclude"))

    def __bool__(self) -> bool:
        return bool(self.rules)

    @property
    def fields(self) -> set[str]:
        """The source fields the rules read (to be fetched and fingerprinted)."""
        return {r.field for r in self.rules}

    def decide(self, values: Mapping[str, str | None], problems: Mapping[str, str] | None = None) -> Decision:
        if not self.rules:
            return EVERYONE
        problems = problems or {}
        for index, field, op, wanted in self.excludes:
            if field not in problems and _matches(values, field, op, wanted):
                return Decision(False, index)
        if not self.includes:
            return EVERYONE
        unreadable = False
        for index, field, op, wanted in self.includes:
            if field in problems:
                unreadable = True
            elif _matches(values, field, op, wanted):
                return Decision(True, index)
        return Decision(True, None) if unreadable else Decision(False, NO_INCLUDE)

    def canonical(self) -> str:
        """One text per rule list, for the fingerprint key."""
        return json.dumps([r.to_json() for r in self.rules], sort_keys=True, ensure_ascii=False)


def _matches(values: Mapping[str, str | None], field: str, op: str, wanted: frozenset[str]) -> bool:
    raw = values.get(field)
    if op == "is_empty":
        return raw is None or not raw.strip()
    return raw is not None and _fold(raw) in wanted


def scoped(person: SourcePerson, scope: Scope) -> tuple[SourcePerson, Decision]:
    """``person`` as the planner should see them: an out-of-scope person as an inactive one."""
    if not scope:
        return person, EVERYONE
    decision = scope.decide(person.values, person.field_problems)
    if decision.in_scope or person.lifecycle == Lifecycle.INACTIVE:
        return person, decision
    return replace(person, lifecycle=Lifecycle.INACTIVE), decision


def validate_rules(
    rules: Any, available_source_keys: Collection[str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The clean rules (JSON) and every problem with them, one sentence each (empty when fine)."""
    if rules is None:
        return [], []
    if not isinstance(rules, list):
        return [], ["Scoping rules must be a list."]
    problems: list[str] = []
    clean: list[dict[str, Any]] = []
    if len(rules) > MAX_RULES:
        problems.append(f"At most {MAX_RULES} scoping rules.")
    for number, rule in enumerate(rules, start=1):
        where = f"Scoping rule {number}"
        if not isinstance(rule, Mapping):
            problems.append(f"{where} is not a rule.")
            continue
        effect, field, op = rule.get("effect"), rule.get("field"), rule.get("op")
        if effect not in EFFECTS:
            problems.append(f"{where}: choose include or exclude.")
        if not isinstance(field, str) or not field.strip():
            problems.append(f"{where}: choose the field it reads.")
            field = ""
        elif available_source_keys is not None and field.strip() not in available_source_keys:
            problems.append(f"{where}: the source does not offer the field {field!r}.")
        if op not in OPS:
            problems.append(f"{where}: choose equals, one of or is empty.")
        raw_values = rule.get("values") or []
        if isinstance(raw_values, str):
            raw_values = [raw_values]
        values = [str(v).strip() for v in raw_values if isinstance(v, str | int | float) and str(v).strip()]
        if op == "equals" and len(values) != 1:
            problems.append(f"{where}: 'equals' compares with exactly one value.")
        elif op == "one_of" and not values:
            problems.append(f"{where}: 'one of' needs at least one value.")
        elif op == "is_empty":
            values = []
        if len(values) > MAX_VALUES or any(len(v) > MAX_TEXT for v in values):
            problems.append(f"{where}: at most {MAX_VALUES} values of {MAX_TEXT} characters.")
        label = rule.get("label")
        label = label.strip() if isinstance(label, str) and label.strip() else None
        if label is not None and len(label) > 80:
            problems.append(f"{where}: the label is longer than 80 characters.")
        out: dict[str, Any] = {"effect": effect, "field": str(field).strip(), "op": op, "values": values}
        if label:
            out["label"] = label
        clean.append(out)
    return clean, problems
