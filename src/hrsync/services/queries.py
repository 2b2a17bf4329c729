"""Read-side queries shared by the portal pages, the JSON API and the CLI.

Everything here only reads. Each function takes the programme (or an already scoped object) so
the tenant boundary is part of the signature, never an afterthought of the caller. Pages show
what these return; they never re-derive a count or a percentage themselves, so the dashboard,
the import page, the API and the e-mails agree.

Paging is by page number with ``LIMIT``/``OFFSET`` on an indexed ordering: at 100,000 members the
members list is served by ``ix_member_programme_id_sort_key`` (covering on SQLite), and a run's
history by ``ix_import_run_integration_id_created_at``. Page numbers are what administrators
share ("page 3 of the leavers"), and a keyset cursor buys little at this size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hrsync.domain.display import member_name, name_of
from hrsync.domain.vocabulary import MemberStatus
from hrsync.errors import RunNotFound
from hrsync.services.run_views import PHASE_LABELS as PHASE_LABELS
from hrsync.services.run_views import STATUS_LABELS as STATUS_LABELS
from hrsync.services.run_views import RunProgress as RunProgress
from hrsync.services.run_views import run_counts as run_counts
from hrsync.services.run_views import run_progress as run_progress
from hrsync.store.enums import ACTIVE_RUN_STATUSES
from hrsync.store.models import (
    AdminUser,
    ImportIssue,
    ImportRun,
    Member,
    MemberEvent,
    RunTrigger,
    member_search_condition,
)
from hrsync.store.types import is_row_id
from hrsync.sync.runs import active_run as active_run  # the web reads it from here

T = TypeVar("T")
_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]  # any select, whatever its columns

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 200
#: The last page number a list answers (past it: the API says 422, the pages show this page, empty). A million
#: pages of one is far more than any programme's members or an integration's runs, and keeps every OFFSET small.
MAX_PAGE = 1_000_000
MEMBER_STATUSES = tuple(s.value for s in MemberStatus)  # in the order the members page offers them
# Change kinds a run records in ``member_event`` (the runner's words), in the order pages show them.
IMPACT_KINDS = ("created", "updated", "leaver", "reinstated", "pending")
IMPACT_LABELS = {
    "created": "Created",
    "updated": "Updated",
    "leaver": "Leavers",
    "reinstated": "Reinstated",
    "pending": "Pending (pre-hires)",
}
# One member's change, as a label next to their name.
CHANGE_LABELS = {
    "created": "Created",
    "updated": "Updated",
    "leaver": "Leaver",
    "reinstated": "Reinstated",
    "pending": "Pre-hire",
}


# ------------------------------------------------------------------------------------------------
# paging
# ------------------------------------------------------------------------------------------------


def clamp_page(page: int | None, per_page: int | None) -> tuple[int, int]:
    """A page number within 1..MAX_PAGE and a page size within 1..MAX_PER_PAGE (query strings are untrusted:
    a page past MAX_PAGE is shown as MAX_PAGE, empty, rather than an offset the database cannot take)."""
    p = min(MAX_PAGE, max(1, int(page or 1)))
    size = min(MAX_PER_PAGE, max(1, int(per_page or DEFAULT_PER_PAGE)))
    return p, size


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and enough to draw the pager ("page 2 of 40, 1,000 results")."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown (0 when the page is empty)."""
        return 0 if not self.items else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return 0 if not self.items else self.first_index + len(self.items) - 1


