"""Value transforms: a small, safe set of ways to shape a source value before it is validated.

An integration's ``transforms`` (JSON) maps a **target** (a member field of the mapping, key fields
included) to one transform, chosen from a list and never code (decision 0026):

=================  ==========================================================  ==========================
``type``           what it gives                                                 reads
=================  ==========================================================  ==========================
``trim``           the value without leading and trailing spaces                 the mapped source field
``upper``          trimmed, in capitals                                          the mapped source field
``lower``          trimmed, in small letters                                     the mapped source field
``title``          trimmed, each word capitalised                                the mapped source field
``default``        the value, or ``value`` when it is blank                      the mapped source field
``lookup``         ``table[code]`` (trimmed; exact, else ignoring case);         the mapped source field
                   an unknown code gives ``default`` (or stays itself without)
``date``           a date written in ``format`` (a name of :data:`DATE_INPUTS`)  the mapped source field
                   as ISO ``YYYY-MM-DD``; anything else is left for validation
``concat``         the non-blank ``fields`` joined by ``separator``              ``fields``
``first_non_blank``  the first of ``fields`` with a non-blank value              ``fields``
=================  ==========================================================  ==========================

**Blank and absent** (as in :mod:`hrsync.domain.records`): a blank value (``None`` or only spaces)
stays blank (``None``), except for ``default``; a field the source did not deliver is *absent*
(:data:`ABSENT`), and a transform of absent input is absent (for ``concat`` and ``first_non_blank``:
when none of their fields was delivered), so a transform never turns "not delivered" into a blank
that would clear a stored value.

Everything here is pure; :func:`validate_transforms` says what is wrong with a configuration in
sentences for the administrator, :func:`compile_transforms` turns a valid one into functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Final

#: A transform's answer when its input was not delivered by the source (the target stays absent).
ABSENT: Final = ...

Value = str | None
Shaped = Any  # str | None | ABSENT (Ellipsis: not expressible as a Literal in mypy)
TransformFn = Callable[[Mapping[str, Value]], Shaped]

SINGLE: Final = ("trim", "upper", "lower", "title", "default", "lookup", "date")
MULTI: Final = ("concat", "first_non_blank")
TYPES: Final = SINGLE + MULTI

#: What the mapping step's list says of each transform.
TYPE_LABELS: Final = {
    "trim": "Trim spaces",
    "upper": "Trim and UPPER CASE",
    "lower": "Trim and lower case",
    "title": "Trim and Title Case",
    "default": "Default when blank",
    "lookup": "Lookup table (code → name)",
    "date": "Reformat a date to ISO",
    "concat": "Concatenate several fields",
    "first_non_blank": "First non-blank of several fields",
}

#: The date layouts a ``date`` transform reads (its ``format``), each as people write it.
DATE_INPUTS: Final = {
    "DD/MM/YYYY": "%d/%m/%Y",
    "MM/DD/YYYY": "%m/%d/%Y",
    "DD-MM-YYYY": "%d-%m-%Y",
    "DD.MM.YYYY": "%d.%m.%Y",
    "YYYY/MM/DD": "%Y/%m/%d",
    "YYYYMMDD": "%Y%m%d",
    "D MMM YYYY": "%d %b %Y",
}

MAX_FIELDS: Final = 5
MAX_TABLE: Final = 500
MAX_TEXT: Final = 200
MAX_SEPARATOR: Final = 5


def is_blank(value: Value) -> bool:
    return value is None or not value.strip()


# -- the transforms themselves (pure functions of one value or several) ---------------------------


def trim(value: Value) -> Value:
    return None if is_blank(value) else value.strip()  # type: ignore[union-attr]


def upper(value: Value) -> Value:
    shown = trim(value)
    return None if shown is None else shown.upper()


def lower(value: Value) -> Value:
    shown = trim(value)
    return None if shown is None else shown.lower()


def title(value: Value) -> Value:
    shown = trim(value)
    return None if shown is None else shown.title()


def default(value: Value, fallback: str) -> Value:
    return fallback if is_blank(value) else value


def lookup(value: Value, table: Mapping[str, str], fallback: str | None = None) -> Value:
    code = trim(value)
    if code is None:
        return None
    if code in table:
        return table[code]
    folded = code.casefold()
    for known, name in table.items():
        if known.strip().casefold() == folded:
            return name
    return code if fallback is None else fallback


def reformat_date(value: Value, layout: str) -> Value:
    """``value`` written as ``layout`` (a key of :data:`DATE_INPUTS`) in ISO; otherwise unchanged (the
    validator then reports it as an invalid date, with the value as it was)."""
    shown = trim(value)
    if shown is None:
        return None
    try:
        return datetime.strptime(shown, DATE_INPUTS[layout]).date().isoformat()
    except ValueError:
        return value


def concat(values: list[Value], separator: str) -> Value:
    parts = [v.strip() for v in values if not is_blank(v)]  # type: ignore[union-attr]
    return separator.join(parts) if parts else None


def first_non_blank(values: list[Value]) -> Value:
    return next((v for v in values if not is_blank(v)), None)


# -- configuration -----------------------------------------------------------------------------


def inputs(spec: Mapping[str, Any], mapped_source: str | None) -> list[str]:
    """The source fields one transform reads: its ``fields``, or the target's mapped source field."""
    if spec.get("type") in MULTI:
        return [str(f) for f in spec.get("fields") or []]
    return [mapped_source] if mapped_source else []


