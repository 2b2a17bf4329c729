"""Property tests: custom field values generated from the published spec's schema, type by type, and the
text the connector makes of them (see ``tests/data/intellihr/README.md`` and the spec for the shapes)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hrsync.sources.base import Lifecycle
from hrsync.sources.intellihr.normalise import StatusMapper, normalise_person

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "intellihr" / "intellihr-public-api-v1.json"


@cache
def value_schemas() -> list[dict[str, Any]]:
    """The alternatives of ``customFieldsResponse``'s ``value``: string, select, multi-select, people dropdown."""
    spec = json.loads(SPEC_PATH.read_text())
    entry = spec["components"]["schemas"]["customFieldsResponse"]["additionalProperties"]
    alternatives: list[dict[str, Any]] = entry["properties"]["value"]["oneOf"]
    return alternatives


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for the (OAS 3.0) schema; optional properties sometimes left out."""
    kind = schema.get("type")
    if kind == "string":
        strategy: st.SearchStrategy[Any] = st.text(max_size=12)
    elif kind == "array":
        strategy = st.lists(from_schema(schema["items"]), max_size=4)
    elif kind == "object":
        props = {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
        required = set(schema.get("required", props))
        strategy = st.fixed_dictionaries(
            {k: v for k, v in props.items() if k in required},
            optional={k: v for k, v in props.items() if k not in required},
        )
    else:
        raise AssertionError(f"unexpected schema {schema}")
    return st.one_of(st.none(), strategy) if schema.get("nullable") else strategy


def _shape(n: int) -> st.SearchStrategy[Any]:
    return from_schema(value_schemas()[n])


SCALAR, SINGLE, MULTI, DROPDOWN = range(4)
MAPPER = StatusMapper({"Current Staff": Lifecycle.ACTIVE})


def normalised(kind: str, value: Any, wanted: frozenset[str] | None = None) -> Any:
    raw = {
        "id": "p1",
        "employmentStatus": "Current Staff",
        "customFields": {"field": {"definitionId": "d", "name": "Field", "type": kind, "value": value}},
    }
    return normalise_person(raw, MAPPER, wanted=wanted)


def _blank_to_none(text: str) -> str | None:
    return text if text and not text.isspace() else None


def check_both_ways(kind: str, value: Any, expected: str | None, extra: dict[str, str | None] | None = None) -> None:
    """A full normalisation and one limited to the wanted keys agree, and give ``expected``."""
    full = normalised(kind, value)
    keys = frozenset({"custom.field", *(extra or {})})
    limited = normalised(kind, value, wanted=keys)
    for person in (full, limited):
        assert not person.field_problems
        assert person.values["custom.field"] == expected
        for key, text in (extra or {}).items():
            assert person.values[key] == text


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["TEXT", "NUMBER", "DATE"]), value=st.one_of(st.none(), _shape(SCALAR)))
def test_scalars_are_their_text(kind: str, value: str | None) -> None:
    check_both_ways(kind, value, None if value is None else _blank_to_none(value))


@settings(max_examples=60, deadline=None)
@given(st.integers(-(10**9), 10**9))
def test_numbers_are_text(number: int) -> None:
    check_both_ways("NUMBER", str(number), str(number))


@settings(max_examples=60, deadline=None)
@given(value=_shape(SINGLE))
def test_single_select_is_its_label(value: dict[str, str]) -> None:
    check_both_ways("SINGLE_SELECT", value, _blank_to_none(value["label"]))


@settings(max_examples=60, deadline=None)
@given(value=_shape(MULTI))
def test_multi_select_is_its_labels_in_order_joined(value: dict[str, list[str]]) -> None:
    labels = [label for label in value["labels"] if _blank_to_none(label)]
    check_both_ways("MULTI_SELECT", value, ", ".join(labels) or None)


@settings(max_examples=60, deadline=None)
@given(value=_shape(DROPDOWN))
def test_people_dropdown_is_the_persons_name_and_number(value: dict[str, Any]) -> None:
    person = value["options"].get("person") or {}
    name, number = person.get("displayName"), person.get("employeeNumber")
    check_both_ways(
        "PEOPLE_DROPDOWN",
        value,
        _blank_to_none(name) if name is not None else None,
        {"custom.field.employeeNumber": _blank_to_none(number) if number is not None else None},
    )


unknown_shapes = st.one_of(
    st.lists(st.text(max_size=5), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["score", "outOf", "rating", "stars"]), st.integers(), min_size=1),
    st.fixed_dictionaries({"id": st.text(max_size=3), "displayName": st.text(max_size=5)}),  # the old guess
)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["RATING", "TEXT", "PEOPLE_DROPDOWN"]), value=unknown_shapes)
def test_an_unknown_shape_is_a_problem_naming_the_field_never_a_blank(kind: str, value: Any) -> None:
    for person in (normalised(kind, value), normalised(kind, value, wanted=frozenset({"custom.field"}))):
        assert "custom.field" not in person.values  # absent (the member keeps its value), not blank
        assert "'Field' (field)" in person.field_problems["custom.field"]
        assert kind in person.field_problems["custom.field"]
