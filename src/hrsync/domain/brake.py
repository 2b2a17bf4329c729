"""The mass-change brake: an import that would close down too many members waits for a person.

Peers' users complain most about mass deactivation after a credentials change or an empty answer
from the HR system. So a plan is **held** (nothing applied; an administrator approves or rejects
it) when either

* the source returned nobody while the programme has members (an empty directory is far more
  likely a fault than a company that let everyone go), or
* it would make leavers of **more than** ``threshold_pct`` % of the active members **and** of at
  least ``minimum`` people (so a 10-person programme losing 2 people is not held). Exactly at
  the threshold is not held. With no active members, any ``minimum`` leavers (pending members
  withdrawn en masse) is held.

A one-person run (a trace applied, a webhook delivery) is judged by that person's change alone
(``whole_directory=False``): the leaver rule on its few changes, never the empty-directory rule.

Percentages are compared exactly (decimal arithmetic), so "exactly at the threshold" means it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hrsync.domain.plan_types import SyncPlan

DEFAULT_THRESHOLD_PCT = 10.0
DEFAULT_MINIMUM = 5


@dataclass(frozen=True, slots=True)
class BrakeDecision:
    hold: bool
    reason: str | None = None  # one sentence for people when held


def check_brake(
    plan: SyncPlan,
    *,
    active_members: int,
    total_members: int,
    threshold_pct: float = DEFAULT_THRESHOLD_PCT,
    minimum: int = DEFAULT_MINIMUM,
    whole_directory: bool = True,
) -> BrakeDecision:
    """Whether to hold ``plan``. ``active_members``/``total_members`` are counted before the import
    (the caller decides what "active" means; hrsync counts active and invited members).
    ``whole_directory=False``: ``plan`` is one person's part of a read of a few people (a one-person
    run), judged by its own changes alone; an empty read then means "this person is not there", not
    "the HR system answered nobody", so the empty-directory rule is not for it."""
    if threshold_pct < 0 or minimum < 0 or active_members < 0 or total_members < 0:
        raise ValueError("Brake thresholds and member counts cannot be negative.")
    if whole_directory and plan.source_count == 0 and total_members > 0:
        return BrakeDecision(
            True,
            f"The HR system returned nobody while the programme has {total_members} members, which is "
            "more likely a fault than a fact; approve the import only if everyone has really left.",
        )
    return too_many_leavers(plan.counts()["leavers"], active_members, threshold_pct, minimum, "This import")


def too_many_leavers(leavers: int, active_members: int, threshold_pct: float, minimum: int = DEFAULT_MINIMUM,
                     what: str = "This import") -> BrakeDecision:
    """The leavers rule on its own (a SCIM door counts an hour's deactivations with it)."""
    if leavers == 0 or leavers < minimum:
        return BrakeDecision(False)
    limit = Decimal(repr(threshold_pct))
    if leavers * 100 > limit * active_members:
        share = f"{leavers * 100 / active_members:.1f}%" if active_members else "all"
        return BrakeDecision(
            True,
            f"{what} would make {leavers} of {active_members} active members leavers ({share}), "
            f"more than the {limit.normalize():f}% limit; approve or reject it.",
        )
    return BrakeDecision(False)
