"""``hrsync members``: a programme's members."""

from __future__ import annotations

import click
from sqlalchemy import select

from hrsync.cli.common import data_session, json_option
from hrsync.cli.main import cli, emit
from hrsync.domain.vocabulary import MemberStatus
from hrsync.services.programmes import programme_by_name
from hrsync.store.models import Member

STATUSES = [s.value for s in MemberStatus]


@cli.command("members")
@click.option("--programme", "programme_name", required=True)
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--limit", type=int, default=None, help="At most this many (default: all).")
@json_option
def members(programme_name: str, status: str | None, limit: int | None, as_json: bool) -> None:
    """List members (every status unless --status), ordered by employee ID."""
    with data_session(as_json) as session:
        prog = programme_by_name(session, programme_name)
        query = select(Member).where(Member.programme_id == prog.id).order_by(Member.employee_id, Member.id)
        if status:
            query = query.where(Member.status == status)
        if limit is not None:
            query = query.limit(limit)
        payload = [
            {
                "id": m.id, "employee_id": m.employee_id, "email": m.email, "first_name": m.first_name,
                "last_name": m.last_name, "status": m.status, "attributes": m.attributes,
                "start_date": m.start_date.isoformat() if m.start_date else None,
                "leaving_date": m.leaving_date.isoformat() if m.leaving_date else None,
            }
            for m in session.scalars(query.execution_options(yield_per=2000))
        ]
    lines = (
        f"{p['employee_id'] or '-':<12} {p['status']:<8} {p['email'] or '-'}  "
        f"{p['first_name'] or ''} {p['last_name'] or ''}"
        for p in payload
    )
    emit(payload, as_json, "\n".join(lines))