def source_reads(transforms: Mapping[str, Mapping[str, Any]] | None, mapping: Mapping[str, str]) -> set[str]:
    """Every source field the transforms read besides the mapping's own (to be fetched, fingerprinted)."""
    reads: set[str] = set()
    for target, spec in (transforms or {}).items():
        reads.update(inputs(spec, mapping.get(target)))
    return reads


def canonical(transforms: Mapping[str, Mapping[str, Any]] | None) -> str:
    """One text per configuration (sorted keys), for the fingerprint key and caches."""
    return json.dumps(transforms or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text(value: Any, what: str, problems: list[str], *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        problems.append(f"{what} must be text{'' if allow_empty else ' (not blank)'}.")
        return ""
    if len(value) > MAX_TEXT:
        problems.append(f"{what} is longer than {MAX_TEXT} characters.")
    return value


def validate_transforms(
    transforms: Any,
    mapping: Mapping[str, str],
    available_source_keys: Collection[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The clean configuration and every problem with it (one sentence each; empty when fine).

    A transform must be for a mapped target; the fields it reads must be offered by the source
    (when ``available_source_keys`` is given). ``labels`` names targets in the sentences.
    """
    labels = labels or {}
    problems: list[str] = []
    clean: dict[str, dict[str, Any]] = {}
    if transforms is None:
        return clean, problems
    if not isinstance(transforms, Mapping):
        return clean, ["Transforms must be a table of member field → transform."]
    for target, spec in transforms.items():
        name = labels.get(target, str(target))
        if target not in mapping:
            problems.append(f"{name} has a transform but is not mapped.")
            continue
        if not isinstance(spec, Mapping) or spec.get("type") not in TYPES:
            problems.append(f"{name}: choose a transform from the list ({', '.join(TYPES)}).")
            continue
        kind = str(spec["type"])
        out: dict[str, Any] = {"type": kind}
        if kind == "default":
            out["value"] = _text(spec.get("value"), f"{name}: the default", problems)
        elif kind == "lookup":
            table = spec.get("table")
            if not isinstance(table, Mapping) or not table:
                problems.append(f"{name}: the lookup table needs at least one code and its name.")
            elif len(table) > MAX_TABLE:
                problems.append(f"{name}: the lookup table has more than {MAX_TABLE} codes.")
            else:
                out["table"] = {
                    _text(k, f"{name}: a code", problems).strip(): _text(v, f"{name}: the name of {k!r}", problems)
                    for k, v in table.items()
                }
            fallback = spec.get("default")
            if fallback is not None and fallback != "":
                out["default"] = _text(fallback, f"{name}: the default for unknown codes", problems)
        elif kind == "date":
            if spec.get("format") not in DATE_INPUTS:
                problems.append(f"{name}: choose the date layout from the list ({', '.join(DATE_INPUTS)}).")
            else:
                out["format"] = spec["format"]
        elif kind in MULTI:
            fields = spec.get("fields")
            if not isinstance(fields, list) or not [f for f in fields if isinstance(f, str) and f.strip()]:
                problems.append(f"{name}: choose the source fields to read.")
                continue
            chosen = [f.strip() for f in fields if isinstance(f, str) and f.strip()]
            if len(chosen) > MAX_FIELDS:
                problems.append(f"{name}: at most {MAX_FIELDS} source fields.")
            out["fields"] = chosen
            if kind == "concat":
                separator = spec.get("separator", " ")
                if not isinstance(separator, str) or len(separator) > MAX_SEPARATOR:
                    problems.append(f"{name}: the separator is at most {MAX_SEPARATOR} characters.")
                    separator = " "
                out["separator"] = separator
        if available_source_keys is not None:
            unknown = [f for f in inputs(out, mapping.get(target)) if f not in available_source_keys]
            if unknown:
                problems.append(f"{name}: the source does not offer {', '.join(map(repr, unknown))}.")
        clean[target] = out
    return clean, problems


def compile_one(spec: Mapping[str, Any], mapped_source: str) -> TransformFn:
    """One valid transform as a function of a person's source values."""
    kind = spec["type"]
    if kind in MULTI:
        fields = list(spec["fields"])
        separator = str(spec.get("separator", " "))

        def multi(values: Mapping[str, Value]) -> Shaped:
            delivered = [values[f] for f in fields if f in values]
            if not delivered:
                return ABSENT
            given = [values.get(f) for f in fields]
            return concat(given, separator) if kind == "concat" else first_non_blank(given)

        return multi

    one: Callable[[Value], Value]
    if kind == "trim":
        one = trim
    elif kind == "upper":
        one = upper
    elif kind == "lower":
        one = lower
    elif kind == "title":
        one = title
    elif kind == "default":
        fallback = str(spec["value"])

        def one(v: Value) -> Value:
            return default(v, fallback)
    elif kind == "lookup":
        table = dict(spec["table"])
        unknown = spec.get("default")

        def one(v: Value) -> Value:
            return lookup(v, table, unknown)
    elif kind == "date":
        layout = str(spec["format"])

        def one(v: Value) -> Value:
            return reformat_date(v, layout)
    else:  # pragma: no cover - validated before
        raise ValueError(f"unknown transform {kind!r}")

    def single(values: Mapping[str, Value]) -> Shaped:
        if mapped_source not in values:
            return ABSENT
        return one(values[mapped_source])

    return single


def describe(spec: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> str:
    """One line for people: "Lookup table (3 codes, unknown → 'Other')"."""
    labels = labels or {}
    kind = str(spec.get("type", ""))
    head = TYPE_LABELS.get(kind, kind)
    if kind == "default":
        return f"{head}: {spec.get('value')!r}"
    if kind == "lookup":
        table = spec.get("table") or {}
        tail = f", unknown → {spec['default']!r}" if spec.get("default") else ", unknown codes kept"
        return f"{head} ({len(table)} code{'' if len(table) == 1 else 's'}{tail})"
    if kind == "date":
        return f"{head} from {spec.get('format')}"
    if kind in MULTI:
        names = ", ".join(labels.get(f, f) for f in spec.get("fields") or [])
        sep = f" with {spec.get('separator', ' ')!r}" if kind == "concat" else ""
        return f"{head}: {names}{sep}"
    return head
