"""The pure core of hrsync: what an import does, with no I/O and no framework.

Read in this order:

* :mod:`~hrsync.domain.fields`: the member fields, their rules, and the mapping from source fields;
* :mod:`~hrsync.domain.validation`: each rule of domain.md §4 as a checker;
* :mod:`~hrsync.domain.records`: one HR person → a :class:`MemberDraft` plus record issues;
* :mod:`~hrsync.domain.plan_types`: what a :class:`SyncPlan` is made of, and its JSON form;
* :mod:`~hrsync.domain.planner`: current members + drafts → a :class:`SyncPlan`;
* :mod:`~hrsync.domain.held`: what of a held plan still holds when it is approved;
* :mod:`~hrsync.domain.brake`: whether a plan must wait for an administrator;
* :mod:`~hrsync.domain.dates`: ISO inside, the integration's date format outside.
"""

from hrsync.domain.brake import BrakeDecision, check_brake
from hrsync.domain.dates import DATE_FORMATS, format_date, parse_iso
from hrsync.domain.fields import (
    DEFAULT_MAPPING,
    MEMBER_FIELDS,
    FieldKind,
    MemberField,
    mapping_needs_job_details,
    validate_mapping,
)
from hrsync.domain.held import recheck_held_plan
from hrsync.domain.plan_types import ChangeKind, CurrentMember, PlannedChange, PlanOptions, SyncPlan
from hrsync.domain.planner import plan_sync
from hrsync.domain.records import (
    CompiledMapping,
    MemberDraft,
    RecordIssue,
    Severity,
    build_draft,
    compile_mapping,
)
from hrsync.domain.vocabulary import MemberStatus

__all__ = [
    "DATE_FORMATS",
    "DEFAULT_MAPPING",
    "MEMBER_FIELDS",
    "BrakeDecision",
    "ChangeKind",
    "CompiledMapping",
    "CurrentMember",
    "FieldKind",
    "MemberDraft",
    "MemberField",
    "MemberStatus",
    "PlanOptions",
    "PlannedChange",
    "RecordIssue",
    "Severity",
    "SyncPlan",
    "build_draft",
    "check_brake",
    "compile_mapping",
    "format_date",
    "mapping_needs_job_details",
    "parse_iso",
    "plan_sync",
    "recheck_held_plan",
    "validate_mapping",
]
