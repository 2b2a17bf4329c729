"""Scoping rules: who the programme is for (decision 0026), against a small reference model."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hrsync.domain.fields import DEFAULT_MAPPING
from hrsync.domain.fingerprint import Fingerprinter
from hrsync.domain.plan_types import ChangeKind
from hrsync.domain.records import compile_mapping
from hrsync.domain.scoping import NO_INCLUDE, Scope, ScopeRule, scoped, validate_rules
from hrsync.domain.vocabulary import MemberStatus
from hrsync.sources.base import Lifecycle, SourcePerson

from .domain_builders import member, person, plan

FIELDS = ("job.workType", "custom.location", "job.businessUnit")
WORDS = ("Casual", "casual ", "Full time", "Contractor", "", " ")

rules_st = st.lists(st.builds(
    ScopeRule,
    effect=st.sampled_from(["include", "exclude"]),
    field=st.sampled_from(FIELDS),
    op=st.sampled_from(["equals", "one_of", "is_empty"]),
    values=st.lists(st.sampled_from(WORDS[:4]), min_size=1, max_size=3).map(tuple),
), max_size=5)
values_st = st.dictionaries(st.sampled_from(FIELDS), st.none() | st.sampled_from(WORDS), max_size=3)
problems_st = st.dictionaries(st.sampled_from(FIELDS), st.just("unreadable"), max_size=1)


def reference(rules: list[ScopeRule], values: dict[str, str | None], problems: dict[str, str]) -> tuple[bool, Any]:
    """The semantics as the decision note states them, written plainly."""
    def matches(rule: ScopeRule) -> bool:
        if rule.field in problems:
            return False
        value = values.get(rule.field)
        if rule.op == "is_empty":
            return value is None or value.strip() == ""
        return value is not None and value.strip().lower() in {v.strip().lower() for v in rule.values}

    for i, rule in enumerate(rules):
        if rule.effect == "exclude" and matches(rule):
            return False, i
    includes = [(i, r) for i, r in enumerate(rules) if r.effect == "include"]
    if not includes:
        return True, None
    for i, rule in includes:
        if matches(rule):
            return True, i
    if any(rule.field in problems for _i, rule in includes):
        return True, None  # an unreadable field never leaves anyone out
    return False, NO_INCLUDE


@given(rules_st, values_st, problems_st)
def test_decisions_follow_the_reference_model(
    rules: list[ScopeRule], values: dict[str, str | None], problems: dict[str, str]
) -> None:
    decision = Scope.of(rules).decide(values, problems)
    assert (decision.in_scope, decision.rule) == reference(rules, values, problems)


@given(rules_st, values_st)
def test_an_out_of_scope_person_is_inactive_and_others_are_untouched(
    rules: list[ScopeRule], values: dict[str, str | None]
) -> None:
    p = SourcePerson("r1", "Current Staff", Lifecycle.ACTIVE, values)
    shaped, decision = scoped(p, Scope.of(rules))
    assert shaped.lifecycle == (Lifecycle.ACTIVE if decision.in_scope else Lifecycle.INACTIVE)
    assert shaped.values == p.values and shaped.source_id == p.source_id


def test_json_rules_round_trip_and_describe_themselves() -> None:
    raw = [{"effect": "exclude", "field": "job.workType", "op": "equals", "values": ["Casual"],
            "label": "casual workers"},
           {"effect": "include", "field": "custom.location", "op": "one_of", "values": ["Sydney", "Perth"]}]
    clean, problems = validate_rules(raw, {"job.workType", "custom.location"})
    assert problems == [] and clean == raw
    scope = Scope.of(clean)
    assert [r.to_json() for r in scope.rules] == raw
    labels = {"job.workType": "Work type", "custom.location": "Location"}
    assert scope.rules[0].describe(labels) == "Exclude casual workers (Work type is Casual)"
    assert scope.rules[1].describe(labels) == "Include people whose Location is one of Sydney, Perth"


def test_validation_names_every_problem() -> None:
    _clean, problems = validate_rules([
        {"effect": "drop", "field": "job.workType", "op": "equals", "values": ["A"]},
        {"effect": "exclude", "field": "", "op": "equals", "values": ["A"]},
        {"effect": "exclude", "field": "nowhere", "op": "equals", "values": ["A", "B"]},
        {"effect": "include", "field": "job.workType", "op": "one_of", "values": []},
        {"effect": "include", "field": "job.workType", "op": "like", "values": ["x"]},
    ], {"job.workType"})
    assert problems == [
        "Scoping rule 1: choose include or exclude.",
        "Scoping rule 2: choose the field it reads.",
        "Scoping rule 3: the source does not offer the field 'nowhere'.",
        "Scoping rule 3: 'equals' compares with exactly one value.",
        "Scoping rule 4: 'one of' needs at least one value.",
        "Scoping rule 5: choose equals, one of or is empty.",
    ]
    assert validate_rules(None) == ([], [])


def test_the_planner_never_creates_an_excluded_person_and_makes_an_excluded_member_a_leaver() -> None:
    scope = Scope.of([{"effect": "exclude", "field": "job.workType", "op": "equals", "values": ["Casual"]}])
    people = [person("E1", "a@example.com", job__workType="Casual"),
              person("E2", "b@example.com", job__workType="casual"),
              person("E3", "c@example.com", job__workType="Full time")]
    shaped = [scoped(p, scope)[0] for p in people]
    result = plan([member(1, "E2", "b@example.com")], shaped)
    kinds = {c.employee_id: c.kind for c in result.changes}
    assert kinds == {"E2": ChangeKind.LEAVER, "E3": ChangeKind.CREATE}
    assert result.ignored_count == 1  # E1: excluded and never a member
    leaver = next(c for c in result.changes if c.kind == ChangeKind.LEAVER)
    assert leaver.new_status == MemberStatus.LEAVER


def test_rules_key_the_fingerprint_and_their_fields_are_in_the_basis() -> None:
    compiled = compile_mapping(DEFAULT_MAPPING)
    scope = Scope.of([{"effect": "exclude", "field": "job.workType", "op": "equals", "values": ["Casual"]}])
    other = Scope.of([{"effect": "exclude", "field": "job.workType", "op": "equals", "values": ["Contractor"]}])

    def fp(s: Scope | None) -> Fingerprinter:
        return Fingerprinter.for_import(DEFAULT_MAPPING, compiled, integration_id=1, blanks_clear_values=False,
                                        schema_revision="x", scope=s)

    p = person("E1", "a@example.com", job__workType="Full time")
    prints = {fp(s).of(fp(s).basis(p), "E1", "a@example.com") for s in (None, scope, other)}
    assert len(prints) == 3
    assert "job.workType" in fp(scope).sources
    assert fp(scope).basis(p) != fp(scope).basis(person("E1", "a@example.com", job__workType="Casual"))


def test_the_closest_values_to_a_rule_that_matches_nobody() -> None:
    from collections import Counter

    from hrsync.domain.scope_hints import MAX_COUNTED, closest, count_value

    seen: Counter[str] = Counter()
    for value in ["Temporary/Casual"] * 19 + ["Permanent"] * 60 + ["  casuals "] + [None, " ", "Fixed Contract"]:
        count_value(seen, value)
    assert seen == {"Temporary/Casual": 19, "Permanent": 60, "casuals": 1, "Fixed Contract": 1}
    # containing (or contained in) the rule's value first, ignoring case; unrelated values never
    assert closest(["Casual"], seen) == [("casuals", 1), ("Temporary/Casual", 19)]
    assert closest(["Permanant"], seen) == [("Permanent", 60)]  # a typo: the most similar
    assert closest(["Contractor"], seen)[0] == ("Fixed Contract", 1)
    assert closest([" "], seen) == [] and closest(["Zebra"], seen) == []
    many: Counter[str] = Counter()
    for n in range(MAX_COUNTED + 10):
        count_value(many, f"v{n}")
    count_value(many, "v0")
    assert len(many) == MAX_COUNTED and many["v0"] == 2  # bounded: known values still counted
