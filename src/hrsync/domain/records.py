"""One HR person → one member draft: map the source fields, validate them, report what is wrong.

The rules (domain.md §4):

* **Employee ID and Email are mandatory.** Blank or broken, either is an ``error``: the person is
  skipped (no draft) and the rest of the import goes on. Both are reported when both are wrong,
  so the administrator fixes the record in one go.
* **Every other value is optional.** A broken one is a ``warning``: the person is imported
  *without that value*, and the value counts as **absent**, never as a blank that would clear
  what the member already holds.
* **Blank versus absent.** A mapped source field whose value is ``None`` or only whitespace is
  *blank* (``None`` in :attr:`MemberDraft.values`); the planner decides whether blanks clear
  stored values. A mapped source field the source did not deliver at all (key missing from
  ``SourcePerson.values``), like an invalid value, is *absent* (no key in ``values``) and never
  changes anything.
* **Dates** arrive and stay ISO ``YYYY-MM-DD``; formatting for display is
  :func:`hrsync.domain.dates.format_date`'s job.
* **Start and leaving dates** come from the person's primary job: ``start_date`` is the job's
  start (or, without one, a mapped ``start_date`` value); ``leaving_date`` is the job's end
  date minus one day, because the source's end date is exclusive.

Issue codes are stable strings (they are stored and exported): ``missing_employee_id``,
``missing_email`` and the value codes of :mod:`hrsync.domain.validation` (``invalid_email``,
``too_long``, ``illegal_characters``, ``invalid_name``, ``invalid_gender``, ``invalid_date``,
``invalid_phone``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final, TypeVar

from hrsync.domain.dates import last_day_from_exclusive_end, parse_iso
from hrsync.domain.fields import EMAIL, EMPLOYEE_ID, KEY_FIELDS, MEMBER_FIELDS, MemberField, member_field
from hrsync.domain.transforms import ABSENT, TransformFn, canonical, compile_one, source_reads
from hrsync.domain.validation import CHECKERS, Checker, InvalidValue
from hrsync.domain.vocabulary import email_key
from hrsync.sources.base import Lifecycle, SourcePerson

MISSING_EMPLOYEE_ID: Final = "missing_employee_id"
MISSING_EMAIL: Final = "missing_email"
UNREADABLE_VALUE: Final = "unreadable_value"

_SHOWN_VALUE_MAX = 60


class Severity(StrEnum):
    ERROR = "error"  # the record was skipped
    WARNING = "warning"  # the record was imported, something about it needs a look


@dataclass(frozen=True, slots=True)
class RecordIssue:
    """One problem with one record, as stored per run and exported in the error file."""

    severity: Severity
    code: str
    message: str
    field: str | None = None
    employee_id: str | None = None
    source_id: str | None = None
    person_name: str | None = None  # composed by hrsync.domain.display from the record it is about

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "employee_id": self.employee_id,
            "source_id": self.source_id,
            "person_name": self.person_name,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RecordIssue:
        return cls(
            severity=Severity(d["severity"]),
            code=d["code"],
            message=d["message"],
            field=d["field"],
            employee_id=d["employee_id"],
            source_id=d["source_id"],
            person_name=d.get("person_name"),  # a plan held before names were kept has none
        )


@dataclass(frozen=True, slots=True)
class MemberDraft:
    """What the HR system says a member should look like, validated and normalised."""

    source_id: str
    employee_id: str
    email: str  # as given (trimmed)
    lifecycle: Lifecycle
    employment_status: str
    values: dict[str, str | None]  # mapped non-key fields; None = blank; invalid/undelivered = no key
    start_date: date | None = None
    leaving_date: date | None = None  # last day: the primary job's exclusive end date − 1 day
    #: What the member stores once this draft is applied (:mod:`hrsync.domain.fingerprint`);
    #: ``None`` for a person with issues, who is drafted in full every time.
    fingerprint: str | None = None
    #: Made from the stored member because the fingerprint matched (:func:`~hrsync.domain.fingerprint.settled_draft`):
    #: it carries what the cross-record rules read and no values; the planner never applies one.
    stand_in: bool = False

    @property
    def email_key(self) -> str:
        return email_key(self.email)

    def to_json(self) -> dict[str, Any]:
        assert not self.stand_in, "a stand-in draft is never part of a stored plan"
        stored = {
            "source_id": self.source_id,
            "employee_id": self.employee_id,
            "email": self.email,
            "lifecycle": self.lifecycle.value,
            "employment_status": self.employment_status,
            "values": dict(self.values),
            "start_date": _iso(self.start_date),
            "leaving_date": _iso(self.leaving_date),
        }
        if self.fingerprint is not None:
            stored["fingerprint"] = self.fingerprint
        return stored

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MemberDraft:
        return cls(
            source_id=d["source_id"],
            employee_id=d["employee_id"],
            email=d["email"],
            lifecycle=Lifecycle(d["lifecycle"]),
            employment_status=d["employment_status"],
            values=dict(d["values"]),
            start_date=_from_iso(d["start_date"]),
            leaving_date=_from_iso(d["leaving_date"]),
            fingerprint=d.get("fingerprint"),
        )


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _from_iso(s: str | None) -> date | None:
    return None if s is None else date.fromisoformat(s)


_T = TypeVar("_T")
#: The pool's names for a draft's own fields (a mapping's targets never start with a space).
_STATUS_POOL, _START_POOL = " employment_status", " start_date"


class ValuePool:
    """Keeps one copy of each value many people share, for the drafts of one read.

    A directory repeats most of what it says: a handful of employment statuses, a few thousand start
    dates, first names, departments and job titles among 100,000 people. Each page decodes its own
    copy of every one, and a first import's plan keeps every new person's draft until the apply:
    with one shared copy per value those copies go with their page (issue 27: 20 MB of a
    100,000-person first import on the benchmark's directory). A field whose values turn out mostly
    distinct (an address, a phone number) stops being remembered once :data:`LIMIT` of its values
    are, so the pool never costs more than a bounded table per field.
    """

    __slots__ = ("_memos",)
    #: Distinct values remembered per field (about 1 MB of table at most, each).
    LIMIT: Final = 16_384

    def __init__(self) -> None:
        self._memos: dict[str, dict[Any, Any]] = {}

    def share(self, field: str, value: _T) -> _T:
        """The pool's copy of ``value`` (equal, and of the same type), remembered for ``field``."""
        memo = self._memos.get(field)
        if memo is None:
            memo = self._memos[field] = {}
        kept = memo.get(value)
        if kept is not None and kept.__class__ is value.__class__:
            return kept
        if len(memo) < self.LIMIT:
            memo[value] = value
        return value


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A mapping with each target's rule and checker resolved once, not once per person.

    :func:`build_draft` compiles (and caches) plain mappings itself; a caller that drafts many
    people may pass one of these to skip even the cache lookup.
    """

    employee_id_source: str
    email_source: str
    # (target, source key, rule, checker) for every non-key target, in mapping order
    optional: tuple[tuple[str, str, MemberField, Checker], ...]
    #: (synthetic source key, transform) for each transformed target (:mod:`hrsync.domain.transforms`):
    #: the target reads its synthetic key, which :meth:`shape` fills from the source values.
    transforms: tuple[tuple[str, TransformFn], ...] = ()
    #: Every source key the drafts read (the mapping's and the transforms' inputs), key fields first.
    reads: tuple[str, ...] = ()

    def shape(self, values: Mapping[str, str | None]) -> Mapping[str, str | None]:
        """``values`` with each transformed target's value under its synthetic key (absent stays absent)."""
        if not self.transforms:
            return values
        shaped = dict(values)
        for key, transform in self.transforms:
            result = transform(values)
            if result is not ABSENT:
                shaped[key] = result
        return shaped


def transformed_key(target: str) -> str:
    """The synthetic source key a transformed target reads (no source field can be called so)."""
    return f"\x00transform:{target}"


def compile_mapping(
    mapping: Mapping[str, str], transforms: Mapping[str, Mapping[str, Any]] | None = None
) -> CompiledMapping:
    """Resolve ``mapping`` and its valid ``transforms``; ``ValueError`` if Employee ID or Email is
    unmapped or a target unknown."""
    return _compile(tuple(mapping.items()), canonical(transforms) if transforms else "")


@lru_cache(maxsize=32)
def _compile(items: tuple[tuple[str, str], ...], transforms_json: str = "") -> CompiledMapping:
    mapping = dict(items)
    for key in (EMPLOYEE_ID, EMAIL):
        if not mapping.get(key):
            raise ValueError(f"{MEMBER_FIELDS[key].label} is not mapped; validate the mapping first.")
    specs: dict[str, dict[str, Any]] = json.loads(transforms_json) if transforms_json else {}
    specs = {target: spec for target, spec in specs.items() if target in mapping}

    def source_of(target: str) -> str:
        return transformed_key(target) if target in specs else mapping[target]

    optional = []
    for target, _source_key in items:
        if target in KEY_FIELDS:
            continue
        try:
            rule = member_field(target)
        except KeyError:
            raise ValueError(f"{target!r} is not a member field; validate the mapping first.") from None
        optional.append((target, source_of(target), rule, CHECKERS[rule.kind]))
    reads = [mapping[EMPLOYEE_ID], mapping[EMAIL], *(s for t, s in items if t not in KEY_FIELDS)]
    reads += sorted(source_reads(specs, mapping) - set(reads))
    compiled_transforms = tuple((transformed_key(t), compile_one(spec, mapping[t])) for t, spec in specs.items())
    return CompiledMapping(source_of(EMPLOYEE_ID), source_of(EMAIL), tuple(optional),
                           compiled_transforms, tuple(reads))


def _shown(raw: str) -> str:
    """The offending value, shortened, for the message (the error file is for the admin)."""
    text = raw if len(raw) <= _SHOWN_VALUE_MAX else raw[: _SHOWN_VALUE_MAX - 1] + "…"
    return repr(text)


def _required(
    rule: MemberField, check: Checker, raw: str | None, missing_code: str, issues: list[RecordIssue],
    employee_id: str | None, source_id: str,
) -> str | None:
    """A required key value, or None after appending the error that skips the person."""
    try:
        value = None if raw is None else check(rule, raw)
    except InvalidValue as bad:
        assert raw is not None
        issues.append(RecordIssue(
            Severity.ERROR, bad.code, f"{rule.label} {_shown(raw)} {bad.reason}; this person was skipped.",
            rule.key, employee_id, source_id,
        ))
        return None
    if value is None:
        issues.append(RecordIssue(
            Severity.ERROR, missing_code, f"{rule.label} is blank; this person was skipped.",
            rule.key, employee_id, source_id,
        ))
    return value


_EMPLOYEE_ID_RULE = MEMBER_FIELDS[EMPLOYEE_ID]
_EMAIL_RULE = MEMBER_FIELDS[EMAIL]
_CHECK_EMPLOYEE_ID = CHECKERS[_EMPLOYEE_ID_RULE.kind]
_CHECK_EMAIL = CHECKERS[_EMAIL_RULE.kind]


def _unreadable(
    problems: Mapping[str, str],
    compiled: CompiledMapping,
    issues: list[RecordIssue],
    employee_id: str | None,
    source_id: str,
) -> None:
    """A warning for each mapped field the source could not read (it was left out, never blanked)."""
    for target, source_key, rule, _check in compiled.optional:
        reason = problems.get(source_key)
        if reason is not None:
            issues.append(RecordIssue(
                Severity.WARNING, UNREADABLE_VALUE,
                f"{rule.label}: {reason}; the person was imported without it.",
                target, employee_id, source_id,
            ))


def build_draft(
    person: SourcePerson,
    mapping: Mapping[str, str] | CompiledMapping,
    fingerprint: Callable[[str, str], str] | None = None,
    pool: ValuePool | None = None,
) -> tuple[MemberDraft | None, list[RecordIssue]]:
    """Map and validate one person: a draft (``None`` if skipped) and the issues found.

    ``fingerprint`` (employee ID, e-mail → fingerprint) is called for a draft without issues, and its
    answer kept on the draft (:mod:`hrsync.domain.fingerprint`). ``pool``: the read's shared copies of
    repeated values (:class:`ValuePool`), for a caller that keeps many drafts.

    ``mapping`` must pass :func:`hrsync.domain.fields.validate_mapping` (sources aside): a mapping
    without Employee ID or Email, or with an unknown target, raises ``ValueError``, because that
    is a configuration fault of the whole import, not a fault of this record.
    """
    compiled = mapping if isinstance(mapping, CompiledMapping) else _compile(tuple(mapping.items()))
    source = compiled.shape(person.values)  # value transforms first: what they give is validated
    source_id = person.source_id
    issues: list[RecordIssue] = []

    raw_id = source.get(compiled.employee_id_source)
    employee_id = _required(
        _EMPLOYEE_ID_RULE, _CHECK_EMPLOYEE_ID, raw_id, MISSING_EMPLOYEE_ID, issues, None, source_id
    )
    email = _required(
        _EMAIL_RULE, _CHECK_EMAIL, source.get(compiled.email_source), MISSING_EMAIL, issues,
        employee_id, source_id,
    )
    if employee_id is None or email is None:
        return None, issues

    values: dict[str, str | None] = {}
    for target, source_key, rule, check in compiled.optional:
        if source_key not in source:
            continue  # not delivered: absent, never a blank
        raw = source[source_key]
        if raw is None:
            values[target] = None
            continue
        try:
            values[target] = check(rule, raw)
        except InvalidValue as bad:
            issues.append(RecordIssue(
                Severity.WARNING, bad.code,
                f"{rule.label} {_shown(raw)} {bad.reason}; the person was imported without it.",
                target, employee_id, source_id,
            ))

    if person.field_problems:
        _unreadable(person.field_problems, compiled, issues, employee_id, source_id)

    start_date = person.job_start_date
    if start_date is None:
        start_date = parse_iso(values.get("start_date"))
    employment_status = person.employment_status
    if pool is not None:  # one copy of each repeated value for the whole read
        share = pool.share
        for target, value in values.items():
            if value is not None:
                values[target] = share(target, value)
        employment_status = share(_STATUS_POOL, employment_status)
        if start_date is not None:
            start_date = share(_START_POOL, start_date)
    draft = MemberDraft(
        source_id=source_id,
        employee_id=employee_id,
        email=email,
        lifecycle=person.lifecycle,
        employment_status=employment_status,
        values=values,
        start_date=start_date,
        leaving_date=last_day_from_exclusive_end(person.job_end_date),
        fingerprint=None if fingerprint is None or issues else fingerprint(employee_id, email),
    )
    return draft, issues
