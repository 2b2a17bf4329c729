"""``hrsync keys``: the keyring that encrypts stored secrets (sources' API keys).

Rotating a key is three commands (``docs/security.md``, "Rotating the encryption key"):
``hrsync keys add`` puts a new key in front (it encrypts from then on, older keys still decrypt),
``hrsync keys rotate`` re-encrypts every stored secret under it and says whether the old keys can go,
``hrsync keys retire`` removes them from the key file once nothing needs them. ``hrsync keys status``
reports without changing anything. No command ever prints a key or a secret.
"""

from __future__ import annotations

import click

from hrsync.cli.common import ensure_schema, json_option
from hrsync.cli.main import EXIT_BAD_INPUT, cli, emit, fail
from hrsync.config import get_settings
from hrsync.security.secrets import SecretKeyError
from hrsync.services.keys import DEFAULT_BATCH_SIZE, KeyReport, add_key, key_status, retire_old_keys, rotate_keys
from hrsync.store.db import session_factory


@cli.group("keys")
def keys() -> None:
    """The encryption keys of stored secrets: add, rotate, retire, status."""


def _summary(report: KeyReport) -> str:
    lines = [
        f"keys: {report.keys} ({report.source}), stored secrets: {report.total}",
        "secrets per key (newest first): " + ", ".join(str(n) for n in report.per_key),
    ]
    if report.rotated or report.already_current or report.changed_meanwhile:
        lines.append(f"re-encrypted: {report.rotated}, already under the newest key: {report.already_current}"
                     + (f", changed meanwhile: {report.changed_meanwhile}" if report.changed_meanwhile else ""))
    if report.unreadable:
        lines.append(f"unreadable with every key: {report.unreadable} (re-authorize those integrations)")
    if report.keys < 2:
        lines.append("only one key: nothing to retire")
    elif report.old_keys_removable:
        lines.append("the old keys can now be removed (`hrsync keys retire`, or edit HRSYNC_SECRET_KEY)")
    else:
        lines.append(f"the old keys are still needed by {report.old_keys_needed} secret(s): run `hrsync keys rotate`")
    return "\n".join(lines)


@keys.command("status")
@json_option
def status_command(as_json: bool) -> None:
    """Count the stored secrets each key reads, and whether the old keys can be removed."""
    ensure_schema()
    try:
        report = key_status(session_factory(), get_settings())
    except (SecretKeyError, OSError) as exc:
        fail(f"encryption key: {exc}", EXIT_BAD_INPUT, as_json=as_json)
    emit(report.as_dict(), as_json, _summary(report))


@keys.command("add")
@json_option
def add_command(as_json: bool) -> None:
    """Put a new key in front of the key file: it encrypts from now on, the older ones still decrypt.

    Portal sessions signed with the previous newest key end (everyone signs in again).
    """
    try:
        count = add_key(get_settings())
    except (SecretKeyError, OSError) as exc:
        fail(f"encryption key: {exc}", EXIT_BAD_INPUT, as_json=as_json)
    emit({"keys": count}, as_json, f"new key added in front; the key file now holds {count} keys; "
         "next: `hrsync keys rotate`")


@keys.command("rotate")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Rows re-encrypted per transaction.")
@json_option
def rotate_command(batch_size: int, as_json: bool) -> None:
    """Re-encrypt every stored secret under the newest key (safe to run again)."""
    ensure_schema()
    try:
        report = rotate_keys(session_factory(), get_settings(), batch_size=batch_size)
    except (SecretKeyError, OSError) as exc:
        fail(f"encryption key: {exc}", EXIT_BAD_INPUT, as_json=as_json)
    emit(report.as_dict(), as_json, _summary(report))


@keys.command("retire")
@json_option
def retire_command(as_json: bool) -> None:
    """Remove every key but the newest from the key file; refused while a secret still needs one."""
    ensure_schema()
    try:
        report = retire_old_keys(session_factory(), get_settings())
    except (SecretKeyError, OSError) as exc:
        fail(f"encryption key: {exc}", EXIT_BAD_INPUT, as_json=as_json)
    emit(report.as_dict(), as_json, _summary(report))
