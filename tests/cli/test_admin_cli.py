"""``hrsync admin list|invite|set-role|deactivate|reactivate`` through the command's entry point.

Each test has its own SQLite file; the command runs in-process through click's runner (same
arguments, environment, stdout, stderr and exit code as the installed ``hrsync``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from hrsync.cli.main import cli
from hrsync.config import reset_settings_cache
from hrsync.store.db import dispose_engines, session_scope
from hrsync.store.models import ActivityLog, AdminUser, OutboxEmail

PASSWORD = "correct horse battery staple"


@pytest.fixture
def hrsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in [k for k in os.environ if k.startswith("HRSYNC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HRSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HRSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'hrsync.db'}")
    reset_settings_cache()
    dispose_engines()
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == expect, (args, result.exit_code, result.stdout, result.stderr)
        return result

    run("programme", "add", "Acme", "--admin-email", "olive@acme.example", "--password", PASSWORD)
    yield run
    dispose_engines()
    reset_settings_cache()


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def _actions() -> list[tuple[str, dict[str, Any]]]:
    with session_scope() as session:
        return [(row.action, dict(row.detail or {})) for row in
                session.scalars(select(ActivityLog).order_by(ActivityLog.id))]


def test_list_shows_the_first_administrator_as_owner(hrsync: Any) -> None:
    [row] = _json(hrsync("admin", "list", "--programme", "Acme", "--json"))
    assert row["email"] == "olive@acme.example" and row["role"] == "owner" and row["status"] == "active"
    assert "olive@acme.example" in hrsync("admin", "list", "--programme", "acme").stdout


def test_invite_with_a_role_queues_the_invitation_and_logs_the_command_line(hrsync: Any) -> None:
    row = _json(hrsync("admin", "invite", "--programme", "Acme", "ro@acme.example", "--name", "Ro Reader",
                       "--role", "read-only", "--json"))
    assert row["role"] == "read_only" and row["status"] == "invited"
    with session_scope() as session:
        assert session.scalar(select(OutboxEmail.to_address).where(OutboxEmail.kind == "admin_invite")) \
            == "ro@acme.example"
    [(action, detail)] = _actions()
    assert action == "invited_admin" and detail["email"] == "ro@acme.example"
    assert detail["by"].startswith("command line (") and detail["via"] == detail["by"]
    again = hrsync("admin", "invite", "--programme", "Acme", "RO@acme.example", expect=2)
    assert "already an administrator" in again.stderr
    bad = hrsync("admin", "invite", "--programme", "Acme", "nobody", "--role", "owner", expect=2)
    assert bad.stderr.startswith("hrsync: 'nobody' ") and len(bad.stderr.splitlines()) == 1


def test_the_last_owner_is_refused_with_a_clear_reason(hrsync: Any) -> None:
    demote = hrsync("admin", "set-role", "--programme", "Acme", "olive@acme.example", "administrator", expect=2)
    assert "last owner" in demote.stderr
    off = hrsync("admin", "deactivate", "--programme", "Acme", "olive@acme.example", "--json", expect=2)
    assert "last owner" in off.stderr and _json(off)["code"] == "last_owner"
    [row] = _json(hrsync("admin", "list", "--programme", "Acme", "--json"))
    assert row["role"] == "owner" and row["status"] == "active"
    assert _actions() == []


def test_set_role_deactivate_and_reactivate(hrsync: Any) -> None:
    hrsync("admin", "invite", "--programme", "Acme", "sam@acme.example", "--role", "owner")
    with session_scope() as session:  # Sam accepts the invitation (sets a password)
        sam = session.scalar(select(AdminUser).where(AdminUser.email_lower == "sam@acme.example"))
        assert sam is not None
        sam.password_hash = "set-by-accepting"
    changed = _json(hrsync("admin", "set-role", "--programme", "Acme", "olive@acme.example", "read_only", "--json"))
    assert changed["role"] == "read_only" and changed["changed"] is True
    assert "already read_only" in hrsync("admin", "set-role", "--programme", "Acme", "olive@acme.example",
                                         "read_only").stdout
    off = _json(hrsync("admin", "deactivate", "--programme", "Acme", "olive@acme.example", "--json"))
    assert off["status"] == "deactivated" and off["deactivated_at"] and off["changed"] is True
    assert "already deactivated" in hrsync("admin", "deactivate", "--programme", "Acme", "olive@acme.example").stdout
    # Sam is now the last owner who can sign in
    assert "last owner" in hrsync("admin", "deactivate", "--programme", "Acme", "sam@acme.example", expect=2).stderr
    on = _json(hrsync("admin", "reactivate", "--programme", "Acme", "olive@acme.example", "--json"))
    assert on["status"] == "active" and on["deactivated_at"] is None and on["role"] == "read_only"
    actions = [a for a, _ in _actions()]
    assert actions == ["invited_admin", "changed_admin_role", "deactivated_admin", "reactivated_admin"]
    missing = hrsync("admin", "deactivate", "--programme", "Acme", "nobody@acme.example", expect=2)
    assert "was not found" in missing.stderr
    bad_role = hrsync("admin", "set-role", "--programme", "Acme", "sam@acme.example", "emperor", expect=2)
    assert "emperor" in bad_role.stderr or "emperor" in bad_role.output
