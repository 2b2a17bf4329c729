"""``hrsync programme add``: a client programme and its first administrator."""

from __future__ import annotations

import click

from hrsync.cli.common import data_session, json_option
from hrsync.cli.main import cli, emit
from hrsync.domain.dates import DATE_FORMATS
from hrsync.services.programmes import create_programme


@cli.group("programme")
def programme() -> None:
    """Programmes (one per client company)."""


@programme.command("add")
@click.argument("name")
@click.option("--admin-email", required=True, help="The first administrator; receives import e-mails.")
@click.option("--password", default=None, help="The administrator's portal password (else set by invitation).")
@click.option("--date-format", type=click.Choice(DATE_FORMATS), default="DD/MM/YYYY", show_default=True)
@click.option("--timezone", default="Europe/London", show_default=True, help="IANA time zone of the programme.")
@json_option
def add(name: str, admin_email: str, password: str | None, date_format: str, timezone: str, as_json: bool) -> None:
    """Create programme NAME with its first administrator."""
    with data_session(as_json) as session:
        prog, admin = create_programme(
            session, name, admin_email=admin_email, password=password, date_format=date_format, timezone=timezone
        )
        payload = {"id": prog.id, "name": prog.name, "admin_id": admin.id, "admin_email": admin.email}
    emit(payload, as_json, f"programme {payload['name']} created (id {payload['id']})")
