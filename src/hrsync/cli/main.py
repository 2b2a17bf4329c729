"""The ``hrsync`` command.

Conventions every command keeps: ``--json`` prints exactly one JSON document on stdout; exit 0 on
success, 1 on a failed or held run, 2 on bad usage or bad input, always with a one-line reason on
stderr. Sub-commands live in sibling modules and register themselves on :data:`cli`.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any, NoReturn

import click

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2


# Which module defines each top-level command. A command's module (and with it SQLAlchemy, Celery,
# the portal, the sync engine) is imported only when that command runs, so ``hrsync --version`` and
# the start of every command pay only for what they use (issue 27). A module adding a command must
# be listed here; ``tests/cli/test_cli_start.py`` checks that the table and the modules agree.
_COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "admin": ("admins",),
    "closedown": ("outbox",),
    "db": ("db",),
    "demo": ("demo",),
    "import": ("imports",),
    "integration": ("integrations", "scim"),
    "keys": ("keys",),
    "members": ("members",),
    "outbox": ("outbox",),
    "programme": ("programmes",),
    "run": ("imports",),
    "runs": ("imports",),
    "scheduler": ("worker",),
    "serve": ("serve",),
    "simulator": ("simulator",),
    "trace": ("trace",),
    "worker": ("worker",),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported from their modules when first looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(_COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module in _COMMAND_MODULES.get(cmd_name, ()):
                importlib.import_module(f"hrsync.cli.{module}")
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hrsync")
def cli() -> None:
    """hrsync: import an HR directory into a rewards programme's members."""
    from pydantic import ValidationError

    from hrsync.config import describe_settings_error, get_settings
    from hrsync.logs import configure_logging
    from hrsync.security.files import restrict_umask

    # Before anything is written: the data directory, the database, the log and every file a
    # command creates are private to the service user (docs/security.md, "Files").
    restrict_umask()
    try:
        settings = get_settings()
    except ValidationError as exc:  # e.g. SMTP credentials without TLS: one line, no value repeated
        fail(f"configuration refused: {describe_settings_error(exc)}")
    # One-shot commands keep stderr for their one-line reason; long-running ones re-configure
    # logging to stderr themselves.
    configure_logging(to_file=settings.data_dir / "hrsync.log")


def emit(payload: Any, as_json: bool, human: str | None = None) -> None:
    """Print the command's result: one JSON document, or a line for people."""
    if as_json:
        click.echo(json.dumps(payload, default=str, ensure_ascii=False))
    elif human is not None:
        click.echo(human)


def fail(reason: str, code: int = EXIT_BAD_INPUT, payload: Any = None, as_json: bool = False) -> NoReturn:
    """Stop with a one-line reason on stderr (and the JSON document on stdout when asked)."""
    if as_json and payload is not None:
        click.echo(json.dumps(payload, default=str, ensure_ascii=False))
    click.echo(f"hrsync: {reason}".splitlines()[0], err=True)
    sys.exit(code)


def main() -> None:
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
