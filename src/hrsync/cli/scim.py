"""``hrsync integration add --source scim`` and ``hrsync integration rotate-token``: the SCIM door's token."""

from __future__ import annotations

import click

from hrsync.cli.common import data_session, json_option
from hrsync.cli.integrations import integration
from hrsync.cli.main import emit
from hrsync.services import scim as scim_svc
from hrsync.services.integrations import get_integration
from hrsync.services.programmes import first_admin, programme_by_name

_SHOWN_ONCE = "Keep the token now: hrsync stores only its hash and cannot show it again."


def add_scim(programme_name: str, welcome_email: bool, leaver_threshold: float, mapping: dict[str, str],
             as_json: bool) -> None:
    """Create a live SCIM integration and print its base URL and token, once."""
    with data_session(as_json) as session:
        prog = programme_by_name(session, programme_name)
        created, token = scim_svc.create_scim_integration(
            session, prog, first_admin(session, prog.id), welcome_email=welcome_email,
            leaver_threshold_pct=leaver_threshold, mapping=mapping or None)
        payload = {"id": created.id, "status": created.status, "base_url": scim_svc.base_url(), "token": token}
    emit(payload, as_json, f"SCIM integration {payload['id']} is live.\nBase URL: {payload['base_url']}\n"
                           f"Token:    {token}\n{_SHOWN_ONCE}")


@integration.command("rotate-token")
@click.argument("integration_id", type=int)
@json_option
def rotate_token(integration_id: int, as_json: bool) -> None:
    """Give a SCIM integration a new token (the old one stops at once); printed once."""
    with data_session(as_json) as session:
        found = get_integration(session, integration_id)
        token = scim_svc.rotate_token(session, found, None)
        payload = {"id": found.id, "base_url": scim_svc.base_url(), "token": token}
    emit(payload, as_json, f"New token for SCIM integration {integration_id}: {token}\n{_SHOWN_ONCE}")
