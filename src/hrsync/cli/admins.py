"""``hrsync admin``: a programme's administrators (list, invite, set-role, deactivate, reactivate).

The rules are :mod:`hrsync.services.admins`, the same the portal's ``/admins`` page follows (the
last owner stays, deactivation ends access at once). The command line acts as the operator: every
change is in the activity log as made by the command line and the operating-system user.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.orm import Session

from hrsync.cli.common import data_session, json_option
from hrsync.cli.main import cli, emit
from hrsync.services import admins as service
from hrsync.services.errors import NotFound
from hrsync.services.programmes import admin_by_email, programme_by_name
from hrsync.store.enums import AdminRole
from hrsync.store.models import AdminUser

ROLE_NAMES = [role.value for role in AdminRole] + ["read-only"]


def _row(admin: AdminUser) -> dict[str, Any]:
    status = "deactivated" if not admin.is_active else ("active" if admin.password_hash else "invited")
    return {
        "id": admin.id, "email": admin.email, "name": admin.name, "role": admin.role, "status": status,
        "deactivated_at": admin.deactivated_at.isoformat() if admin.deactivated_at else None,
        "last_login_at": admin.last_login_at.isoformat() if admin.last_login_at else None,
    }


def _line(row: dict[str, Any]) -> str:
    return f"{row['email']:<40} {row['role']:<14} {row['status']:<12} {row['name'] or ''}".rstrip()


def _target(session: Session, programme_name: str, email: str) -> AdminUser:
    programme = programme_by_name(session, programme_name)
    admin = admin_by_email(session, programme.id, email)
    if admin is None:
        raise NotFound(f"Administrator {email.strip()[:320]} of {programme.name}")
    return admin


programme_option = click.option("--programme", "programme_name", required=True, help="The programme's name.")


@cli.group("admin")
def admin() -> None:
    """A programme's administrators: roles, invitations, deactivation."""


@admin.command("list")
@programme_option
@json_option
def list_admins(programme_name: str, as_json: bool) -> None:
    """List the programme's administrators with their role and status."""
    with data_session(as_json) as session:
        programme = programme_by_name(session, programme_name)
        rows = [_row(a) for a in service.list_admins(session, programme.id)]
    emit(rows, as_json, "\n".join(_line(r) for r in rows))


@admin.command("invite")
@programme_option
@click.argument("email")
@click.option("--name", default="", help="The person's name (optional).")
@click.option("--role", type=click.Choice(ROLE_NAMES, case_sensitive=False), default=AdminRole.ADMINISTRATOR.value,
              show_default=True)
@json_option
def invite(programme_name: str, email: str, name: str, role: str, as_json: bool) -> None:
    """Invite EMAIL as an administrator: an e-mail with a link to choose a password (7 days)."""
    with data_session(as_json) as session:
        programme = programme_by_name(session, programme_name)
        invited = service.invite(session, service.Actor.command_line(), programme, email, name,
                                 service.parse_role(role))
        row = _row(invited)
    emit(row, as_json, f"invited {row['email']} as {row['role']}; the link works for 7 days")


@admin.command("set-role")
@programme_option
@click.argument("email")
@click.argument("role", type=click.Choice(ROLE_NAMES, case_sensitive=False))
@json_option
def set_role(programme_name: str, email: str, role: str, as_json: bool) -> None:
    """Give administrator EMAIL another ROLE (owner, administrator, read_only)."""
    with data_session(as_json) as session:
        target = _target(session, programme_name, email)
        changed = service.set_role(session, service.Actor.command_line(), target, service.parse_role(role))
        row = {**_row(target), "changed": changed}
    emit(row, as_json, f"{row['email']} is {'now' if changed else 'already'} {row['role']}")


@admin.command("deactivate")
@programme_option
@click.argument("email")
@json_option
def deactivate(programme_name: str, email: str, as_json: bool) -> None:
    """End EMAIL's access at once: signed out, links spent, API tokens revoked. Never the last owner."""
    with data_session(as_json) as session:
        target = _target(session, programme_name, email)
        changed = service.deactivate(session, service.Actor.command_line(), target)
        row = {**_row(target), "changed": changed}
    emit(row, as_json, f"{row['email']} {'is deactivated' if changed else 'was already deactivated'}")


@admin.command("reactivate")
@programme_option
@click.argument("email")
@json_option
def reactivate(programme_name: str, email: str, as_json: bool) -> None:
    """Let EMAIL sign in again with their password and role."""
    with data_session(as_json) as session:
        target = _target(session, programme_name, email)
        changed = service.reactivate(session, service.Actor.command_line(), target)
        row = {**_row(target), "changed": changed}
    emit(row, as_json, f"{row['email']} {'is active again' if changed else 'was already active'}")
