"""``hrsync db``: bring the database schema up to date.

``upgrade`` also makes sure the encryption key exists (generating ``<data_dir>/secret.key`` once
when ``HRSYNC_SECRET_KEY`` is unset), so an installation's key is created at set-up time, with
the right permissions, rather than by whichever command first stores an API key.
"""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from hrsync.cli.main import EXIT_BAD_INPUT, cli, emit, fail
from hrsync.config import get_settings
from hrsync.security.secrets import SecretKeyError, key_file_path, load_keyring
from hrsync.store.db import current_revision, head_revision, make_engine, upgrade
from hrsync.store.scrub import erase_removed, secret_tables


def _where(url: str | None = None) -> str:
    """The database, for messages, without its password."""
    return make_engine(url).url.render_as_string(hide_password=True)


@cli.group("db")
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def upgrade_command(as_json: bool) -> None:
    """Apply every pending migration (safe to run again, and from several processes)."""
    settings = get_settings()
    try:
        load_keyring(settings)
    except (SecretKeyError, OSError) as exc:
        fail(f"encryption key: {exc}", EXIT_BAD_INPUT, as_json=as_json)
    key_source = "HRSYNC_SECRET_KEY" if settings.secret_key else str(key_file_path(settings).resolve())
    try:
        upgrade()
        revision = current_revision()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot upgrade {_where()}: {reason}", EXIT_BAD_INPUT, as_json=as_json)
    emit(
        {"revision": revision, "head": head_revision(), "database": _where(), "secret_key": key_source},
        as_json,
        f"database {_where()} is at revision {revision}",
    )


@db.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def current_command(as_json: bool) -> None:
    """Show the database's revision and the newest one this code ships."""
    try:
        revision = current_revision()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot read {_where()}: {reason}", EXIT_BAD_INPUT, as_json=as_json)
    head = head_revision()
    emit(
        {"revision": revision, "head": head, "up_to_date": revision == head},
        as_json,
        f"database at {revision or 'nothing (empty)'}, code at {head}",
    )


@db.command("scrub")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def scrub_command(as_json: bool) -> None:
    """Rewrite the database so that no removed secret survives in its files.

    SQLite: VACUUM, then the write-ahead log cut to nothing (the portal may pause writes meanwhile).
    PostgreSQL: VACUUM FULL of the tables that hold secrets (each locked while it is rewritten); WAL
    segments, archives and backups are the operator's (docs/security.md). Run it once after upgrading
    an older installation; hrsync erases removed secrets by itself from then on.
    """
    try:
        done = erase_removed(make_engine(), rewrite=True, tables=secret_tables())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot scrub {_where()}: {reason}", EXIT_BAD_INPUT, as_json=as_json)
    emit({"database": _where(), "log_cut": done}, as_json,
         f"database {_where()} rewritten" + ("" if done else "; its write-ahead log is cut at the next commit"))
