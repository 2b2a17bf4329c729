"""The data directory is 0700 and the database, its WAL files, the key file, the log and caught e-mails 0600,
even when the process starts with a permissive umask."""

from __future__ import annotations

import os
import smtplib
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import text

from hrsync.notify.catcher import MailCatcher
from hrsync.store import dispose_engines, make_engine

HRSYNC = Path(sys.executable).with_name("hrsync")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_fresh_data_dir_made_by_the_cli_is_private_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "HRSYNC_DATA_DIR": str(data)}
    for args in (["db", "upgrade"], ["programme", "add", "Acme", "--admin-email", "a@acme.example"]):
        result = subprocess.run([str(HRSYNC), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=120, check=False, umask=0)
        assert result.returncode == 0, result.stderr

    assert _mode(data) == 0o700
    files = {p.name: _mode(p) for p in data.iterdir()}
    assert files.pop("hrsync.db") == 0o600
    assert files.pop("secret.key") == 0o600
    assert all(mode == 0o600 for mode in files.values()), files  # the log and whatever else was written
    assert not [p for p in data.rglob("*") if _mode(p) & 0o077]


@pytest.mark.usefixtures("permissive_umask")
def test_the_database_and_its_wal_files_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    """Without the CLI's umask (an embedding process, a test): the store sets the modes itself."""
    database = tmp_path / "data" / "nested" / "hrsync.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            wal, shm = database.with_name("hrsync.db-wal"), database.with_name("hrsync.db-shm")
            assert wal.exists() and shm.exists()
            assert (_mode(database), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
        assert _mode(database.parent) == 0o700
    finally:
        dispose_engines()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.usefixtures("permissive_umask")
def test_caught_emails_are_private_files_in_a_private_folder(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    with MailCatcher("127.0.0.1", _free_port(), folder=folder) as catcher:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.example", "b@x.example", "Your sign-in link"
        message.set_content("https://portal.example/welcome/secret-token")
        with smtplib.SMTP(catcher.host, catcher.port) as client:
            client.send_message(message)
        [caught] = catcher.wait_for(1)
    assert caught.path is not None
    assert _mode(folder) == 0o700
    assert _mode(caught.path) == 0o600