def _count(session: Session, stmt: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


# ------------------------------------------------------------------------------------------------
# runs
# ------------------------------------------------------------------------------------------------


def is_active(status: str) -> bool:
    return status in {s.value for s in ACTIVE_RUN_STATUSES}


def run_duration_seconds(run: ImportRun, now: datetime | None = None) -> float | None:
    """Wall time from start to finish (or to ``now`` while it runs); ``None`` before it started."""
    if run.started_at is None:
        return None
    end = run.finished_at or now
    if end is None:
        return None
    return max(0.0, (end - run.started_at).total_seconds())


def format_duration(seconds: float | None) -> str:
    """ "4.2 s", "3 min 05 s", "1 h 02 min"; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass(frozen=True)
class RunRow:
    """One line of the import history."""

    run: ImportRun
    triggered_by: str | None  # the administrator's name or e-mail; None for schedule/CLI/API
    decided_by: str | None
    duration_seconds: float | None

    @property
    def counts(self) -> dict[str, int]:
        return run_counts(self.run)


def _admin_label(admin: AdminUser | None) -> str | None:
    if admin is None:
        return None
    return admin.name or admin.email


def _admins(session: Session, ids: set[int]) -> dict[int, AdminUser]:
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(AdminUser).where(AdminUser.id.in_(ids)))}


def run_rows(session: Session, runs: Sequence[ImportRun]) -> list[RunRow]:
    ids = {i for r in runs for i in (r.triggered_by_id, r.decided_by_id) if i is not None}
    admins = _admins(session, ids)
    return [
        RunRow(
            run=r,
            triggered_by=_admin_label(admins.get(r.triggered_by_id)) if r.triggered_by_id else None,
            decided_by=_admin_label(admins.get(r.decided_by_id)) if r.decided_by_id else None,
            duration_seconds=run_duration_seconds(r),
        )
        for r in runs
    ]


def runs_page(
    session: Session, integration_id: int, *, page: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> Page[RunRow]:
    """An integration's runs, newest first (the caller has scoped the integration)."""
    page, per_page = clamp_page(page, per_page)
    stmt = select(ImportRun).where(ImportRun.integration_id == integration_id)
    total = _count(session, stmt)
    runs = session.scalars(
        stmt.order_by(ImportRun.created_at.desc(), ImportRun.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(items=run_rows(session, runs), page=page, per_page=per_page, total=total)


def run_in_programme(session: Session, programme_id: int, run_id: int) -> ImportRun:
    """Scoped lookup: another programme's run is simply not found (:class:`RunNotFound`)."""
    run = (session.scalar(select(ImportRun).where(ImportRun.id == run_id, ImportRun.programme_id == programme_id))
           if is_row_id(run_id) else None)
    if run is None:
        raise RunNotFound(run_id)
    return run


def latest_run(session: Session, integration_id: int, *, dry_run: bool | None = None) -> ImportRun | None:
    """The integration's newest run (``dry_run=False``: newest real import, the one pages call the
    "Last import"; previews and other dry runs never are; ``True``: newest dry run)."""
    stmt = select(ImportRun).where(ImportRun.integration_id == integration_id)
    if dry_run is not None:
        stmt = stmt.where(ImportRun.dry_run.is_(dry_run))
    return session.scalar(stmt.order_by(ImportRun.created_at.desc(), ImportRun.id.desc()).limit(1))


def latest_preview(session: Session, integration_id: int) -> ImportRun | None:
    """The integration's newest wizard preview (there is at most one finished one: a new one replaces it)."""
    return session.scalar(
        select(ImportRun)
        .where(ImportRun.integration_id == integration_id, ImportRun.trigger == RunTrigger.PREVIEW.value)
        .order_by(ImportRun.created_at.desc(), ImportRun.id.desc()).limit(1)
    )


@dataclass(frozen=True)
class ImpactMember:
    """A member a run touched, and how."""

    member_id: int | None
    kind: str
    employee_id: str | None
    name: str
    email: str | None
    status: str | None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunImpact:
    """Members affected by a run, by change kind, from the run's ``member_event`` rows.

    ``by_kind`` counts the events actually written (a held, dry or failed run has none), while the
    run's own counters hold what was planned; the run page shows both so they can be compared.
    """

    by_kind: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def run_impact(session: Session, run_id: int) -> RunImpact:
    rows = session.execute(
        select(MemberEvent.kind, func.count())
        .where(MemberEvent.run_id == run_id, MemberEvent.kind.in_(IMPACT_KINDS))
        .group_by(MemberEvent.kind)
    ).all()
    found = {str(kind): int(n) for kind, n in rows}
    return RunImpact(by_kind={k: found.get(k, 0) for k in IMPACT_KINDS})


def impact_members(
    session: Session,
    run_id: int,
    *,
    kind: str | None = None,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[ImpactMember]:
    """The members a run affected (optionally of one change kind), in the order it changed them."""
    page, per_page = clamp_page(page, per_page)
    stmt = (
        select(MemberEvent.member_id, MemberEvent.kind, MemberEvent.changes, Member.employee_id,
               Member.first_name, Member.last_name, Member.attributes, Member.email, Member.status)
        .outerjoin(Member, Member.id == MemberEvent.member_id)
        .where(MemberEvent.run_id == run_id, MemberEvent.kind.in_(IMPACT_KINDS))
    )
    if kind:
        stmt = stmt.where(MemberEvent.kind == kind)
    total = _count(session, stmt)
    rows = session.execute(stmt.order_by(MemberEvent.id).limit(per_page).offset((page - 1) * per_page)).all()
    items = [
        ImpactMember(
            member_id=r.member_id, kind=r.kind, employee_id=r.employee_id,
            name=member_name(r.first_name, r.last_name, r.attributes,
                             deleted=r.status is None or r.status == MemberStatus.DELETED.value),
            email=r.email, status=r.status, changes=dict(r.changes or {}),
        )
        for r in rows
    ]
    return Page(items=items, page=page, per_page=per_page, total=total)


def run_issues(
    session: Session, run_id: int, *, severity: str, page: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> Page[ImportIssue]:
    """A run's errors or warnings, in the order they were found."""
    page, per_page = clamp_page(page, per_page)
    stmt = select(ImportIssue).where(ImportIssue.run_id == run_id, ImportIssue.severity == severity)
    total = _count(session, stmt)
    rows = session.scalars(stmt.order_by(ImportIssue.id).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)


def held_plan_summary(run: ImportRun, examples: int = 10) -> dict[str, Any]:
    """What a held run would do if approved: counts and a few examples of each change kind.

    Read from the stored plan JSON without interpreting its rules (it is the runner's format),
    defensively: a missing or unfamiliar plan gives empty examples, never an error page.
    """
    plan = run.plan if isinstance(run.plan, dict) else {}
    changes = plan.get("changes") if isinstance(plan.get("changes"), list) else []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for change in changes or []:
        if not isinstance(change, dict):
            continue
        kind = str(change.get("kind", "?"))
        bucket = by_kind.setdefault(kind, [])
        if len(bucket) < examples:
            draft = change.get("draft")
            values = draft.get("values") if isinstance(draft, dict) else None
            name = name_of(values) if isinstance(values, dict) else ""
            changes = change.get("changes") or {}
            bucket.append({"employee_id": change.get("employee_id"), "name": name, "changes": changes})
    return {"examples": by_kind, "expires_at": run.expires_at}


# ------------------------------------------------------------------------------------------------
# members
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFilter:
    """The members page's filter, as it appears in the query string (and in the CSV export)."""

    q: str = ""
    status: str = ""

    @classmethod
    def of(cls, q: str | None, status: str | None) -> MemberFilter:
        clean_status = (status or "").strip().lower()
        return cls(q=(q or "").strip()[:200], status=clean_status if clean_status in MEMBER_STATUSES else "")

    def apply(self, stmt: _S) -> _S:
        if self.q:
            stmt = stmt.where(member_search_condition(self.q))
        if self.status:
            stmt = stmt.where(Member.status == self.status)
        return stmt


MEMBER_ORDER = (  # the members page and its CSV export sort alike: by the name the list shows, folded
    Member.sort_key, Member.search_key, Member.id)


def members_page(
    session: Session,
    programme_id: int,
    flt: MemberFilter | None = None,
    *,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Member]:
    """A programme's members, sorted by name, filtered by search text and status.

    Ids come from the index ``ix_member_programme_id_sort_key`` (already in name order; on
    SQLite it covers the search key too); only the page's rows are then read from the table.
    """
    flt = flt or MemberFilter()
    page, per_page = clamp_page(page, per_page)
    offset = (page - 1) * per_page
    ids_only: Select[Any] = select(Member.id).where(Member.programme_id == programme_id)
    if not (flt.q or flt.status):
        # Unfiltered: counting the index is quick, and the page stops after offset + per_page rows.
        total = _count(session, ids_only)
        ids = [int(i) for i in session.scalars(ids_only.order_by(*MEMBER_ORDER).limit(per_page).offset(offset))]
    else:
        # Filtered: every row is read anyway, so one pass yields the page and (a window count) the total.
        with_total = select(Member.id, func.count().over()).where(Member.programme_id == programme_id)
        rows = session.execute(
            flt.apply(with_total).order_by(*MEMBER_ORDER).limit(per_page).offset(offset)
        ).all()
        ids = [int(r[0]) for r in rows]
        # Past the last page the window saw no row: count on its own.
        total = int(rows[0][1]) if rows else _count(session, flt.apply(ids_only))
    by_id = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))} if ids else {}
    return Page(items=[by_id[i] for i in ids if i in by_id], page=page, per_page=per_page, total=total)


def member_status_counts(session: Session, programme_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Member.status, func.count()).where(Member.programme_id == programme_id).group_by(Member.status)
    ).all()
    found = {str(s): int(n) for s, n in rows}
    return {s: found.get(s, 0) for s in MEMBER_STATUSES}


def member_in_programme(session: Session, programme_id: int, member_id: int) -> Member | None:
    if not is_row_id(member_id):
        return None
    return session.scalar(select(Member).where(Member.id == member_id, Member.programme_id == programme_id))


def member_count(session: Session, programme_id: int) -> int:
    """The programme's members, deleted tombstones left out."""
    return int(
        session.scalar(
            select(func.count()).select_from(Member).where(
                Member.programme_id == programme_id, Member.status != MemberStatus.DELETED.value
            )
        )
        or 0
    )

