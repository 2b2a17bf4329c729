"""``hrsync db upgrade`` works as an operator runs it: another directory, only environment variables."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hrsync.store import current_revision, head_revision

HRSYNC = Path(sys.executable).with_name("hrsync")


def _hrsync(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), **env}
    return subprocess.run(
        [str(HRSYNC), *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_db_upgrade_from_another_directory_with_only_environment(db_url: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"HRSYNC_DATABASE_URL": db_url, "HRSYNC_DATA_DIR": str(tmp_path / "keys")}

    first = _hrsync(elsewhere, env, "db", "upgrade", "--json")
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["revision"] == head_revision()
    assert current_revision(db_url) == head_revision()

    key_file = tmp_path / "keys" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()

    again = _hrsync(elsewhere, env, "db", "upgrade", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["revision"] == head_revision()
    assert key_file.read_bytes() == key  # generated once, then reused
    assert list(elsewhere.iterdir()) == []  # nothing written into the working directory


def test_db_upgrade_with_an_unreachable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {
        "HRSYNC_DATABASE_URL": "postgresql://postgres:hunter2-secret@127.0.0.1:1/none",
        "HRSYNC_DATA_DIR": str(tmp_path / "keys"),
    }
    result = _hrsync(tmp_path, env, "db", "upgrade", "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("hrsync: cannot upgrade")
    assert "hunter2-secret" not in result.stderr


def test_db_upgrade_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    key_file = keys / "secret.key"
    key_file.write_text("not-used\n")
    key_file.chmod(0o644)
    env = {"HRSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "HRSYNC_DATA_DIR": str(keys)}
    result = _hrsync(tmp_path, env, "db", "upgrade")
    assert result.returncode == 2
    assert "chmod 600" in result.stderr
    assert not (tmp_path / "h.db").exists()


@pytest.mark.parametrize("as_json", [True, False])
def test_db_current_reports_an_empty_database(tmp_path: Path, as_json: bool) -> None:
    env = {"HRSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "HRSYNC_DATA_DIR": str(tmp_path)}
    result = _hrsync(tmp_path, env, "db", "current", *(["--json"] if as_json else []))
    assert result.returncode == 0, result.stderr
    if as_json:
        assert json.loads(result.stdout) == {"revision": None, "head": head_revision(), "up_to_date": False}
    else:
        assert "empty" in result.stdout
