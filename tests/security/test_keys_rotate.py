"""``hrsync keys add / rotate / status / retire`` as an operator runs them: the installed command, a fresh data dir."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hrsync.config import Settings
from hrsync.security.secrets import decrypt_secret, encrypt_secret
from hrsync.store import dispose_engines, session_scope
from hrsync.store.models import AdminUser, Integration, Programme

HRSYNC = Path(sys.executable).with_name("hrsync")
API_KEYS = [f"ihr_live_{n:02d}_9f8e7d6c5b4a39281706" for n in range(5)]


def _hrsync(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(data_dir.parent),
           "HRSYNC_DATA_DIR": str(data_dir), **extra}
    return subprocess.run([str(HRSYNC), *args], cwd=data_dir.parent, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _ok(data_dir: Path, *args: str, **extra: str) -> dict[str, object]:
    result = _hrsync(data_dir, *args, "--json", **extra)
    assert result.returncode == 0, result.stderr
    for secret in [*API_KEYS, *_file_keys(data_dir)]:
        assert secret not in result.stdout + result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def _file_keys(data_dir: Path) -> list[str]:
    path = data_dir / "secret.key"
    return path.read_text().split() if path.exists() else []


def _url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'hrsync.db').resolve()}"


def _store_integrations(data_dir: Path, settings: Settings, count: int, url: str | None = None) -> None:
    """Integrations authorized before the rotation (their keys encrypted with the keyring of then)."""
    with session_scope(url or _url(data_dir)) as session:
        programme = Programme(name="Acme")
        admin = AdminUser(programme=programme, email="admin@acme.example")
        session.add_all([programme, admin])
        for n in range(count):
            session.add(Integration(programme=programme, owner=admin, settings={"subdomain": f"acme{n}"},
                                    secret_encrypted=encrypt_secret(API_KEYS[n], settings)))
        session.add(Integration(programme=programme, owner=admin, settings={"subdomain": "draft"}))  # no key yet
    dispose_engines()


def _stored(data_dir: Path, url: str | None = None) -> list[str]:
    with session_scope(url or _url(data_dir)) as session:
        values = [i.secret_encrypted for i in session.query(Integration).order_by(Integration.id)]
    dispose_engines()
    return [v for v in values if v is not None]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "var"
    assert _hrsync(data, "db", "upgrade").returncode == 0
    return data


def test_add_rotate_retire_moves_every_secret_to_the_new_key(data_dir: Path) -> None:
    _store_integrations(data_dir, Settings(data_dir=data_dir, secret_key=None), 5)
    [old] = _file_keys(data_dir)

    status = _ok(data_dir, "keys", "status")
    assert status | {"source": None} == status | {"source": None, "keys": 1, "secrets": 5, "per_key": [5],
                                                   "old_keys_removable": False}

    assert _ok(data_dir, "keys", "add") == {"keys": 2}
    key_file = data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    new, kept = _file_keys(data_dir)
    assert kept == old and new != old
    status = _ok(data_dir, "keys", "status")
    assert (status["per_key"], status["old_keys_needed"], status["old_keys_removable"]) == ([0, 5], 5, False)

    refused = _hrsync(data_dir, "keys", "retire")
    assert refused.returncode == 2
    assert "5 stored secret(s) are only readable with an old key" in refused.stderr
    assert len(_file_keys(data_dir)) == 2

    rotated = _ok(data_dir, "keys", "rotate", "--batch-size", "2")  # three batches, three transactions
    assert (rotated["rotated"], rotated["already_current"], rotated["per_key"]) == (5, 0, [5, 0])
    assert rotated["old_keys_removable"] is True
    assert sorted(Fernet(new.encode()).decrypt(v.encode()).decode() for v in _stored(data_dir)) == API_KEYS

    again = _ok(data_dir, "keys", "rotate")
    assert (again["rotated"], again["already_current"]) == (0, 5)

    retired = _ok(data_dir, "keys", "retire")
    assert (retired["keys"], retired["per_key"]) == (1, [5])
    assert _file_keys(data_dir) == [new]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    settings = Settings(data_dir=data_dir, secret_key=None)
    assert sorted(decrypt_secret(v, settings) for v in _stored(data_dir)) == API_KEYS


def test_human_output_says_when_old_keys_can_go(data_dir: Path) -> None:
    _store_integrations(data_dir, Settings(data_dir=data_dir, secret_key=None), 2)
    assert _hrsync(data_dir, "keys", "add").returncode == 0
    before = _hrsync(data_dir, "keys", "status")
    assert "still needed by 2 secret(s)" in before.stdout
    after = _hrsync(data_dir, "keys", "rotate")
    assert "re-encrypted: 2" in after.stdout
    assert "the old keys can now be removed" in after.stdout


def test_keys_from_the_environment_rotate_and_add_is_refused(data_dir: Path) -> None:
    old, new, lost = (Fernet.generate_key().decode() for _ in range(3))
    _store_integrations(data_dir, Settings(data_dir=data_dir, secret_key=old), 3)
    with session_scope(_url(data_dir)) as session:  # one key encrypted with a key nobody has any more
        programme = session.query(Programme).one()
        session.add(Integration(programme=programme, settings={"subdomain": "lost"},
                                secret_encrypted=Fernet(lost.encode()).encrypt(b"gone").decode()))
    dispose_engines()
    env = {"HRSYNC_SECRET_KEY": f"{new},{old}"}

    refused = _hrsync(data_dir, "keys", "add", **env)
    assert refused.returncode == 2
    assert "HRSYNC_SECRET_KEY" in refused.stderr and new not in refused.stderr and old not in refused.stderr

    rotated = _ok(data_dir, "keys", "rotate", **env)
    assert (rotated["rotated"], rotated["unreadable"], rotated["per_key"]) == (3, 1, [3, 0])
    assert rotated["source"] == "HRSYNC_SECRET_KEY"
    assert rotated["old_keys_removable"] is True  # the unreadable one is not readable with the old key either
    readable = [v for v in _stored(data_dir) if v != _stored(data_dir)[-1]]
    assert sorted(Fernet(new.encode()).decrypt(v.encode()).decode() for v in readable) == API_KEYS[:3]

    # With only the new key, every secret the old key used to read is still readable.
    assert _ok(data_dir, "keys", "status", HRSYNC_SECRET_KEY=new)["per_key"] == [3]
