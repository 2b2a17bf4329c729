"""``hrsync members``: a programme's members; ``add``, ``edit``, ``ineligible``, ``eligible``: the manual door."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from hrsync.cli.common import data_session, json_option
from hrsync.cli.main import EXIT_BAD_INPUT, cli, emit, fail
from hrsync.domain.vocabulary import MemberStatus
from hrsync.services import manual_members as manual
from hrsync.services.programmes import programme_by_name
from hrsync.store.models import Member, Programme

STATUSES = [s.value for s in MemberStatus]


def _member_out(m: Member) -> dict[str, Any]:
    return {
        "id": m.id, "employee_id": m.employee_id, "email": m.email, "first_name": m.first_name,
        "last_name": m.last_name, "status": m.status, "attributes": m.attributes, "door": m.door,
        "integration_id": m.integration_id,
        "start_date": m.start_date.isoformat() if m.start_date else None,
        "leaving_date": m.leaving_date.isoformat() if m.leaving_date else None,
        "access_until": m.access_until.isoformat() if m.access_until else None,
    }


@cli.group("members", invoke_without_command=True)
@click.option("--programme", "programme_name", default=None, help="List this programme's members.")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--limit", type=int, default=None, help="At most this many (default: all).")
@json_option
@click.pass_context
def members(ctx: click.Context, programme_name: str | None, status: str | None, limit: int | None,
            as_json: bool) -> None:
    """List members (every status unless --status), ordered by employee ID; or add and change them by hand."""
    if ctx.invoked_subcommand is not None:
        return
    if programme_name is None:
        fail("say which programme: hrsync members --programme NAME", EXIT_BAD_INPUT)
    with data_session(as_json) as session:
        prog = programme_by_name(session, programme_name)
        query = select(Member).where(Member.programme_id == prog.id).order_by(Member.employee_id, Member.id)
        if status:
            query = query.where(Member.status == status)
        if limit is not None:
            query = query.limit(limit)
        payload = [_member_out(m) for m in session.scalars(query.execution_options(yield_per=2000))]
    lines = (
        f"{p['employee_id'] or '-':<12} {p['status']:<8} {p['email'] or '-'}  "
        f"{p['first_name'] or ''} {p['last_name'] or ''}"
        for p in payload
    )
    emit(payload, as_json, "\n".join(lines))


_values = [
    click.option("--employee-id", "employee_id", default=None),
    click.option("--email", default=None),
    click.option("--first-name", "first_name", default=None),
    click.option("--last-name", "last_name", default=None),
]


def _with_values(f: Any) -> Any:
    for option in reversed(_values):
        f = option(f)
    return f


@members.command("add")
@click.option("--programme", "programme_name", required=True)
@_with_values
@click.option("--no-invite", is_flag=True, help="Make the member active without a welcome e-mail.")
@json_option
def add(programme_name: str, employee_id: str | None, email: str | None, first_name: str | None,
        last_name: str | None, no_invite: bool, as_json: bool) -> None:
    """Add a member by hand (owned by no integration: no import changes it). Invited unless --no-invite."""
    with data_session(as_json) as session:
        prog = programme_by_name(session, programme_name)
        member = manual.add_member(session, prog, manual.ManualValues(employee_id, email, first_name, last_name),
                                   None, invite=not no_invite)
        payload = _member_out(member)
    emit(payload, as_json, f"member {payload['id']} added by hand ({payload['status']})")


def _manual(session: Any, member_id: int) -> tuple[Programme, Member]:
    found = session.get(Member, member_id)
    programme_id = found.programme_id if found is not None else 0
    member = manual.manual_member(session, programme_id, member_id)
    programme = session.get(Programme, member.programme_id)
    return programme, member


@members.command("edit")
@click.argument("member_id", type=int)
@_with_values
@json_option
def edit(member_id: int, employee_id: str | None, email: str | None, first_name: str | None,
         last_name: str | None, as_json: bool) -> None:
    """Change a member added by hand (only the values given)."""
    with data_session(as_json) as session:
        programme, member = _manual(session, member_id)
        changed = manual.edit_member(session, programme, member,
                                     manual.ManualValues(employee_id, email, first_name, last_name), None)
        payload = {**_member_out(member), "changed": sorted(changed)}
    emit(payload, as_json, f"member {member_id}: " + (", ".join(payload["changed"]) + " changed"
                                                       if payload["changed"] else "nothing changed"))


def _status_command(name: str, change: Any, doc: str, said: str) -> None:
    @members.command(name, help=doc)
    @click.argument("member_id", type=int)
    @json_option
    def command(member_id: int, as_json: bool) -> None:
        with data_session(as_json) as session:
            programme, member = _manual(session, member_id)
            change(session, programme, member, None)
            payload = _member_out(member)
        emit(payload, as_json, f"member {member_id} " + said.format(**payload))


_status_command("ineligible", manual.mark_ineligible,
                "Mark a member added by hand ineligible: a leaver today, following the 60-day close-down.",
                "is a leaver: access to their account pages until {access_until} (exclusive), then their "
                "personal data is deleted")
_status_command("eligible", manual.mark_eligible,
                "Make a member marked ineligible eligible again (within the 60 days).", "is eligible again ({status})")
